// Package memwatch samples the process's resident set size while a run
// executes and attributes each sample to the stages running at that
// moment, so a run record can say how much memory the process held while
// each stage worked. Stages overlap (they stream concurrently), so a
// stage's figure is the process peak during its lifetime, not memory the
// stage alone owned; a stage shorter than the sampling interval gets the
// first sample after it ended. The process-wide peak comes from getrusage.
//
// Linux only (reads /proc/self/statm); elsewhere samples are zero.
package memwatch

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/medflow/medflow/pipeline"
)

// Watcher holds the peaks seen so far.
type Watcher struct {
	mu    sync.Mutex
	peaks map[string]int64
	ended map[string]bool // stages seen finished (done, failed, reused, skipped)
}

// Watch samples every interval until ctx ends; stats is Run.Stats. Call
// Peaks after ctx is done and the goroutine running Watch has returned.
func Watch(ctx context.Context, w *Watcher, stats func() []pipeline.StageStats, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		w.Sample(stats())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample reads the RSS once and raises the peak of every stage that is
// running, or that ran and finished since the previous sample (a stage
// shorter than the interval still gets the sample taken just after it).
func (w *Watcher) Sample(stats []pipeline.StageStats) {
	rss := RSS()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.peaks == nil {
		w.peaks, w.ended = map[string]int64{}, map[string]bool{}
	}
	for _, s := range stats {
		switch s.State {
		case pipeline.Running:
			w.peaks[s.Stage] = max(w.peaks[s.Stage], rss)
		case pipeline.Done, pipeline.Failed:
			if !w.ended[s.Stage] {
				w.ended[s.Stage] = true
				w.peaks[s.Stage] = max(w.peaks[s.Stage], rss)
			}
		case pipeline.Reused, pipeline.Skipped:
			w.ended[s.Stage] = true
		}
	}
}

// Peaks returns the process RSS peak seen while each stage ran, in bytes;
// stages never seen running are absent.
func (w *Watcher) Peaks() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]int64, len(w.peaks))
	for k, v := range w.peaks {
		out[k] = v
	}
	return out
}

var pageSize = int64(os.Getpagesize())

// RSS returns the process's current resident set size in bytes (0 when
// it cannot be read).
func RSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * pageSize
}

// PeakRSS returns the process's peak resident set size so far in bytes, as
// the kernel's high-water mark has it (updated lazily: it may trail a
// fresh RSS sample by a few pages).
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // KiB on Linux
}
