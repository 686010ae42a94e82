package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/schemas"
)

// TestRunRemovesLeftovers leaves the staging files a run killed mid-write
// would (parts being encoded in the staging folder and the system temp
// folder, half-renamed objects in an output folder and in the cache), two
// minutes old: the next run removes them all, keeps the staging file of a
// live concurrent writer, and stages its own parts inside the work store.
func TestRunRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	cfg := writeConfig(t, dir, integrityConfig)
	if code, _, errs := medflow(t, "run", "job", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatal(errs)
	}
	old := time.Now().Add(-2 * time.Minute)
	plant := func(p string) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half written"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caches, _ := filepath.Glob(filepath.Join(dir, "work", "cache", "*"))
	if len(caches) == 0 {
		t.Fatal("no cache entry")
	}
	leftovers := []string{
		plant(filepath.Join(dir, "work", StagingPrefix, formats.StagingPrefix+"123.arrow")),
		plant(filepath.Join(tmp, formats.StagingPrefix+"456.parquet")),
		plant(filepath.Join(dir, "out", objstore.TempPrefix+"0a1b")),
		plant(filepath.Join(caches[0], objstore.TempPrefix+"2c3d")),
		plant(filepath.Join(dir, "work", "artifacts", "fp", objstore.TempPrefix+"4e5f")),
	}
	// A concurrent run's writer, staging in the same folder.
	store, err := local.New(filepath.Join(dir, "elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := formats.NewWriter(t.Context(), store, "x.arrow", formats.IPC, schemas.Quarantine, memory.NewGoAllocator(),
		formats.WriterOptions{TempDir: filepath.Join(dir, "work", StagingPrefix)})
	if err != nil {
		t.Fatal(err)
	}
	live, _ := filepath.Glob(filepath.Join(dir, "work", StagingPrefix, formats.StagingPrefix+"*"))
	live = slices.DeleteFunc(live, func(p string) bool { return p == leftovers[0] })
	if len(live) != 1 {
		t.Fatalf("live staging files %q", live)
	}
	os.Chtimes(live[0], old, old)

	if code, _, errs := medflow(t, "run", "job", "--config", cfg, "--no-progress", "--set", "out.rows_per_part=3000"); code != 0 {
		t.Fatal(errs)
	}
	for _, p := range leftovers {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: still there after the next run (%v)", p, err)
		}
	}
	if _, err := os.Stat(live[0]); err != nil {
		t.Errorf("the live writer's staging file was removed: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("the live writer failed: %v", err)
	}
	// Nothing staged in the system temp folder.
	filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "medflow-") {
			t.Errorf("%s: staged in the system temp folder", p)
		}
		return nil
	})
}
