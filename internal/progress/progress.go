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
	"text/tabwriter"
	"time"

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

// Live redraws the stages on w every interval until ctx is done, then
// draws a last frame. w should be a terminal.
func Live(ctx context.Context, w io.Writer, stats Stats, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lines := 0
	draw := func() {
		if lines > 0 {
			fmt.Fprintf(w, "\x1b[%dA", lines) // cursor up
		}
		snap := stats()
		for _, s := range snap {
			fmt.Fprintf(w, "\x1b[2K%-16s %-9s %s %8s rows %9s/s %s\n", trunc(s.Stage, 16), s.State, Bar(s),
				Human(float64(rows(s))), Human(s.RowsPerSec()), Bytes(s.BytesOut))
		}
		lines = len(snap)
	}
	for {
		select {
		case <-ctx.Done():
			draw()
			return
		case <-t.C:
			draw()
		}
	}
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
