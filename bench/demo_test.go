package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// demoInputs are what `make demo` creates before `medflow run demo`.
var demoInputs = []string{
	"data/demo-mimic/mimic-cxr-2.0.0-split.csv.gz",
	"data/models/llama-tiny.onnx",
	".cache/tokenizer/llama2/tokenizer.model",
	".cache/onnxruntime/libonnxruntime.so.1",
}

// BenchmarkDemo: the end-to-end demo, `medflow run demo` with the
// repository's pipelines.yaml and data (as `make demo` runs it), from a
// fresh work dir (cold), then again in the same work dir (rerun). Reports
// medians over the iterations of cold-s, rerun-s and rerun/cold, the
// cold process's peak RSS (peak-RSS-MiB, the largest over iterations),
// and from the last cold run's record, per stage: stage-s:NAME (seconds),
// stage-MiB:NAME (the process's peak RSS while the stage ran),
// stage-rows:NAME (rows out: images vs embedded reports) and
// stage-order:NAME (its position in the record). It skips, saying why,
// when the demo's inputs are missing (run `make demo` once) or the demo
// variant does not plan (stage kinds still missing).
func BenchmarkDemo(b *testing.B) {
	for _, p := range demoInputs {
		if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
			b.Skipf("demo input %s missing (run make demo once): %v", p, err)
		}
	}
	bin := medflowBin(b)
	if out, err := exec.Command(bin, "plan", "demo", "--config", filepath.Join(repoRoot, "pipelines.yaml"), "--format", "text").CombinedOutput(); err != nil {
		line, _, _ := bytes.Cut(bytes.TrimSpace(out), []byte("\n"))
		b.Skipf("variant demo does not plan: %v: %s", err, line)
	}
	dir := b.TempDir()
	var cold, rerun, ratios []float64
	var peak float64
	for b.Loop() {
		work, err := os.MkdirTemp(dir, "work")
		if err != nil {
			b.Fatal(err)
		}
		args := []string{"run", "demo", "--work", work, "--no-progress", "--log-level", "warn"}
		c := runCLI(b, repoRoot, bin, args...)
		rec, err := lastRecord(work)
		if err != nil {
			b.Fatal(err)
		}
		r := runCLI(b, repoRoot, bin, args...)
		cold = append(cold, c.seconds)
		rerun = append(rerun, r.seconds)
		peak = max(peak, c.peakMiB)
		ratios = append(ratios, r.seconds/c.seconds)
		for i, s := range rec.Stages {
			b.ReportMetric(s.Seconds, "stage-s:"+s.Name)
			b.ReportMetric(float64(s.PeakRSSBytes)/(1<<20), "stage-MiB:"+s.Name)
			b.ReportMetric(float64(s.RowsOut), "stage-rows:"+s.Name)
			b.ReportMetric(float64(i), "stage-order:"+s.Name)
		}
	}
	b.ReportMetric(median(cold), "cold-s")
	b.ReportMetric(median(rerun), "rerun-s")
	b.ReportMetric(median(ratios), "rerun/cold")
	b.ReportMetric(peak, "peak-RSS-MiB")
}
