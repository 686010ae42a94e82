package progress

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/pipeline"
)

func TestBar(t *testing.T) {
	for _, tc := range []struct {
		busy, blocked, idle time.Duration
		want                string
	}{
		{0, 0, 0, strings.Repeat(" ", 20)},
		{10, 0, 0, strings.Repeat("█", 20)},
		{10, 5, 10, strings.Repeat("█", 5) + strings.Repeat("▒", 5) + strings.Repeat("░", 10)},
		{0, 0, 10, strings.Repeat("░", 20)},
	} {
		got := Bar(pipeline.StageStats{Busy: tc.busy, Blocked: tc.blocked, Idle: tc.idle})
		if got != tc.want {
			t.Errorf("Bar(%v,%v,%v) = %q, want %q", tc.busy, tc.blocked, tc.idle, got, tc.want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for in, want := range map[float64]string{5: "5", 1500: "1.5k", 2.5e6: "2.5M", 3e9: "3.0G"} {
		if got := Human(in); got != want {
			t.Errorf("Human(%v) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[int64]string{100: "100B", 2048: "2.0KiB", 3 << 20: "3.0MiB"} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%d) = %s, want %s", in, got, want)
		}
	}
}

func stats() []pipeline.StageStats {
	return []pipeline.StageStats{
		{Stage: "read", Kind: "csv.read", Role: pipeline.RoleSource, State: pipeline.Done, RowsOut: 1000, BatchesOut: 2,
			BytesOut: 4096, Busy: 2 * time.Second, Blocked: time.Second, Elapsed: 2 * time.Second},
		{Stage: "write", Kind: "dataset.write", Role: pipeline.RoleSink, State: pipeline.Running, RowsIn: 500,
			Busy: time.Second, Idle: time.Second, Elapsed: time.Second},
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, stats()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ROWS/S", "read", "csv.read", "1000", "4.0KiB", "500", "50%"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestTerminalDrawsFinalFrame(t *testing.T) {
	var b bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	NewTerminal(&b, nil).Run(ctx, stats, time.Hour)
	out := Screen(b.String())
	if !strings.Contains(out, "read") || !strings.Contains(out, "500 rows") || !strings.Contains(out, "running") {
		t.Fatalf("frame:\n%s", out)
	}
}

// TestTerminalKeepsEveryLogLine: log lines written between frames are all
// on the final screen, in order, above the last frame; no frame line is
// left behind and none is wider than the terminal.
func TestTerminalKeepsEveryLogLine(t *testing.T) {
	var b bytes.Buffer
	term := NewTerminal(&b, func() int { return 40 })
	var logs []string
	for i := range 30 {
		term.Show([]string{fmt.Sprintf("frame %d stage a %s", i, strings.Repeat("x", 60)), fmt.Sprintf("frame %d stage b", i)})
		if i%3 == 0 {
			l := fmt.Sprintf("log line %d", i)
			logs = append(logs, l)
			fmt.Fprintf(term, "%s\n", l)
		}
	}
	term.Done()
	fmt.Fprintln(term, "after")
	lines := strings.Split(strings.TrimRight(Screen(b.String()), "\n"), "\n")
	want := append(append(logs, "frame 29 stage a "+strings.Repeat("x", 22), "frame 29 stage b"), "after")
	if len(lines) != len(want) {
		t.Fatalf("screen has %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
}

func TestScreen(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb\n":                    "a\nb\n",
		"a\nb\n\x1b[2Ac\n":          "c\nb\n",
		"a\nb\nc\n\x1b[2A\x1b[Jd\n": "a\nd\n",
		"abc\n\x1b[1A\x1b[2Kx\n":    "x\n",
	} {
		if got := Screen(in); got != want {
			t.Errorf("Screen(%q) = %q, want %q", in, got, want)
		}
	}
}
