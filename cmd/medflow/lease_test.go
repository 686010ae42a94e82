package main

import (
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
)

// TestConcurrentRunsAndGC starts a run (a separate process) and, while it
// is writing its cached outputs, a second run of the same variant and a
// medflow gc: the second run fails at once naming the first as the holder
// of what it would write, gc leaves the entries being written alone, and
// the first run commits intact outputs that a later run reuses.
func TestConcurrentRunsAndGC(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, strings.Replace(crashConfig, "rows: 400000", "rows: 2000000", 1))
	first, out, done := startCLI(t, "run", "job", "--config", cfg, "--no-progress")
	leased := func() bool {
		found := false
		filepath.WalkDir(filepath.Join(dir, "work", "cache"), func(p string, d fs.DirEntry, err error) error {
			found = found || err == nil && d.Name() == dataset.LeaseName
			return nil
		})
		return found
	}
	for deadline := time.Now().Add(30 * time.Second); !leased(); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the first run ended (%v) before writing its cache:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run wrote no cache entry in 30 s")
		}
	}

	// No run record references the entries yet: gc would delete them.
	code, gcOut, errs := medflow(t, "gc", "--config", cfg)
	if code != 0 || !strings.Contains(gcOut, "skipped") {
		t.Errorf("gc during the run: exit %d, want leased entries skipped:\n%s%s", code, gcOut, errs)
	}
	start := time.Now()
	code, _, errs = medflow(t, "run", "job", "--config", cfg, "--no-progress")
	if code == 0 || !strings.Contains(errs, "being written by another writer") || !strings.Contains(errs, "pid "+strconv.Itoa(first.Process.Pid)) {
		t.Errorf("second run: exit %d, want a failure naming pid %d:\n%s", code, first.Process.Pid, errs)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the second run took %v to fail", took)
	}
	select {
	case <-done:
		t.Log("note: the first run finished before gc looked")
	default:
	}
	if err := <-done; err != nil {
		t.Fatalf("first run: %v\n%s", err, out.String())
	}
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"out", "stats"} {
		d, err := dataset.Open(t.Context(), store, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Verify(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	code, _, errs = medflow(t, "run", "job", "--config", cfg, "--no-progress", "--set", "out.rows_per_part=60000")
	if code != 0 || !strings.Contains(errs, "reused") {
		t.Fatalf("a later run: exit %d, want the cached outputs reused:\n%s", code, errs)
	}
}
