package formats_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
)

// TestStagingLeftoversRemoved: staging files that killed writers left
// (unlocked, old) are removed; a live writer's file is kept however old,
// and the writer still commits its object.
func TestStagingLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Minute)
	var dead []string
	for _, name := range []string{formats.StagingPrefix + "1.parquet", formats.StagingPrefix + "2.arrow"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("half a part"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		dead = append(dead, p)
	}
	other := filepath.Join(dir, "not-ours.parquet")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(other, old, old)

	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := formats.NewWriter(t.Context(), store, "out.arrow", formats.IPC, partSchema, memory.NewGoAllocator(), formats.WriterOptions{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range dead {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("%s: left in place (%v), want removed by the first writer staging there", p, err)
		}
	}
	live, _ := filepath.Glob(filepath.Join(dir, formats.StagingPrefix+"*"))
	if len(live) != 1 {
		t.Fatalf("staging files %q, want the live writer's only", live)
	}
	os.Chtimes(live[0], old, old)
	if removed, err := formats.RemoveStaleStaging(dir); err != nil || len(removed) != 0 {
		t.Fatalf("removed %q (%v): a live writer's staging file went", removed, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("a file not named as staging was removed: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, formats.StagingPrefix+"*")); len(left) != 0 {
		t.Fatalf("staging files after Close: %q", left)
	}
}
