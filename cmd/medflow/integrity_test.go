package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors/local"
)

const integrityConfig = `
settings: {work: DIR/work, log: {level: warn}}
variants:
  job:
    stages:
      - {name: gen, kind: gen.rows, params: {rows: 20000, batch_rows: 4000, groups: 5}}
      - {name: scale, kind: col.scale, inputs: [gen], materialize: true, params: {column: value, factor: 3, output: v3}}
      - {name: stats, kind: agg.group_stats, inputs: [scale], materialize: true, params: {key: group, value: v3}}
      - {name: out, kind: files.write, inputs: [scale], params: {uri: DIR/out}}
      - {name: stats-out, kind: files.write, inputs: [stats], params: {uri: DIR/stats, format: arrow}}
`

// TestDamagedCacheIsRecomputed flips one bit at a time in the cached
// outputs of a run (a resumable part of scale, a whole-output part of
// stats) at offsets spread over each file: the rerun warns naming the
// file, recomputes the stage instead of reusing it, and writes outputs
// equal to those of the clean run.
func TestDamagedCacheIsRecomputed(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, integrityConfig)
	// Each run changes both sinks' rows_per_part, so both rerun and read
	// the cached outputs.
	run := func(rowsPerPart int) string {
		t.Helper()
		n := strconv.Itoa(rowsPerPart)
		code, _, errs := medflow(t, "run", "job", "--config", cfg, "--no-progress", "--set", "out.rows_per_part="+n, "--set", "stats-out.rows_per_part="+n)
		if code != 0 {
			t.Fatalf("run: exit %d\n%s", code, errs)
		}
		return errs
	}
	run(5000)
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	clean := map[string]string{"out": datasetDigest(t, store, "out"), "stats": datasetDigest(t, store, "stats")}
	cached := func(base string) string {
		var found string
		filepath.WalkDir(filepath.Join(dir, "work", "cache"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), base) {
				found = p
			}
			return nil
		})
		if found == "" {
			t.Fatalf("no cached %s* file", base)
		}
		return found
	}
	i := 0
	for _, tc := range []struct{ file, stage string }{{"batch-000002", "scale"}, {"part-", "stats"}} {
		b, err := os.ReadFile(cached(tc.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int{0, len(b) / 7, len(b) / 3, len(b) / 2, len(b) - 100, len(b) - 1} {
			i++
			path := cached(tc.file)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[off] ^= 1 << (off % 8)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			errs := run(5000 + i)
			if !strings.Contains(errs, filepath.Base(path)) {
				t.Fatalf("%s offset %d: no warning naming %s:\n%s", tc.stage, off, path, errs)
			}
			for _, line := range strings.Split(errs, "\n") {
				if f := strings.Fields(line); len(f) > 2 && f[0] == tc.stage && f[2] != "done" {
					t.Fatalf("%s offset %d: %s was %s, not recomputed:\n%s", tc.stage, off, tc.stage, f[2], errs)
				}
			}
			for name, want := range clean {
				if got := datasetDigest(t, store, name); got != want {
					t.Fatalf("%s offset %d: %s differs from the clean run", tc.stage, off, name)
				}
			}
		}
	}

	// --verify-mib -1: nothing is read back before the run starts; the
	// damaged part fails the run when stats-out reads it, naming the stage
	// and the part, and the entry is dropped, so the next run recomputes
	// stats and writes what the clean run wrote.
	path := cached("part-")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := medflow(t, "run", "job", "--config", cfg, "--no-progress", "--verify-mib", "-1", "--set", "out.rows_per_part=4000", "--set", "stats-out.rows_per_part=4000")
	if code == 0 || !strings.Contains(errs, filepath.Base(path)) || !strings.Contains(errs, `"stats`) || !strings.Contains(errs, "differs from the committed checksum") {
		t.Fatalf("--verify-mib -1 over a damaged part: exit %d, want a failure naming stats and %s:\n%s", code, filepath.Base(path), errs)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "_manifest.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the damaged entry is still committed: %v", err)
	}
	run(4001)
	for name, want := range clean {
		if got := datasetDigest(t, store, name); got != want {
			t.Fatalf("after the failed run: %s differs from the clean run", name)
		}
	}
}

// TestDamagedOutputIsRewritten: an unchanged rerun reuses a committed
// output only when its parts are all there at their committed sizes; one
// missing or cut short makes the sink write the output again.
func TestDamagedOutputIsRewritten(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, integrityConfig)
	run := func() string {
		t.Helper()
		code, _, errs := medflow(t, "run", "job", "--config", cfg, "--no-progress", "--set", "out.rows_per_part=5000")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errs)
		}
		return errs
	}
	run()
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	clean := datasetDigest(t, store, "out")
	for _, damage := range []func(p string) error{
		os.Remove,
		func(p string) error { return os.Truncate(p, 100) },
	} {
		parts, _ := filepath.Glob(filepath.Join(dir, "out", "part-*"))
		if len(parts) < 2 {
			t.Fatalf("parts %q", parts)
		}
		if err := damage(parts[1]); err != nil {
			t.Fatal(err)
		}
		errs := run()
		if !strings.Contains(errs, "committed output is damaged") {
			t.Fatalf("no warning about the damaged output:\n%s", errs)
		}
		for _, line := range strings.Split(errs, "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == "out" && f[2] != "done" {
				t.Fatalf("out was %s, not written again:\n%s", f[2], errs)
			}
		}
		if got := datasetDigest(t, store, "out"); got != clean {
			t.Fatal("the rewritten output differs from the clean one")
		}
	}
}
