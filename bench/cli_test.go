package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medflow/medflow/internal/runrecord"
)

// repoRoot is the module root: benchmarks run in bench/.
const repoRoot = ".."

// cliRun is one medflow process: its wall time and peak RSS.
type cliRun struct {
	seconds float64
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
	return cliRun{seconds: sec, peakMiB: float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// lastRecord reads the newest run record under work/runs (ids sort by
// start time).
func lastRecord(work string) (runrecord.Record, error) {
	dir := filepath.Join(work, "runs")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return runrecord.Record{}, fmt.Errorf("run records: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	if len(ids) == 0 {
		return runrecord.Record{}, fmt.Errorf("run records: none under %s", dir)
	}
	slices.Sort(ids)
	file := filepath.Join(dir, ids[len(ids)-1], "record.json")
	data, err := os.ReadFile(file)
	if err != nil {
		return runrecord.Record{}, fmt.Errorf("run record: %w", err)
	}
	var rec runrecord.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return runrecord.Record{}, fmt.Errorf("run record %s: %w", file, err)
	}
	return rec, nil
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
