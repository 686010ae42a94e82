// Package profiling writes Go profiles of one medflow process for a user
// who wants to know where its time and memory go (`medflow run --pprof
// DIR`): a CPU profile of the whole run (cpu.pprof), a heap profile
// taken whenever the process's resident set reaches a new high (each one
// at least 5% above the last written: heap-peak.pprof, with the Go
// runtime's memory statistics at that moment in heap-peak.json) and one
// at the end (heap-end.pprof, heap-end.json). Read them with `go tool pprof`.
//
// A heap profile shows the Go heap as of the last garbage collection
// (live objects by allocation site); memory outside the Go heap (C
// libraries such as ONNX Runtime, thread stacks) shows only in the RSS
// and in heap-peak.json's sys figures. Linux only for the RSS trigger
// (/proc/self/statm); elsewhere only cpu.pprof and heap-end.pprof are
// written.
package profiling

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/medflow/medflow/internal/memwatch"
)

// Profiler is a running profile; Stop ends it.
type Profiler struct {
	dir      string
	cpu      *os.File
	done     chan struct{}
	wg       sync.WaitGroup
	err      error // the failed heap snapshot that stopped watch (read after wg.Wait)
	lastPeak int64
}

// Start begins profiling into dir (created when missing), sampling the
// RSS every interval.
func Start(dir string, every time.Duration) (*Profiler, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("profile dir: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return nil, fmt.Errorf("profile dir: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	p := &Profiler{dir: dir, cpu: f, done: make(chan struct{})}
	p.wg.Add(1)
	go p.watch(every)
	return p, nil
}

func (p *Profiler) watch(every time.Duration) {
	defer p.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		if rss := memwatch.RSS(); rss > p.lastPeak+p.lastPeak/20 {
			p.lastPeak = rss
			if err := p.snapshot("heap-peak", rss); err != nil {
				p.err = err
				return
			}
		}
	}
}

// Stats is what heap-peak.json holds: the RSS and the Go runtime's view
// of its memory at the snapshot, in bytes.
type Stats struct {
	Time         time.Time `json:"time"`
	RSS          int64     `json:"rss"`
	HeapAlloc    uint64    `json:"heap_alloc"`    // live + not yet swept
	HeapInuse    uint64    `json:"heap_inuse"`    // spans holding objects
	HeapIdle     uint64    `json:"heap_idle"`     // spans free, still mapped
	HeapReleased uint64    `json:"heap_released"` // idle returned to the OS
	StackInuse   uint64    `json:"stack_inuse"`
	Sys          uint64    `json:"sys"` // everything the Go runtime mapped
	NumGC        uint32    `json:"num_gc"`
	Goroutines   int       `json:"goroutines"`
}

// snapshot writes NAME.pprof and NAME.json, each replacing the previous
// through a rename.
func (p *Profiler) snapshot(name string, rss int64) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := Stats{Time: time.Now().UTC(), RSS: rss, HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, HeapIdle: ms.HeapIdle,
		HeapReleased: ms.HeapReleased, StackInuse: ms.StackInuse, Sys: ms.Sys, NumGC: ms.NumGC, Goroutines: runtime.NumGoroutine()}
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return errors.Join(
		p.replace(name+".pprof", func(f *os.File) error { return pprof.Lookup("heap").WriteTo(f, 0) }),
		p.replace(name+".json", func(f *os.File) error { _, err := f.Write(append(js, '\n')); return err }))
}

func (p *Profiler) replace(name string, write func(*os.File) error) error {
	f, err := os.CreateTemp(p.dir, name+".*.tmp")
	if err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	err = errors.Join(write(f), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(p.dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("profile %s: %w", name, err)
	}
	return nil
}

// Stop ends the CPU profile, writes heap-end.pprof and returns the first
// error met while profiling.
func (p *Profiler) Stop() error {
	close(p.done)
	p.wg.Wait()
	pprof.StopCPUProfile()
	err := errors.Join(p.err, p.cpu.Close(), p.snapshot("heap-end", memwatch.RSS()))
	return err
}
