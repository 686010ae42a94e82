package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/medflow/medflow/internal/runrecord"
)

// embedResumeYAML embeds the reports of phantom studies (one row per
// study; tokens and text.embed materialized) into a discard sink. %[1]s
// is the data root, %[2]s the tokenizer model, %[3]s the Llama model,
// %[4]d its width.
const embedResumeYAML = `variants:
  embed:
    description: text.embed resumed by parts (bench/embed_resume_test.go)
    stages:
      - {name: studies, kind: mimic.index, params: {root: "%[1]s", uncertain: ignore, rows: studies, problems: false, batch_rows: 32}}
      - {name: sections, kind: report.sections, inputs: [studies], params: {root: "%[1]s"}}
      - {name: tokens, kind: text.tokenize, inputs: [sections], materialize: true, params: {model: "%[2]s", column: report_text, max_tokens: 256}}
      - {name: embed, kind: text.embed, inputs: [tokens], materialize: true, params: {model: "%[3]s", dim: %[4]d, threads: 1, key_column: study_id}}
      - {name: out, kind: discard, inputs: [embed]}
`

// BenchmarkEmbedResume: what a rerun of text.embed costs after `kill -9`
// at half its work, against a cold run of the stage. On 1,800 phantom
// studies with a random-weight Llama (width 512, 2 layers, 1 ORT thread,
// weights in external data as a converted checkpoint's are),
// once the tokens are materialized, each iteration runs the CLI with
// --force embed (cold: text.embed computes everything, its input read from
// the cache), then, its cache entry deleted, again, SIGKILLed once the
// parts text.embed has committed hold half the tokens the cold run
// embedded (the work is the tokens; rows differ in length and length
// buckets fill unevenly, so half the parts or half the rows is not half
// the work), then reruns it (it resumes), then once more with the output
// uncommitted and every part kept (base: every row replayed, nothing
// embedded, no model loaded). Cost is the process's CPU time (user +
// system: it holds on a loaded machine where wall time does not) less the
// base's, which is what the process spends outside text.embed (start,
// plan, reading the tokens) and replaying; so the stage's model load
// counts in both. Reports the medians over the iterations of both costs
// (cold-s, rerun-s), of the per-iteration ratio rerun/cold (issue 13: <=
// 0.55), of the ratio of the processes' whole CPU times
// (process-rerun/cold) and of text.embed's work time from the run records
// (work-rerun/cold, wall time: noisy under load), and the fractions of
// rows and of tokens the rerun replayed. Needs
// .cache/tokenizer/llama2/tokenizer.model (make tokenizer-model) and ONNX
// Runtime (make ort).
func BenchmarkEmbedResume(b *testing.B) {
	root, tok := rootAndTokenizer(b)
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
	// External data, as the flagship's converted Llama-2-7B always is: ORT
	// maps the weights instead of parsing them out of the protobuf (0.2 s
	// of CPU per load instead of 0.9 s at this width), a fixed cost of
	// every run that is not the stage's work.
	runCLI(b, dir, bin, "models", "llama-onnx", "--tiny", "--dim", fmt.Sprint(dim), "--layers", "2", "--external-data", "--out", model)
	runCLI(b, dir, bin, "synth", "--config", cfg, "--out", data, "--studies", "1800", "--size", "32x32", "--seed", "3", "--log-level", "warn")
	work := filepath.Join(dir, "work")
	run := []string{"run", "embed", "--config", cfg, "--work", work, "--no-progress", "--log-level", "warn"}
	force := append(run[:len(run):len(run)], "--force", "embed")
	runCLI(b, dir, bin, run...) // materializes the tokens
	embed := func() runrecord.Stage {
		rec, err := lastRecord(work)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range rec.Stages {
			if s.Name == "embed" && s.State == "done" {
				return s
			}
		}
		b.Fatalf("run %s: text.embed did not finish: %+v", rec.ID, rec.Stages)
		return runrecord.Stage{}
	}
	fp := embed().Fingerprint
	var cold, rerun, ratios, procRatios, workRatios, replayed, replayedTok []float64
	for b.Loop() {
		c := runCLI(b, dir, bin, force...)
		ce := embed()
		counted := map[string]int64{} // tokens per committed part (parts are immutable)
		parts, tokens := embedParts(b, work, fp, counted)
		// A fresh start for the run to kill: no committed output or part.
		for _, p := range []string{"cache", "artifacts"} {
			if err := os.RemoveAll(filepath.Join(work, p, fp)); err != nil {
				b.Fatal(err)
			}
		}
		clear(counted)
		killAt(b, dir, bin, func() bool { _, n := embedParts(b, work, fp, counted); return 2*n >= tokens }, run...)
		_, killed := embedParts(b, work, fp, counted)
		r := runCLI(b, dir, bin, run...)
		re := embed()
		if re.ResumedRows == 0 || re.Decision != "compute" {
			b.Fatalf("the rerun replayed no part (cold run: %d parts)", parts)
		}
		// The base: the same process with every part replayed (the output
		// uncommitted, its parts kept), so text.embed embeds nothing.
		if err := os.Remove(filepath.Join(work, "cache", fp, "_manifest.json")); err != nil {
			b.Fatal(err)
		}
		base := runCLI(b, dir, bin, run...)
		if be := embed(); be.ResumedRows != ce.RowsOut {
			b.Fatalf("the base run replayed %d of %d rows", be.ResumedRows, ce.RowsOut)
		}
		cold = append(cold, c.cpu-base.cpu)
		rerun = append(rerun, r.cpu-base.cpu)
		ratios = append(ratios, (r.cpu-base.cpu)/(c.cpu-base.cpu))
		procRatios = append(procRatios, r.cpu/c.cpu)
		workRatios = append(workRatios, re.WorkSeconds/ce.WorkSeconds)
		replayed = append(replayed, float64(re.ResumedRows)/float64(ce.RowsOut))
		replayedTok = append(replayedTok, float64(killed)/float64(tokens))
		b.Logf("CPU: cold %.2f s, rerun %.2f s, base %.2f s: (rerun-base)/(cold-base) %.3f, rerun/cold %.3f; %d of %d rows, %d of %d tokens replayed",
			c.cpu, r.cpu, base.cpu, ratios[len(ratios)-1], procRatios[len(procRatios)-1], re.ResumedRows, ce.RowsOut, killed, tokens)
	}
	b.ReportMetric(median(cold), "cold-s")
	b.ReportMetric(median(rerun), "rerun-s")
	b.ReportMetric(median(ratios), "rerun/cold")
	b.ReportMetric(median(procRatios), "process-rerun/cold")
	b.ReportMetric(median(workRatios), "work-rerun/cold")
	b.ReportMetric(median(replayed), "replayed-fraction")
	b.ReportMetric(median(replayedTok), "replayed-token-fraction")
}

// embedParts counts the parts committed under work's cache entry fp and
// the tokens their rows hold (the num_tokens column), reading each part
// once: counted keeps the parts already read.
func embedParts(b *testing.B, work, fp string, counted map[string]int64) (int, int64) {
	m, err := filepath.Glob(filepath.Join(work, "cache", fp, "batch-*-*.arrow"))
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, p := range m {
		if _, ok := counted[p]; !ok {
			tok, err := partTokens(p)
			if err != nil {
				continue // a part may be replaced while listed: read it next time
			}
			counted[p] = tok
		}
		n += counted[p]
	}
	return len(m), n
}

// partTokens sums the num_tokens column of one committed part (an Arrow
// IPC file).
func partTokens(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for i := range r.NumRecords() {
		rec, err := r.RecordBatchAt(i)
		if err != nil {
			return 0, err
		}
		idx := rec.Schema().FieldIndices("num_tokens")
		if len(idx) != 1 {
			rec.Release()
			return 0, fmt.Errorf("%s: no num_tokens column", path)
		}
		for _, v := range rec.Column(idx[0]).(*array.Int32).Int32Values() {
			n += int64(v)
		}
		rec.Release()
	}
	return n, nil
}

// killAt runs bin with args in dir and SIGKILLs it once reached() holds.
func killAt(b *testing.B, dir, bin string, reached func() bool, args ...string) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for !reached() {
		select {
		case err := <-done:
			b.Fatalf("the run ended (%v) before text.embed committed half its work", err)
		case <-time.After(time.Millisecond):
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}
