package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/internal/testenv"
	"github.com/medflow/medflow/llama"
)

// embedResumeConfig embeds the reports of phantom studies (one row per
// study) with the tiny Llama in small input batches, so that text.embed
// commits many parts; WORK is the run's work folder, DATA the shared
// inputs.
const embedResumeConfig = `
settings: {work: WORK/work, log: {level: info}}
variants:
  embed:
    stages:
      - {name: studies, kind: mimic.index, params: {root: DATA/mimic, uncertain: ignore, rows: studies, problems: false, batch_rows: 12}}
      - {name: sections, kind: report.sections, inputs: [studies], params: {root: DATA/mimic}}
      - {name: tokens, kind: text.tokenize, inputs: [sections], params: {model: DATA/tokenizer.model, column: report_text, max_tokens: 128}}
      - {name: embed, kind: text.embed, inputs: [tokens], materialize: true, workers: NWORKERS, params: {model: DATA/llama.onnx, dim: DIM, threads: 1, batch_tokens: 512, hold_rows: 24, key_column: study_id}}
      - {name: out, kind: files.write, inputs: [embed], params: {uri: WORK/out, format: arrow}}
`

// embedResumeSetup writes the tokenizer, the tiny Llama and a phantom
// dataset of studies under a new folder, and returns it.
func embedResumeSetup(t testing.TB, studies int) (data string, dim int) {
	t.Helper()
	data = t.TempDir()
	cfg := filepath.Join(data, "pipelines.yaml")
	body := strings.NewReplacer("NWORKERS", "1", "WORK", filepath.Join(data, "work"), "DATA", data, "DIM", "8").Replace(embedResumeConfig)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"models", "llama2-tokenizer", "--npm", testenv.Llama2NPM(t), "--out", filepath.Join(data, "tokenizer.model")},
		{"models", "llama-onnx", "--tiny", "--out", filepath.Join(data, "llama.onnx")},
		{"synth", "--config", cfg, "--out", filepath.Join(data, "mimic"), "--studies", strconv.Itoa(studies), "--size", "32x32", "--corrupt-fraction", "0.05", "--seed", "7"},
	} {
		var out, errb strings.Builder
		if code := execute(args, strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("%v: %s", args, errb.String())
		}
	}
	m, err := llama.ConfigFromModel(filepath.Join(data, "llama.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return data, m.Dim
}

// embedResumeRun runs the embed variant in work (SIGKILLed once text.embed
// has committed killAt parts, when killAt > 0) and returns its log, and
// whether it was killed. text.embed runs on workers workers.
func embedResumeRun(t testing.TB, data, work string, dim, workers, killAt int) (log string, killed bool) {
	t.Helper()
	body := strings.NewReplacer("NWORKERS", strconv.Itoa(workers), "WORK", work, "DATA", data, "DIM", strconv.Itoa(dim)).Replace(embedResumeConfig)
	cfg := filepath.Join(work, "pipelines.yaml")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, out, done := startCLI(t, "run", "embed", "--config", cfg, "--no-progress")
	if killAt <= 0 {
		if err := <-done; err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		return out.String(), false
	}
	for {
		select {
		case err := <-done:
			t.Fatalf("run finished (%v) before %d parts were committed:\n%s", err, killAt, out.String())
		case <-time.After(time.Millisecond):
		}
		if committedParts(t, work) >= killAt {
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return out.String(), true
		}
	}
}

// committedParts counts the parts text.embed committed under work (it is
// the only materialized stage).
func committedParts(t testing.TB, work string) int {
	m, err := filepath.Glob(filepath.Join(work, "work", CachePrefix, "*", "batch-*-*.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

var embeddedRe = regexp.MustCompile(`msg=embedded .* embedded=(\d+)`)

// embeddedRows is what text.embed's log line says it sent to the model.
func embeddedRows(t testing.TB, log string) int64 {
	t.Helper()
	m := embeddedRe.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no embedded line in the log:\n%s", log)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// embedStage is text.embed's entry in work's only finished run record.
func embedStage(t testing.TB, work string) runrecord.Stage {
	t.Helper()
	store, err := local.New(filepath.Join(work, "work"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := runrecord.List(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		for _, s := range r.Stages {
			if s.Name == "embed" && s.State == "done" {
				return s
			}
		}
	}
	t.Fatalf("no finished run of text.embed under %s", work)
	return runrecord.Stage{}
}

// TestTextEmbedKillResume SIGKILLs `medflow run` once text.embed has
// committed 1/6, 2/6, ... 5/6 of its parts (a fresh work folder each
// time; then once more at 1/2 with 2 workers, whose batches share ORT
// calls otherwise), reruns it, and checks that the rerun's output equals an
// uninterrupted run's row for row and that it embedded only the rows no
// committed part held.
func TestTextEmbedKillResume(t *testing.T) {
	t.Setenv("MEDFLOW_ORT_LIB", testenv.ORTLibrary(t))
	data, dim := embedResumeSetup(t, 240)
	clean := filepath.Join(t.TempDir(), "clean")
	log, _ := embedResumeRun(t, data, clean, dim, 1, 0)
	total := embeddedRows(t, log)
	parts := committedParts(t, clean)
	if parts < 12 || total == 0 {
		t.Fatalf("a clean run committed %d parts for %d rows: too few to kill in between", parts, total)
	}
	cleanStore, err := local.New(clean)
	if err != nil {
		t.Fatal(err)
	}
	want := datasetDigest(t, cleanStore, "out")
	for i := 1; i <= 6; i++ {
		work := filepath.Join(t.TempDir(), "w")
		killAt, workers := i*parts/6, 1
		if i == 6 {
			killAt, workers = parts/2, 2
		}
		if _, killed := embedResumeRun(t, data, work, dim, workers, killAt); !killed {
			t.Fatalf("kill at %d parts: not killed", killAt)
		}
		before := committedParts(t, work)
		log, _ := embedResumeRun(t, data, work, dim, workers, 0)
		st := embedStage(t, work)
		store, err := local.New(work)
		if err != nil {
			t.Fatal(err)
		}
		if got := datasetDigest(t, store, "out"); got != want {
			t.Errorf("kill at %d parts: the rerun's output differs from an uninterrupted run's", killAt)
		}
		got := embeddedRows(t, log)
		if st.ResumedRows == 0 || got != total-st.ResumedRows || st.Resumed < int64(killAt) {
			t.Errorf("kill at %d parts (%d committed): the rerun replayed %d parts, %d rows, and embedded %d of %d rows; want the %d others",
				killAt, before, st.Resumed, st.ResumedRows, got, total, total-st.ResumedRows)
		}
		t.Logf("workers %d, kill at %d/%d parts: rerun replayed %d parts (%d rows), embedded %d of %d rows", workers, killAt, parts, st.Resumed, st.ResumedRows, got, total)
	}
}
