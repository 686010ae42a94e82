package bench

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/internal/runrecord"
)

// repoRoot is the module root: benchmarks run in bench/.
const repoRoot = ".."

// cliRun is one medflow process: its wall time, CPU time (user + system)
// and peak RSS.
type cliRun struct {
	seconds float64
	cpu     float64
	peakMiB float64
}

// runCLI runs bin with args in dir and fails the benchmark, with the end
// of the process's output, if it exits non-zero.
func runCLI(b *testing.B, dir, bin string, args ...string) cliRun {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	sec := time.Since(t0).Seconds()
	if err != nil {
		b.Fatalf("medflow %s: %v\n%s", strings.Join(args, " "), err, tail(out, 4000))
	}
	return cliRun{seconds: sec, cpu: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(),
		peakMiB: float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// lastRecord returns the newest run record in the work folder (ids sort
// by start time).
func lastRecord(work string) (runrecord.Record, error) {
	store, err := local.New(work)
	if err != nil {
		return runrecord.Record{}, err
	}
	recs, err := runrecord.List(context.Background(), store)
	if err != nil {
		return runrecord.Record{}, fmt.Errorf("run records: %w", err)
	}
	if len(recs) == 0 {
		return runrecord.Record{}, fmt.Errorf("run records: none under %s", work)
	}
	return slices.MaxFunc(recs, func(a, b runrecord.Record) int { return strings.Compare(a.ID, b.ID) }), nil
}

// reused counts the stages a run took from the cache.
func reused(rec runrecord.Record) int {
	n := 0
	for _, s := range rec.Stages {
		if s.Decision == "reuse" {
			n++
		}
	}
	return n
}
