package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/medflow/medflow/internal/runrecord"
)

// embedResumeYAML embeds the reports of phantom studies (one row per
// study, text.embed materialized) into a discard sink. %[1]s is the data
// root, %[2]s the tokenizer model, %[3]s the Llama model, %[4]d its width.
const embedResumeYAML = `variants:
  embed:
    description: text.embed resumed by parts (bench/embed_resume_test.go)
    stages:
      - {name: studies, kind: mimic.index, params: {root: "%[1]s", uncertain: ignore, rows: studies, problems: false, batch_rows: 32}}
      - {name: sections, kind: report.sections, inputs: [studies], params: {root: "%[1]s"}}
      - {name: tokens, kind: text.tokenize, inputs: [sections], params: {model: "%[2]s", column: report_text, max_tokens: 256}}
      - {name: embed, kind: text.embed, inputs: [tokens], materialize: true, params: {model: "%[3]s", dim: %[4]d, key_column: study_id}}
      - {name: out, kind: discard, inputs: [embed]}
`

// BenchmarkEmbedResume: what a rerun of text.embed costs after `kill -9`
// at half its parts, against a cold run of the stage. Each iteration runs
// the CLI on 600 phantom studies with a random-weight Llama (width 512, 2
// layers) in a fresh work dir (cold), then in another one SIGKILLs it once
// text.embed has committed half as many parts as the cold run did, and
// reruns it. Reports the medians over the iterations of text.embed's work
// time (run record work_seconds: the stage's callbacks, replaying parts
// included, without waiting for input or downstream) in both runs, of the
// per-iteration ratio rerun/cold (issue 13: <= 0.55), and the fraction of
// rows the rerun replayed. Needs .cache/tokenizer/llama2/tokenizer.model
// (make tokenizer-model) and ONNX Runtime (make ort).
func BenchmarkEmbedResume(b *testing.B) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		b.Fatal(err)
	}
	tok := filepath.Join(root, ".cache/tokenizer/llama2/tokenizer.model")
	if _, err := os.Stat(tok); err != nil {
		b.Fatalf("tokenizer model: %v (make tokenizer-model)", err)
	}
	if lib := filepath.Join(root, ".cache/onnxruntime/libonnxruntime.so.1"); os.Getenv("MEDFLOW_ORT_LIB") == "" {
		b.Setenv("MEDFLOW_ORT_LIB", lib)
	}
	bin := medflowBin(b)
	dir := b.TempDir()
	data, model, cfg := filepath.Join(dir, "mimic"), filepath.Join(dir, "llama.onnx"), filepath.Join(dir, "pipelines.yaml")
	const dim = 512
	if err := os.WriteFile(cfg, fmt.Appendf(nil, embedResumeYAML, data, tok, model, dim), 0o644); err != nil {
		b.Fatal(err)
	}
	runCLI(b, dir, bin, "models", "llama-onnx", "--tiny", "--dim", fmt.Sprint(dim), "--layers", "2", "--out", model)
	runCLI(b, dir, bin, "synth", "--config", cfg, "--out", data, "--studies", "600", "--size", "32x32", "--seed", "3", "--log-level", "warn")
	embedWork := func(work string) runrecord.Stage {
		rec, err := lastRecord(work)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range rec.Stages {
			if s.Name == "embed" && s.State == "done" {
				return s
			}
		}
		b.Fatalf("run %s: text.embed did not finish", rec.ID)
		return runrecord.Stage{}
	}
	var cold, rerun, ratios, replayed []float64
	for b.Loop() {
		args := func(work string) []string {
			return []string{"run", "embed", "--config", cfg, "--work", work, "--no-progress", "--log-level", "warn"}
		}
		work := filepath.Join(b.TempDir(), "cold")
		runCLI(b, dir, bin, args(work)...)
		c := embedWork(work)
		parts := embedParts(b, work)
		work = filepath.Join(b.TempDir(), "killed")
		killAtParts(b, dir, bin, parts/2, work, args(work)...)
		runCLI(b, dir, bin, args(work)...)
		r := embedWork(work)
		if r.ResumedRows == 0 {
			b.Fatalf("the rerun replayed no part (cold run: %d parts)", parts)
		}
		cold = append(cold, c.WorkSeconds)
		rerun = append(rerun, r.WorkSeconds)
		ratios = append(ratios, r.WorkSeconds/c.WorkSeconds)
		replayed = append(replayed, float64(r.ResumedRows)/float64(c.RowsOut))
	}
	b.ReportMetric(median(cold), "cold-s")
	b.ReportMetric(median(rerun), "rerun-s")
	b.ReportMetric(median(ratios), "rerun/cold")
	b.ReportMetric(median(replayed), "replayed-fraction")
}

// embedParts counts the parts text.embed committed in work (the only
// materialized stage of embedResumeYAML).
func embedParts(b *testing.B, work string) int {
	m, err := filepath.Glob(filepath.Join(work, "cache", "*", "batch-*-*.arrow"))
	if err != nil {
		b.Fatal(err)
	}
	return len(m)
}

// killAtParts runs bin with args in dir and SIGKILLs it once text.embed
// has committed n parts in work.
func killAtParts(b *testing.B, dir, bin string, n int, work string, args ...string) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for embedParts(b, work) < n {
		select {
		case err := <-done:
			b.Fatalf("the run ended (%v) before text.embed committed %d parts", err, n)
		case <-time.After(time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}
