package progress

import (
	"bytes"
	"context"
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

func TestLiveDrawsFinalFrame(t *testing.T) {
	var b bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Live(ctx, &b, stats, time.Hour)
	out := b.String()
	if !strings.Contains(out, "read") || !strings.Contains(out, "500 rows") || !strings.Contains(out, "running") {
		t.Fatalf("frame:\n%s", out)
	}
}
