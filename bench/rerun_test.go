package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// rerunYAML is a small materialized ingest: index a phantom MIMIC-CXR
// tree, decode its images and tokenize its reports (both materialized),
// into discard sinks. %[1]s is the data root, %[2]s the tokenizer model.
const rerunYAML = `variants:
  rerun:
    description: materialized ingest (bench/rerun_test.go)
    stages:
      - {name: index, kind: mimic.index, params: {root: "%[1]s"}}
      - {name: images, kind: image.decode, inputs: [index], workers: 2, materialize: true,
         params: {root: "%[1]s", path_column: image_key, key_column: dicom_id, size: 224, rows_column: rows, columns_column: columns}}
      - {name: images-out, kind: discard, inputs: [images]}
      - {name: sections, kind: report.sections, inputs: [index], params: {root: "%[1]s"}}
      - {name: tokens, kind: text.tokenize, inputs: [sections], materialize: true,
         params: {model: "%[2]s", column: report_text, max_tokens: 512}}
      - {name: tokens-out, kind: discard, inputs: [tokens]}
`

// BenchmarkRerun: an unchanged rerun vs a cold run. Each iteration runs
// the CLI on a small materialized variant (250 phantom studies at
// 1024×1280: index, image.decode, report.sections, text.tokenize) in a
// fresh work dir (cold), then again in the same work dir (rerun: the
// materialized outputs are reused, upstream stages skipped). Reports the
// medians over the iterations of both wall times (process start
// included) and of the per-iteration ratio rerun/cold, and how many
// stages the rerun reused (it fails if none). Run it with -benchtime Nx
// (not -count: every count writes the phantom data again, ~40 s). Needs .cache/tokenizer/llama2/tokenizer.model (make tokenizer-model).
func BenchmarkRerun(b *testing.B) {
	_, tok := rootAndTokenizer(b)
	bin := medflowBin(b)
	dir := b.TempDir()
	data := filepath.Join(dir, "mimic")
	cfg := filepath.Join(dir, "pipelines.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, rerunYAML, data, tok), 0o644); err != nil {
		b.Fatal(err)
	}
	runCLI(b, dir, bin, "synth", "--config", cfg, "--out", data, "--studies", "250", "--size", "1024x1280", "--seed", "3", "--log-level", "warn")
	var cold, rerun, ratios []float64
	nReused := 0
	for b.Loop() {
		work, err := os.MkdirTemp(dir, "work")
		if err != nil {
			b.Fatal(err)
		}
		args := []string{"run", "rerun", "--config", cfg, "--work", work, "--no-progress", "--log-level", "warn"}
		c := runCLI(b, dir, bin, args...)
		r := runCLI(b, dir, bin, args...)
		rec, err := lastRecord(work)
		if err != nil {
			b.Fatal(err)
		}
		if nReused = reused(rec); nReused == 0 {
			b.Fatalf("rerun %s reused no stage", rec.ID)
		}
		cold = append(cold, c.seconds)
		rerun = append(rerun, r.seconds)
		ratios = append(ratios, r.seconds/c.seconds)
	}
	b.ReportMetric(median(cold), "cold-s")
	b.ReportMetric(median(rerun), "rerun-s")
	b.ReportMetric(median(ratios), "rerun/cold")
	b.ReportMetric(float64(nReused), "reused-stages")
}

// rootAndTokenizer returns the repository root (absolute) and the Llama-2
// tokenizer model under it, failing b when the model is missing.
func rootAndTokenizer(b *testing.B) (root, tok string) {
	b.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		b.Fatal(err)
	}
	tok = filepath.Join(root, ".cache/tokenizer/llama2/tokenizer.model")
	if _, err := os.Stat(tok); err != nil {
		b.Fatalf("tokenizer model: %v (make tokenizer-model)", err)
	}
	return root, tok
}
