// Package progress shows a run's per-stage counters: live, redrawn in place
// on a terminal (or as periodic log lines elsewhere), and as a summary
// table at the end. Each stage's bar splits its time into work (█),
// blocked on downstream (▒, backpressure) and idle waiting for input (░),
// so the bottleneck is the stage whose bar is all work.
package progress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/medflow/medflow/pipeline"
)

// Stats returns a fresh snapshot; pipeline.(*Run).Stats fits.
type Stats func() []pipeline.StageStats

const barWidth = 20

// Bar renders a stage's time split as a fixed-width bar.
func Bar(s pipeline.StageStats) string {
	total := s.Busy + s.Idle
	if total <= 0 {
		return strings.Repeat(" ", barWidth)
	}
	work := int(float64(barWidth) * float64(s.Work()) / float64(total))
	blocked := int(float64(barWidth) * float64(s.Blocked) / float64(total))
	work = max(0, min(work, barWidth))
	blocked = max(0, min(blocked, barWidth-work))
	return strings.Repeat("█", work) + strings.Repeat("▒", blocked) + strings.Repeat("░", barWidth-work-blocked)
}

// Human formats n with a k/M/G suffix.
func Human(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}

// Bytes formats a byte count with a binary suffix.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func pct(part, whole time.Duration) string {
	if whole <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
}

func rows(s pipeline.StageStats) int64 {
	if s.Role == pipeline.RoleSink {
		return s.RowsIn
	}
	return s.RowsOut
}

// Terminal is a live display on a terminal: a frame of one line per stage
// redrawn in place, with log lines written through it printed above the
// frame, so that no log line is ever overwritten. Frame lines are cut to
// the terminal's width, since a wrapped line would break the redraw. Use
// it as the log handler's writer and call Run while the pipeline runs.
type Terminal struct {
	mu    sync.Mutex
	w     io.Writer
	width func() int // columns; <= 0: unknown (no cut)
	frame []string   // the lines drawn last
}

// NewTerminal writes to w, a terminal whose width width reports (nil:
// 80 columns).
func NewTerminal(w io.Writer, width func() int) *Terminal {
	if width == nil {
		width = func() int { return 80 }
	}
	return &Terminal{w: w, width: width}
}

// erase moves the cursor to the first line of the frame and clears the
// frame (mu held).
func (t *Terminal) erase() {
	if len(t.frame) > 0 {
		fmt.Fprintf(t.w, "\x1b[%dA\x1b[J", len(t.frame))
	}
}

func (t *Terminal) draw() {
	for _, l := range t.frame {
		io.WriteString(t.w, l+"\n")
	}
}

// Write prints p (log lines) above the frame: the frame is cleared, p
// written, and the frame drawn again below it.
func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.erase()
	n, err := t.w.Write(p)
	if len(p) > 0 && p[len(p)-1] != '\n' {
		io.WriteString(t.w, "\n")
	}
	t.draw()
	return n, err
}

// Show replaces the frame by lines, each cut to the terminal's width.
func (t *Terminal) Show(lines []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.erase()
	w := t.width()
	t.frame = t.frame[:0]
	for _, l := range lines {
		if w > 0 {
			l = cut(l, w-1)
		}
		t.frame = append(t.frame, l)
	}
	t.draw()
}

// Done leaves the last frame on screen; later writes go below it.
func (t *Terminal) Done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.frame = nil
}

// Run shows stats every interval until ctx is done, then a last frame,
// which stays.
func (t *Terminal) Run(ctx context.Context, stats Stats, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		t.Show(Frame(stats()))
		select {
		case <-ctx.Done():
			t.Show(Frame(stats()))
			t.Done()
			return
		case <-tick.C:
		}
	}
}

// Frame renders one line per stage: name, state, time-split bar, rows,
// rows/s, and the bytes a stage emitted (for sinks: received).
func Frame(snap []pipeline.StageStats) []string {
	out := make([]string, len(snap))
	for i, s := range snap {
		bytes := s.BytesOut
		if s.Role == pipeline.RoleSink {
			bytes = s.BytesIn
		}
		out[i] = fmt.Sprintf("%-16s %-9s %s %8s rows %9s/s %9s", trunc(s.Stage, 16), s.State, Bar(s),
			Human(float64(rows(s))), Human(s.RowsPerSec()), Bytes(bytes))
	}
	return out
}

// cut shortens s to at most n display columns (runes; the frame holds no
// wide characters).
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n, 0)])
}

// Log writes one slog line per running stage every interval until ctx is
// done: progress for non-terminal outputs (CI, Kubernetes logs).
func Log(ctx context.Context, log *slog.Logger, stats Stats, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, s := range stats() {
				if s.State != pipeline.Running {
					continue
				}
				log.Info("progress", "stage", s.Stage, "rows", rows(s), "rows_per_s", int64(s.RowsPerSec()),
					"busy", pct(s.Work(), s.Busy+s.Idle), "blocked", pct(s.Blocked, s.Busy+s.Idle))
			}
		}
	}
}

// Table writes the end-of-run summary.
func Table(w io.Writer, stats []pipeline.StageStats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STAGE\tKIND\tSTATE\tROWS IN\tROWS OUT\tBATCHES\tBYTES OUT\tELAPSED\tROWS/S\tWORK\tBLOCKED\tIDLE\t")
	for _, s := range stats {
		total := s.Busy + s.Idle
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Stage, s.Kind, s.State,
			s.RowsIn, s.RowsOut, s.BatchesOut, Bytes(s.BytesOut), s.Elapsed.Round(time.Millisecond),
			Human(s.RowsPerSec()), pct(s.Work(), total), pct(s.Blocked, total), pct(s.Idle, total))
	}
	return tw.Flush()
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
