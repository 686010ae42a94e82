package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/report/reporttest"
)

// medflowReport runs `medflow report ARGS` with config cfg.
func medflowReport(t *testing.T, cfg string, args ...string) (int, string, string) {
	t.Helper()
	return medflow(t, append([]string{"--config", cfg, "report"}, args...)...)
}

// storedRun runs the reporttest evaluation pipeline with its artifacts in
// the work store under dir, records two quarantined records of stage pred_a
// in the run record, and writes it.
func storedRun(t *testing.T, dir string) runrecord.Record {
	t.Helper()
	ctx := context.Background()
	work := filepath.Join(dir, "work")
	store, err := local.New(work)
	if err != nil {
		t.Fatal(err)
	}
	rec := reporttest.Run(t, func(fp string) pipeline.Artifacts { return dataset.NewArtifacts(store, ArtifactsPrefix, fp) })
	rec.Quarantined = 2
	for i := range rec.Stages {
		if rec.Stages[i].Name == "pred_a" {
			rec.Stages[i].Quarantined = 2
		}
	}
	if err := runrecord.Write(ctx, store, rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

const reportConfig = `
settings:
  work: DIR/work
  log: {level: warn}
variants:
  compare:
    stages:
      - {name: rows, kind: gen.rows, params: {rows: 10}}
`

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, reportConfig)
	rec := storedRun(t, dir)

	for _, tc := range []struct {
		name string
		args []string
		dir  string
	}{
		{"into the work store", nil, filepath.Join(dir, "work", ReportsPrefix, rec.ID)},
		{"--out", []string{"--out", filepath.Join(dir, "out")}, filepath.Join(dir, "out")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := medflowReport(t, cfg, append([]string{rec.ID[:20]}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, want := range []string{"table1 (eval.compare): compare", "summary_b (eval.summary): summary", "contrastive",
				"Atelectasis", "wrote ", "report.html"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			md, err := os.ReadFile(filepath.Join(tc.dir, "report.md"))
			if err != nil {
				t.Fatal(err)
			}
			// pred_a's two quarantined records appear in its stage row
			if !strings.Contains(string(md), "| pred_a | test.predictions_a | compute | done | 0 | 439 |") ||
				!strings.Contains(string(md), "pred_a: 2") {
				t.Errorf("report.md lacks pred_a's row with its quarantine count:\n%s", md)
			}
			for _, f := range []string{"report.html", "plots/labels_a-roc.png", "plots/train-curve.svg", "plots/table1-auc_bars.png"} {
				if st, err := os.Stat(filepath.Join(tc.dir, f)); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", f, err)
				}
			}
		})
	}

	if code, _, stderr := medflowReport(t, cfg, "19990101"); code == 0 || !strings.Contains(stderr, "no run") {
		t.Errorf("unknown run: exit %d, stderr %q", code, stderr)
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	rec := storedRun(t, dir)
	store, err := local.New(filepath.Join(dir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	paths, err := writeReport(context.Background(), store, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 5 || !strings.HasSuffix(paths[0], "/reports/"+rec.ID+"/report.md") || !strings.HasSuffix(paths[1], "/report.html") {
		t.Fatalf("paths %v", paths)
	}
	page, err := os.ReadFile(filepath.Join(dir, "work", ReportsPrefix, rec.ID, "report.html"))
	if err != nil || !bytes.Contains(page, []byte("data:image/svg+xml;base64,")) {
		t.Errorf("report.html: %v, embeds an SVG plot: %v", err, bytes.Contains(page, []byte("data:image/svg+xml;base64,")))
	}
}
