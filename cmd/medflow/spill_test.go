package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors/local"
)

// TestBarrierSpillDir: `medflow run` of crashConfig's job, where stats (a
// barrier) reads keep, with 1 MiB of each barrier input in memory. With
// keep materialized, stats reads keep's committed output from the cache:
// the run succeeds with a --spill-dir that cannot be created, and the
// JSON summary reports no bytes spilled. With keep not materialized,
// stats spills most of keep into --spill-dir (spilled_bytes), which is
// empty again after the run. Both give the same stats.
func TestBarrierSpillDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, materialized := range []bool{true, false} {
		dir := t.TempDir()
		config := crashConfig
		spillDir := filepath.Join(file, "spill") // cannot be created
		if !materialized {
			config = strings.Replace(config, "inputs: [scale], materialize: true,", "inputs: [scale],", 1)
			spillDir = t.TempDir()
		}
		cfg := writeConfig(t, dir, config)
		code, _, errs := medflow(t, "run", "job", "--config", cfg, "--no-progress", "--log-format", "json", "--log-level", "info",
			"--spill-dir", spillDir, "--spill-mib", "1")
		if code != 0 {
			t.Fatalf("materialized %v: exit %d\n%s", materialized, code, errs)
		}
		spilled := -1.0
		for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
			var r map[string]any
			if err := json.Unmarshal([]byte(l), &r); err == nil && r["msg"] == "stage summary" && r["stage"] == "stats" {
				spilled, _ = r["spilled_bytes"].(float64)
			}
		}
		switch {
		case materialized && spilled != 0:
			t.Fatalf("stats over a materialized keep spilled %v bytes", spilled)
		case !materialized && spilled < 1<<20:
			t.Fatalf("stats over a streamed keep spilled %v bytes, want the input beyond 1 MiB", spilled)
		}
		if !materialized {
			if left, _ := os.ReadDir(spillDir); len(left) != 0 {
				t.Fatalf("%d files left in --spill-dir", len(left))
			}
		}
		store, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, datasetDigest(t, store, "stats"))
		t.Logf("materialized %v: stats spilled %.0f bytes", materialized, spilled)
	}
	if digests[0] != digests[1] {
		t.Fatal("stats differ between a materialized and a streamed keep")
	}
}
