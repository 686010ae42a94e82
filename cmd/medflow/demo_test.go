package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/internal/testenv"
	"github.com/medflow/medflow/schemas"
)

// demoShrink sizes the repository's `demo` variant down for a test: 32px
// images, one epoch per training stage, small batches and bootstrap.
var demoShrink = []string{
	"images.size=32",
	"mae.epochs=1", "mae.batch_size=8",
	"contrastive.epochs=1", "contrastive.batch_size=8",
	"clf-mae.epochs=1", "clf-mae.batch_size=8",
	"clf-llm.epochs=1", "clf-llm.batch_size=8",
	"summary-mae.bootstrap=20", "summary-llm.bootstrap=20",
}

// demoDir makes a temporary folder laid out as `make demo` lays it out,
// without the phantom data: the repository's pipelines.yaml, the Llama-2
// tokenizer and the tiny random Llama (seed 1); it changes into it.
func demoDir(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	t.Setenv("MEDFLOW_ORT_LIB", testenv.ORTLibrary(t))
	npm := testenv.Llama2NPM(t)
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, err := os.ReadFile(filepath.Join(root, "pipelines.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"pipelines.yaml": string(cfg)})
	for _, args := range [][]string{
		{"models", "llama2-tokenizer", "--npm", npm, "--out", ".cache/tokenizer/llama2/tokenizer.model"},
		{"models", "llama-onnx", "--tiny", "--seed", "1", "--out", "data/models/llama-tiny.onnx"},
	} {
		if code, _, errs := medflow(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	return dir
}

// TestDemoVariant runs the README's main job, the `demo` variant of the
// repository's pipelines.yaml, end to end at a very small size, in a
// folder laid out as `make demo` lays it out: every stage runs, both arms
// are evaluated, Table 1 and the report are written; both classifiers
// fine-tune (they read the pairs, and no probe features are computed); a
// rerun reuses every materialized stage; changing the contrastive loss
// recomputes only the contrastive arm.
func TestDemoVariant(t *testing.T) {
	dir := demoDir(t)
	if code, _, errs := medflow(t, "synth", "--out", "data/demo-mimic", "--studies", "40", "--size", "96x128",
		"--splits", "0.5,0.1,0.4", "--corrupt-fraction", "0.05", "--seed", "3"); code != 0 {
		t.Fatalf("synth: %s", errs)
	}
	run := func(extra ...string) string {
		t.Helper()
		args := []string{"run", "demo", "--no-progress"}
		for _, s := range append(slices.Clone(demoShrink), extra...) {
			args = append(args, "--set", s)
		}
		code, _, errs := medflow(t, args...)
		if code != 0 {
			t.Fatalf("run demo: exit %d\n%s", code, errs)
		}
		return errs
	}
	errs := run()
	if !strings.Contains(errs, "run report") || !strings.Contains(errs, "report.html") {
		t.Errorf("the run does not name its report:\n%s", errs)
	}

	store, rec := onlyRecord(t, filepath.Join(dir, "data", "work"))
	ctx := context.Background()
	stages := map[string]runrecord.Stage{}
	for _, s := range rec.Stages {
		stages[s.Name] = s
		if s.State != "done" {
			t.Errorf("stage %s is %s", s.Name, s.State)
		}
	}
	// Both classifiers fine-tune: they read the pairs (all of them, not a
	// probe's features of the training splits), and no features are computed.
	for arm, encoder := range map[string]string{"mae": "mae", "llm": "contrastive"} {
		if _, ok := stages["feats-"+arm]; ok {
			t.Errorf("feats-%s ran: the demo's classifiers fine-tune", arm)
		}
		if c, p, e := stages["clf-"+arm], stages["pairs"], stages[encoder]; c.RowsIn != e.RowsOut+p.RowsOut {
			t.Errorf("clf-%s read %d rows, want the %d of %s and the %d pairs", arm, c.RowsIn, e.RowsOut, encoder, p.RowsOut)
		}
	}
	for _, name := range []string{"mae", "contrastive", "clf-mae", "clf-llm"} {
		names, err := dataset.NewArtifacts(store, ArtifactsPrefix, stages[name].Fingerprint).List(ctx)
		if err != nil || !slices.Contains(names, schemas.CurveArtifact) {
			t.Errorf("stage %s artifacts %q (%v): no training curve", name, names, err)
		}
	}
	// One embedding per study with a report (issue 13): the text side runs
	// per study, the pairs per image, and no report is embedded twice.
	if emb, st, sec := stages["embed"], stages["studies"], stages["sections"]; emb.RowsOut != st.RowsOut-int64(sec.Quarantined) ||
		emb.RowsOut >= stages["index"].RowsOut {
		t.Errorf("embedded %d rows for %d studies (%d without a usable report) and %d images", emb.RowsOut, st.RowsOut, sec.Quarantined, stages["index"].RowsOut)
	}
	if p, im := stages["pairs"], stages["images"]; p.RowsOut != im.RowsOut-int64(p.Quarantined) || p.RowsOut == 0 {
		t.Errorf("pairs: %d rows for %d decoded images (%d without an embedded report)", p.RowsOut, im.RowsOut, p.Quarantined)
	}
	if s := stages["pred-llm"]; s.RowsOut == 0 || s.RowsOut != stages["pred-mae"].RowsOut {
		t.Errorf("predictions: %d (llm) vs %d (mae) rows", s.RowsOut, stages["pred-mae"].RowsOut)
	}
	if s := stages["table1"]; s.RowsOut < 2 {
		t.Errorf("Table 1 has %d rows, want both models and the baselines", s.RowsOut)
	}
	names, err := dataset.NewArtifacts(store, ArtifactsPrefix, stages["table1"].Fingerprint).List(ctx)
	if err != nil || !slices.Contains(names, "compare.parquet") {
		t.Errorf("table1 artifacts %q (%v)", names, err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "data", "work", ReportsPrefix, rec.ID, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mae-baseline", "llm-contrastive", "table1", "| contrastive | train.contrastive |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// An unchanged rerun recomputes no materialized stage (it reuses
	// those it reads and skips those only they needed).
	run()
	// Another contrastive loss: the shared stages and the MAE arm are
	// reused, the contrastive arm is recomputed.
	run("contrastive.loss=infonce")
	recs, err := runrecord.List(ctx, store)
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d run records, %v", len(recs), err)
	}
	slices.SortFunc(recs, func(a, b runrecord.Record) int { return a.Start.Compare(b.Start) })
	decisions := func(r runrecord.Record) map[string]string {
		m := map[string]string{}
		for _, s := range r.Stages {
			m[s.Name] = s.Decision
		}
		return m
	}
	rerun, infonce := decisions(recs[1]), decisions(recs[2])
	for _, name := range []string{"embed", "pairs", "mae", "contrastive", "clf-mae", "clf-llm"} {
		if rerun[name] != "reuse" && rerun[name] != "skip" {
			t.Errorf("unchanged rerun: %s is %q, want reuse or skip", name, rerun[name])
		}
	}
	for name, want := range map[string]string{"pairs": "reuse", "mae": "reuse", "clf-mae": "reuse",
		"contrastive": "compute", "clf-llm": "compute"} {
		if infonce[name] != want {
			t.Errorf("after changing the contrastive loss: %s is %q, want %q", name, infonce[name], want)
		}
	}
}
