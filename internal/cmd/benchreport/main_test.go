package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func mustRead(t *testing.T, text string) *Results {
	t.Helper()
	r := NewResults()
	if err := r.Read(strings.NewReader(text), "canned"); err != nil {
		t.Fatal(err)
	}
	return r
}

const sample = `goos: linux
pkg: github.com/medflow/medflow/bench
BenchmarkChain/procs=2/medflow-2   3  2000 ns/op  10 rows/s
BenchmarkChain/procs=2/medflow-2   3  3000 ns/op  12 rows/s
BenchmarkChain/procs=2/medflow-2   3  2200 ns/op  11 rows/s
BenchmarkChain/procs=2/reference-2 3  1000 ns/op
BenchmarkChain/procs=2/reference-2 3  1100 ns/op
BenchmarkPeakRSS/alloc=go/rows=10M-2  1  5 ns/op  80 peak-RSS-MiB
BenchmarkPeakRSS/alloc=go/rows=100M-2 1  9 ns/op  88 peak-RSS-MiB
BenchmarkPeakRSS/alloc=pool/rows=10M-2  1  5 ns/op  50 peak-RSS-MiB
BenchmarkPeakRSS/alloc=pool/rows=100M-2 1  9 ns/op  52 peak-RSS-MiB
PASS
`

func TestReport(t *testing.T) {
	var b strings.Builder
	report(&b, mustRead(t, sample))
	out := b.String()
	for _, want := range []string{
		"| BenchmarkChain/procs=2/medflow | 3 | 2200 | 11 rows/s |",
		"| BenchmarkChain/procs=2/reference | 2 | 1050 |",
		"ratio BenchmarkChain/procs=2: reference/medflow time = 0.477 (medflow is +109.5% slower)",
		"ratio peak RSS BenchmarkPeakRSS/alloc=go/rows=100M / BenchmarkPeakRSS/alloc=go/rows=10M = 1.100",
		"ratio peak RSS BenchmarkPeakRSS/alloc=pool/rows=100M / BenchmarkPeakRSS/alloc=pool/rows=10M = 1.040",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]map[string][]float64
		problems []Problem
	}{
		{name: "procs suffix removed when every line of the block has it",
			in: "pkg: a\nBenchmarkStage/workers-1-2 1 10 ns/op\nBenchmarkStage/workers-2-2 1 20 ns/op\n",
			want: map[string]map[string][]float64{
				"BenchmarkStage/workers-1": {"ns/op": {10}}, "BenchmarkStage/workers-2": {"ns/op": {20}}}},
		{name: "-cpu 1: names ending in digits are kept",
			in: "pkg: a\nBenchmarkStage/workers-1 1 10 ns/op\nBenchmarkStage/workers-2 1 20 ns/op\n",
			want: map[string]map[string][]float64{
				"BenchmarkStage/workers-1": {"ns/op": {10}}, "BenchmarkStage/workers-2": {"ns/op": {20}}}},
		{name: "blocks decide separately",
			in: "pkg: a\nBenchmarkDecode/djpeg-exec 5 7 ns/op\npkg: b\nBenchmarkX/y-4 2 3 ns/op 4 img/s\n",
			want: map[string]map[string][]float64{
				"BenchmarkDecode/djpeg-exec": {"ns/op": {7}}, "BenchmarkX/y": {"ns/op": {3}, "img/s": {4}}}},
		{name: "bench-train: torch rounds (own pkg: header) interleaved with go test's",
			in: "pkg: bench/torchref/train_step.py\nBenchmarkTorchTrainStep/tiny/batch64\t10\t5 ns/op\t300 img/s\n" +
				"pkg: t\nBenchmarkTrainStep/custom/batch64-2 2 9 ns/op 70 img/s\nok t 3s\n" +
				"pkg: bench/torchref/train_step.py\nBenchmarkTorchTrainStep/tiny/batch64\t10\t5 ns/op\t310 img/s\n" +
				"pkg: t\nBenchmarkTrainStep/custom/batch64-2 2 9 ns/op 72 img/s\n",
			want: map[string]map[string][]float64{
				"BenchmarkTorchTrainStep/tiny/batch64": {"ns/op": {5, 5}, "img/s": {300, 310}},
				"BenchmarkTrainStep/custom/batch64":    {"ns/op": {9, 9}, "img/s": {70, 72}}}},
		{name: "runs pooled across files and counts",
			in:   "pkg: a\nBenchmarkA-2 1 1 ns/op\nBenchmarkA-2 1 3 ns/op\npkg: a\nBenchmarkA-2 1 2 ns/op\n",
			want: map[string]map[string][]float64{"BenchmarkA": {"ns/op": {1, 3, 2}}}},
		{name: "tokbench medians",
			in: "documents: 4000 (reports), 1.20 MB, 2 CPUs, linux/amd64\n" +
				"medflow             300000 tokens/run  median  4.000 M tokens/s wall,  5.000 M tokens/s cpu  (wall runs: 4.00)\n" +
				"medflow nocache     300000 tokens/run  median  2.000 M tokens/s wall,  2.500 M tokens/s cpu  (wall runs: 2.00)\n" +
				"libsentencepiece    300000 tokens/run  median  1.000 M tokens/s wall,  1.250 M tokens/s cpu  (wall runs: 1.00)\n",
			want: map[string]map[string][]float64{
				"Tokbench/kind=reports/medflow":          {"tokens/s": {4e6}, "cpu-tokens/s": {5e6}},
				"Tokbench/kind=reports/medflow-nocache":  {"tokens/s": {2e6}, "cpu-tokens/s": {2.5e6}},
				"Tokbench/kind=reports/libsentencepiece": {"tokens/s": {1e6}, "cpu-tokens/s": {1.25e6}}}},
		{name: "skip, fail and failed steps with reasons",
			in: "--- SKIP: BenchmarkDemo-2\n    demo_test.go:30: no data/demo-mimic: run make demo\n" +
				"--- FAIL: BenchmarkTrainStep/custom/batch64-2\n    bench_test.go:9: boom\nFAIL\n" +
				"BENCHSTEP FAIL train exit 1\n",
			want: map[string]map[string][]float64{},
			problems: []Problem{{"BenchmarkDemo", "SKIP", "demo_test.go:30: no data/demo-mimic: run make demo"},
				{"BenchmarkTrainStep/custom/batch64", "FAIL", "bench_test.go:9: boom"}, {"step train", "FAIL", "exit 1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRead(t, tc.in)
			if len(r.Metrics) != len(tc.want) {
				t.Errorf("got benchmarks %v, want %v", r.Names, tc.want)
			}
			for name, units := range tc.want {
				for unit, vs := range units {
					got := r.Metrics[name][unit]
					if len(got) != len(vs) {
						t.Errorf("%s %s = %v, want %v", name, unit, got, vs)
						continue
					}
					for i := range vs {
						if got[i] != vs[i] {
							t.Errorf("%s %s = %v, want %v", name, unit, got, vs)
						}
					}
				}
			}
			if len(r.Problems) != len(tc.problems) {
				t.Fatalf("problems %v, want %v", r.Problems, tc.problems)
			}
			for i := range tc.problems {
				if r.Problems[i] != tc.problems[i] {
					t.Errorf("problem %d = %+v, want %+v", i, r.Problems[i], tc.problems[i])
				}
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	r := NewResults()
	err := r.Read(strings.NewReader("medflow  10 tokens/run  median 1.0 M tokens/s wall, 1.0 M tokens/s cpu\n"), "tok.txt")
	if err == nil || !strings.Contains(err.Error(), "tok.txt") {
		t.Fatalf("tokbench line without header: err = %v, want one naming the file", err)
	}
}

// cannedRows exercises every ratio form and goal kind.
var cannedRows = []Row{
	{ID: "time-lower", Medflow: sel(`BenchmarkT/medflow`, "ns/op"), Ref: sel(`BenchmarkT/ref`, "ns/op"),
		Better: Lower, Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Lower, Bound: 1.10}},
	{ID: "speedup", Medflow: sel(`BenchmarkT/medflow`, "ns/op"), Ref: sel(`BenchmarkT/ref`, "ns/op"),
		Order: RefOverMedflow, Better: Higher, Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Higher, Bound: 1.0}},
	{ID: "paired", Medflow: sel(`BenchmarkP`, "a-MB/s"), Ref: sel(`BenchmarkP`, "b-MB/s"),
		RatioMetric: sel(`BenchmarkP`, "a/b"), Better: Higher, Unit: "MB/s", Scale: 1, Goal: &Goal{Better: Higher, Bound: 0.95}},
	{ID: "on-medflow", Medflow: sel(`BenchmarkPad/bucketed`, "padding_%"), Ref: sel(`BenchmarkPad/arrival`, "padding_%"),
		Better: Lower, Unit: "%", Scale: 1, Goal: &Goal{OnMedflow: true, Better: Lower, Bound: 10}},
	{ID: "no-goal", Medflow: sel(`BenchmarkT/medflow`, "ns/op"), Unit: "ms", Scale: nsToMS},
	{ID: "missing", Medflow: sel(`BenchmarkGone`, "ns/op"), Ref: sel(`BenchmarkT/ref`, "ns/op"),
		Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Lower, Bound: 1}},
	{ID: "missing-ref", Medflow: sel(`BenchmarkT/medflow`, "ns/op"), Ref: sel(`BenchmarkGone`, "ns/op"),
		Unit: "ms", Scale: nsToMS, Goal: &Goal{Better: Lower, Bound: 1}},
	{ID: "first-match", Medflow: sel(`BenchmarkM/procs=\d+`, "ns/op"), Unit: "ns", Scale: 1},
}

const cannedOutput = `pkg: x
BenchmarkT/medflow-2 1 3000000 ns/op
BenchmarkT/medflow-2 1 1000000 ns/op
BenchmarkT/medflow-2 1 1200000 ns/op
BenchmarkT/ref-2 1 1000000 ns/op
BenchmarkT/ref-2 1 1000000 ns/op
BenchmarkP-2 1 5 ns/op 90 a-MB/s 100 b-MB/s 0.96 a/b
BenchmarkP-2 1 5 ns/op 80 a-MB/s 100 b-MB/s 0.80 a/b
BenchmarkP-2 1 5 ns/op 99 a-MB/s 100 b-MB/s 0.97 a/b
BenchmarkPad/bucketed-2 1 5 ns/op 12 padding_%
BenchmarkPad/arrival-2 1 5 ns/op 30 padding_%
BenchmarkM/procs=2-2 1 7 ns/op
BenchmarkM/procs=1-2 1 9 ns/op
`

func TestEvaluate(t *testing.T) {
	lines := Evaluate(cannedRows, mustRead(t, cannedOutput))
	for _, tc := range []struct {
		id                string
		medflow, ref, rat float64 // 0 with !ok
		mOK, rOK, ratioOK bool
		met               string
	}{
		// medians 1.2 ms (of 3, 1, 1.2) and 1 ms: ratio 1.2 > 1.10
		{"time-lower", 1.2, 1, 1.2, true, true, true, "no"},
		{"speedup", 1.2, 1, 1 / 1.2, true, true, true, "no"},
		// the paired metric's median, not the ratio of medians (90/100)
		{"paired", 90, 100, 0.96, true, true, true, "yes"},
		{"on-medflow", 12, 30, 0.4, true, true, true, "no"},
		{"no-goal", 1.2, 0, 0, true, false, false, "—"},
		{"missing", 0, 1, 0, false, true, false, "not measured"},
		{"missing-ref", 1.2, 0, 0, true, false, false, "not measured"},
		{"first-match", 7, 0, 0, true, false, false, "—"},
	} {
		t.Run(tc.id, func(t *testing.T) {
			var l *Line
			for i := range lines {
				if lines[i].Row.ID == tc.id {
					l = &lines[i]
				}
			}
			if l == nil {
				t.Fatalf("no line %s", tc.id)
			}
			check := func(what string, v Value, want float64, ok bool) {
				if v.OK != ok || (ok && !near(v.V, want)) {
					t.Errorf("%s = %+v, want %v (ok=%v)", what, v, want, ok)
				}
			}
			check("medflow", l.Medflow, tc.medflow, tc.mOK)
			check("reference", l.Ref, tc.ref, tc.rOK)
			check("ratio", l.Ratio, tc.rat, tc.ratioOK)
			if l.Met != tc.met {
				t.Errorf("met = %q, want %q", l.Met, tc.met)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestGoalDirection(t *testing.T) {
	for _, tc := range []struct {
		goal  Goal
		ratio float64
		want  string
	}{
		{Goal{Better: Lower, Bound: 1.1}, 1.1, "yes"},
		{Goal{Better: Lower, Bound: 1.1}, 1.11, "no"},
		{Goal{Better: Higher, Bound: 0.95}, 0.95, "yes"},
		{Goal{Better: Higher, Bound: 0.95}, 0.9, "no"},
		{Goal{OnMedflow: true, Better: Lower, Bound: 10}, 100, "yes"}, // medflow is 5
	} {
		l := Line{Medflow: Value{V: 5, OK: true}, Ratio: Value{V: tc.ratio, OK: true}}
		if got := met(&tc.goal, l); got != tc.want {
			t.Errorf("goal %+v, ratio %v: met = %q, want %q", tc.goal, tc.ratio, got, tc.want)
		}
	}
}

func TestRender(t *testing.T) {
	r := mustRead(t, cannedOutput+"pkg: bench\n"+
		"BenchmarkDemo-2 1 9 ns/op 40 cold-s 120 stage-MiB:index 300 stage-MiB:mae 0 stage-order:index 1 stage-order:mae 1.5 stage-s:index 30 stage-s:mae 1500 stage-rows:index\n"+
		"--- SKIP: BenchmarkGone-2\n    x_test.go:1: no library\n")
	m := Machine{Cores: 2, CPU: "Test CPU", MemGiB: 8, GoVersion: "go1.26", OS: "linux/amd64", Date: "2026-01-02 03:04 UTC"}
	var b strings.Builder
	if err := Render(&b, m, Evaluate(cannedRows, r), r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Machine: 2 cores (runtime.NumCPU), Test CPU, 8 GiB RAM, linux/amd64, go1.26. Run: 2026-01-02 03:04 UTC.",
		"| time-lower |  | 1.20 ms (n=3) | 1.00 ms (n=2) | 1.200 (m/r ↓) | ratio ≤ 1.10 | **no** | 2 × Test CPU |",
		"| speedup |  | 1.20 ms (n=3) | 1.00 ms (n=2) | 0.833 (r/m ↑) | ratio ≥ 1.00 | **no** |",
		"| paired |  | 90.0 MB/s (n=3) | 100 MB/s (n=3) | 0.960 (a/b ↑) | ratio ≥ 0.95 | yes |",
		"| on-medflow |  | 12.0 % (n=1) | 30.0 % (n=1) | 0.400 (m/r ↓) | ≤ 10.0 % | **no** |",
		"| missing |  | not measured | 1.00 ms (n=2) | not measured | ratio ≤ 1.00 | not measured |",
		"## How to read this",
		"| index | 1.50 s (n=1) | 120 MiB (n=1) | 1500 |\n| mae | 30.0 s (n=1) | 300 MiB (n=1) | — |",
		"- SKIP BenchmarkGone: x_test.go:1: no library",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestRows checks the project's row list: unique ids, a unit and scale
// each, and every selector matching the benchmark names its package
// reports (canned lines in the format `go test -bench` prints them).
func TestRows(t *testing.T) {
	seen := map[string]bool{}
	for _, row := range Rows {
		if seen[row.ID] || row.ID == "" || row.What == "" || row.Unit == "" || row.Scale == 0 || row.Medflow == nil {
			t.Errorf("row %q: duplicate id or missing field", row.ID)
		}
		seen[row.ID] = true
		if strings.Contains(row.What, "|") {
			t.Errorf("row %q: '|' in what breaks the table", row.ID)
		}
	}
	// Benchmark names as the packages name them (see each bench_test.go).
	names := []string{
		"BenchmarkChain/procs=2/alloc=go/gogc=100", "BenchmarkChain/procs=2/alloc=pool/gogc=100",
		"BenchmarkChain/procs=1/alloc=pool/gogc=400", "BenchmarkChain/procs=2/alloc=pool/gogc=400",
		"BenchmarkPeakRSS/alloc=pool/rows=10M", "BenchmarkPeakRSS/alloc=pool/rows=100M",
		"BenchmarkPeakRSS/alloc=go/rows=10M", "BenchmarkPeakRSS/alloc=go/rows=100M",
		"BenchmarkS3Read/workers=1", "BenchmarkS3Read/workers=16",
		"BenchmarkDecode/medflow-uint8", "BenchmarkDecode/djpeg-exec", "BenchmarkDecode/libjpeg-c-loop",
		"BenchmarkDecode/go-jpeg+draw-approxbilinear", "BenchmarkStage/workers-1", "BenchmarkStage/workers-2",
		"Tokbench/kind=reports/medflow", "Tokbench/kind=reports/libsentencepiece", "Tokbench/kind=reports/medflow-nocache",
		"Tokbench/kind=sentences/medflow", "Tokbench/kind=sentences/libsentencepiece",
		"Tokbench/kind=mixed/medflow", "Tokbench/kind=mixed/libsentencepiece",
		"BenchmarkTextEmbed/cpu/threads=1", "BenchmarkTextEmbed/cpu/threads=2",
		"BenchmarkPadding/synth-reports-llama2-tokens/bucketed", "BenchmarkPadding/synth-reports-llama2-tokens/arrival-order",
		"BenchmarkPadding/lognormal-120/bucketed", "BenchmarkPadding/lognormal-120/arrival-order",
		"BenchmarkThreads", "BenchmarkTrainStep/custom/batch64", "BenchmarkTrainStep/stock/batch64",
		"BenchmarkTrainStep/forward/batch64", "BenchmarkMAEStep/custom/batch64", "BenchmarkMAEStep/stock/batch64",
		"BenchmarkTrainStep/hostopt/batch64", "BenchmarkTrainStep/purego/batch64", "BenchmarkTrainStepViTS16/custom/batch8",
		// bench/torchref/train_step.py
		"BenchmarkTorchTrainStep/tiny/batch64", "BenchmarkTorchTrainStep/vits16/batch8",
		"BenchmarkEvaluate/evaluate-1M-x14", "BenchmarkEvaluate/reference-sort-only-1M-x14",
		"BenchmarkSummaryStage/eval.summary-1M-rows", "BenchmarkSummaryStage/reference-metrics-only",
		"BenchmarkFromHFMemory/stream/float16=false", "BenchmarkFromHFMemory/load-all/float16=false",
		"BenchmarkRerun", "BenchmarkEmbedResume", "BenchmarkDemo",
		"BenchmarkBarrierInput/upstream=streamed", "BenchmarkBarrierInput/upstream=materialized",
		// bench/gpu/check.sh's bench-gpu.txt
		"BenchmarkGPUCheck/embed/gomlx", "BenchmarkGPUCheck/embed/ort-cpu",
		"BenchmarkGPUCheck/train/mae", "BenchmarkGPUCheck/train/contrastive", "BenchmarkGPUCheck/train/clf",
		// bench/gpu/torch_ref.py
		"BenchmarkGPUCheck/torch/embed/fp32", "BenchmarkGPUCheck/torch/embed/bf16",
		"BenchmarkGPUCheck/torch/train/mae-fp32", "BenchmarkGPUCheck/torch/train/mae-bf16",
		"BenchmarkGPUCheck/torch/train/clf-fp32", "BenchmarkGPUCheck/torch/train/clf-bf16",
		// make rehearsal's bench-gpu.txt
		"BenchmarkRehearsal/embed/ort-cpu", "BenchmarkRehearsal/train/mae", "BenchmarkRehearsal/train/contrastive",
		"BenchmarkRehearsal/train/clf", "BenchmarkRehearsal/stage/images",
	}
	// bench/soak/soak.sh: each stage of its SOAK_STAGES at each size.
	for _, n := range []int{300, 3000, 30000} {
		for _, s := range []string{"mae", "contrastive", "clf-mae", "pred-mae", "mae-small", "contrastive-small"} {
			names = append(names, fmt.Sprintf("BenchmarkSoak/studies=%d/stage=%s", n, s))
		}
	}
	for _, row := range Rows {
		for _, s := range []*Sel{row.Medflow, row.Ref, row.RatioMetric} {
			if s != nil && !matchesAny(s.Bench, names) {
				t.Errorf("row %s: selector %s matches no known benchmark", row.ID, s.Bench)
			}
		}
	}
}

func matchesAny(re *regexp.Regexp, names []string) bool {
	for _, n := range names {
		if re.MatchString(n) {
			return true
		}
	}
	return false
}

func TestRunWritesFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bench-x.txt")
	if err := os.WriteFile(in, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "BENCHMARKS.md")
	var stdout strings.Builder
	if err := run([]string{"-o", out, in}, strings.NewReader(""), &stdout); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// sample has no gogc= or rows that the real rows select except PeakRSS.
	if !strings.Contains(string(b), "| rss-growth |") || !strings.Contains(string(b), "| demo |") {
		t.Errorf("table lacks rows:\n%s", b)
	}
	if !strings.Contains(stdout.String(), "rows measured") {
		t.Errorf("stdout = %q", stdout.String())
	}
	if err := run([]string{filepath.Join(dir, "missing.txt")}, strings.NewReader(""), &stdout); err == nil ||
		!strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing input: err = %v", err)
	}
}

func TestThisMachine(t *testing.T) {
	m := ThisMachine(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	if m.Cores < 1 || m.CPU == "" || m.Date != "2026-01-02 03:04 UTC" || !strings.HasPrefix(m.GoVersion, "go") {
		t.Errorf("ThisMachine = %+v", m)
	}
}

func TestFmtNum(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{{0, "0.00"}, {0.0123, "0.0123"}, {1.234, "1.23"}, {12.34, "12.3"}, {123.4, "123"},
		{12345, "12.3 k"}, {474000, "474 k"}, {9.12e6, "9.12 M"}, {2.5e9, "2.50 G"}} {
		if got := fmtNum(tc.v); got != tc.want {
			t.Errorf("fmtNum(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestHostLine: benchmarks read after a "machine:" line (the GPU results
// files) carry that machine into their row; the others keep this one's.
func TestHostLine(t *testing.T) {
	r := NewResults()
	if err := r.Read(strings.NewReader("BenchmarkLocal-2 1 5 ns/op\n"), "cpu.txt"); err != nil {
		t.Fatal(err)
	}
	if err := r.Read(strings.NewReader("machine: 1 × NVIDIA H200 (16 cores)\nBenchmarkGPU/x\t1\t9 ns/op\t3 img/s\n"), "gpu.txt"); err != nil {
		t.Fatal(err)
	}
	if got := r.Hosts["BenchmarkGPU/x"]; got != "1 × NVIDIA H200 (16 cores)" {
		t.Errorf("host of the GPU benchmark = %q", got)
	}
	// A newer file of the host replaces a benchmark's values; the others stay.
	if err := r.Read(strings.NewReader("machine: 1 × NVIDIA H200 (16 cores)\nBenchmarkGPU/x\t1\t9 ns/op\t5 img/s\n"), "gpu2.txt"); err != nil {
		t.Fatal(err)
	}
	if got := r.Metrics["BenchmarkGPU/x"]["img/s"]; len(got) != 1 || got[0] != 5 {
		t.Errorf("after a newer GPU file: img/s = %v, want [5]", got)
	}
	if got := r.Metrics["BenchmarkLocal"]["ns/op"]; len(got) != 1 {
		t.Errorf("the CPU benchmark changed: %v", got)
	}
	if _, ok := r.Hosts["BenchmarkLocal"]; ok {
		t.Errorf("the CPU benchmark got a host: %v", r.Hosts)
	}
	rows := []Row{{ID: "gpu", Medflow: sel(`BenchmarkGPU/x`, "img/s"), Unit: "img/s", Scale: 1},
		{ID: "cpu", Medflow: sel(`BenchmarkLocal`, "ns/op"), Unit: "ns", Scale: 1}}
	var b strings.Builder
	if err := Render(&b, Machine{Cores: 2, CPU: "Test CPU"}, Evaluate(rows, r), r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| gpu |  | 5.00 img/s (n=1) |", "| 1 × NVIDIA H200 (16 cores) |\n", "| cpu |", "| 2 × Test CPU |\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestScale: the scale table divides each stage's full-size work by the
// measured rates, bolds and sums the fastest medflow way per stage, and
// names the stages it could not count.
func TestScale(t *testing.T) {
	gpu := "machine: GPU host\n" +
		"BenchmarkGPUCheck/embed/gomlx\t1\t1 ns/op\t1000 tokens/s\t100 tokens/row\n" +
		"BenchmarkGPUCheck/embed/ort-cpu\t1\t1 ns/op\t2000 tokens/s\t100 tokens/row\n" +
		"BenchmarkGPUCheck/train/mae\t1\t1 ns/op\t0.1 steps/s\t100 img/s\n" +
		"BenchmarkGPUCheck/train/contrastive\t1\t1 ns/op\t0.1 steps/s\t200 img/s\n" +
		"BenchmarkGPUCheck/train/clf\t1\t1 ns/op\t0.1 steps/s\t300 img/s\n" +
		"BenchmarkGPUCheck/rss/gomlx/mae\t1\t0 ns/op\t14715 MiB\n"
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"without decode", gpu, []string{
			"| train.mae | 36.90 M images |",
			"| medflow xla:cuda, steady | 100 images/s | **102 h** | 14.7 k MiB |",
			// 227,835 reports x 100 tokens x 16 / 2000 tokens/s = 50.6 h (ORT, the faster)
			"| 1000 tokens/s (full size: ×16 the work) | 101 h |",
			"| 2000 tokens/s (full size: ×16 the work) | **50.6 h** | — |",
			"**164 h** (without image.decode: not measured)",
		}},
		{"with decode", "pkg: x\nBenchmarkDecode/medflow-uint8-2 10 16000000 ns/op\n" + gpu, []string{
			// 377,110 images / (16 cores / 16 ms) = 0.105 h
			"| 1000 images/s | **0.105 h** |",
			"**164 h**.",
		}},
		{"this machine", gpu + "machine: this machine\n" +
			"BenchmarkRehearsal/embed/ort-cpu\t1\t1 ns/op\t100 tokens/s\t100 tokens/row\n" +
			"BenchmarkRehearsal/train/mae\t1\t1 ns/op\t0.1 steps/s\t10 img/s\n" +
			"BenchmarkRehearsal/train/contrastive\t1\t1 ns/op\t0.1 steps/s\t1 img/s\n" +
			"BenchmarkRehearsal/train/clf\t1\t1 ns/op\t0.1 steps/s\t2 img/s\n" +
			"BenchmarkRehearsal/stage/images\t1\t1 ns/op\t100 rows/s\n" +
			"BenchmarkRehearsal/rss/ort/mae\t1\t0 ns/op\t900 MiB\n", []string{
			// 36.90 M images / 10 img/s = 1025 h, italic: this machine's fastest
			"| 10.0 images/s | *1025 h* | 900 MiB |",
			// the GPU host's total is unchanged
			"**164 h** (without image.decode: not measured)",
			// 1.048 + 16 x 227,835 x 100 / 100 / 3600 = 10,127 + 1025 + 2050 + 104.8 h (clf: 754 k / 2)
			"On this machine's CPU alone",
		}},
		{"nothing measured", "pkg: x\nBenchmarkOther-2 1 5 ns/op\n", nil},
	} {
		r := mustRead(t, tc.input)
		var b strings.Builder
		renderScale(&b, EvaluateScale(ScaleRows, r))
		out := b.String()
		if tc.want == nil && out != "" {
			t.Errorf("%s: wrote a scale table without rates:\n%s", tc.name, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
	}
}

func TestSoak(t *testing.T) {
	soak := "machine: soak host\n" +
		"BenchmarkSoakRun/studies=3000/stage=pairs 1 500 peak-RSS-MiB 5800 rows-in 9 s\n" +
		"BenchmarkSoakRun/studies=3000/stage=mae 1 700 peak-RSS-MiB 2900 rows-in 20 s\n" +
		"BenchmarkSoak/studies=3000/stage=mae 1 400 peak-RSS-MiB 2900 rows-in 18 s\n" +
		"BenchmarkSoakRun/studies=30000/stage=mae 1 1500 peak-RSS-MiB 29000 rows-in 200 s\n" +
		"BenchmarkSoak/studies=30000/stage=mae 1 460 peak-RSS-MiB 29000 rows-in 180 s\n" +
		"BenchmarkSoak/studies=30000/stage=contrastive 1 900 peak-RSS-MiB 35000 rows-in 180 s\n"
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"two sizes", soak, []string{
			"| stage | alone, 3000 studies | alone, 30000 studies | alone, growth over the last 10x | in the run, 3000 | in the run, 30000 | rows |\n|---|---|---|---|---|---|---|\n",
			"| pairs | — | — | — | 500 MiB | — | 5800 |",
			"| mae | 400 MiB | 460 MiB | 1.15x | 700 MiB | 1500 MiB | 2900 / 29000 |",
			"| contrastive | — | 900 MiB | — | — | — | 35000 |",
			"Machine: soak host.",
		}},
		{"nothing measured", "pkg: x\nBenchmarkOther-2 1 5 ns/op\n", nil},
	} {
		r := mustRead(t, tc.input)
		var b strings.Builder
		renderSoak(&b, r)
		out := b.String()
		if tc.want == nil && out != "" {
			t.Errorf("%s: wrote a soak table without soak results:\n%s", tc.name, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
	}
	// The soak-mae row: 460 / 400 = 1.15, within the 1.2 bound.
	for _, l := range Evaluate(Rows, mustRead(t, soak)) {
		if l.Row.ID == "soak-mae" && (!l.Ratio.OK || math.Abs(l.Ratio.V-1.15) > 1e-9 || l.Met != "yes" || l.Host != "soak host") {
			t.Errorf("soak-mae: %+v", l)
		}
	}
}
