package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/internal/testenv"
	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/pipeline/pipelinetest"
)

// medflow runs the CLI in-process and returns exit code, stdout, stderr.
func medflow(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return medflowIn(t, "", args...)
}

// medflowIn is medflow with stdin. A run that names no allocator gets
// the pooling allocator in poison mode (testArgs), so that a value kept
// past its batch's release fails the test instead of passing by luck.
func medflowIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(testArgs(args), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// testArgs adds `--allocator pool-poison` to a run that names no
// allocator: freed buffers are overwritten at once, so any use after
// release shows up as wrong data.
func testArgs(args []string) []string {
	if len(args) == 0 || args[0] != "run" || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--allocator") }) {
		return args
	}
	return append(slices.Clone(args), "--allocator", "pool-poison")
}

// writeFiles writes files (path relative to dir -> content).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeConfig writes a pipelines file whose data lives under dir.
func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "pipelines.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const demoConfig = `
settings:
  work: DIR/work
  log: {level: warn}
variants:
  data:
    description: make input
    stages:
      - {name: rows, kind: gen.rows, params: {rows: 20000, batch_rows: 3000, groups: 3}}
      - {name: csv, kind: files.write, inputs: [rows], params: {uri: DIR/in, format: csv, rows_per_part: 7000}}
  demo:
    description: read, filter, rescale, write
    stages:
      - name: read
        kind: files.read
        params: {uri: DIR/in, format: csv, columns: ["id:int64", "group:utf8", "value:float64"], batch_rows: 1000}
      - {name: keep, kind: filter.range, inputs: [read], params: {column: value, min: 0, max: 50}}
      - {name: rescale, kind: col.scale, inputs: [keep], workers: 2, params: {column: value, factor: 2, output: v2}}
      - {name: rows, kind: files.write, inputs: [rescale], params: {uri: DIR/out/rows}}
      - {name: stats, kind: agg.group_stats, inputs: [rescale], params: {key: group, value: v2}}
      - {name: stats-out, kind: files.write, inputs: [stats], params: {uri: DIR/out/stats, format: arrow}}
`

func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, demoConfig)
	if code, _, errs := medflow(t, "run", "data", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatalf("run data: exit %d\n%s", code, errs)
	}
	prof := filepath.Join(dir, "prof")
	code, _, errs := medflow(t, "run", "demo", "--config", cfg, "--no-progress", "--pprof", prof)
	if code != 0 {
		t.Fatalf("run demo: exit %d\n%s", code, errs)
	}
	for _, name := range []string{"cpu.pprof", "heap-end.pprof", "heap-end.json"} {
		if st, err := os.Stat(filepath.Join(prof, name)); err != nil || st.Size() == 0 {
			t.Errorf("--pprof wrote no %s: %v", name, err)
		}
	}
	for _, want := range []string{"STAGE", "rescale", "col.scale", "20000"} {
		if !strings.Contains(errs, want) {
			t.Errorf("summary lacks %q:\n%s", want, errs)
		}
	}
	// The outputs are committed datasets with the expected rows.
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	count := func(prefix string) int64 { return countRows(t, store, prefix) }
	if n := count("in"); n != 20000 {
		t.Errorf("input rows %d", n)
	}
	kept := count("out/rows")
	if kept < 8000 || kept > 12000 { // values are uniform in [0,100): about half are <= 50
		t.Errorf("kept %d rows of 20000", kept)
	}
	if n := count("out/stats"); n != 3 {
		t.Errorf("stats rows %d, want 3 groups", n)
	}
}

func TestValidateListsAllErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, `
variants:
  ok:
    stages:
      - {name: g, kind: gen.rows, params: {rows: 1}}
      - {name: d, kind: discard, inputs: [g]}
  bad1:
    stages:
      - {name: g, kind: gen.rowz, params: {rows: 1}}
  bad2:
    stages:
      - {name: g, kind: gen.rows, params: {rows: 1}}
      - {name: s, kind: col.scale, inputs: [gg], params: {column: value}}
  bad3:
    stages:
      - name: g
        kind: gen.rows
        params:
          rows: 1
          groups: 0
      - name: rescale
        kind: col.scale
        inputs: [g]
        params:
          column: value
          factor: ${MEDFLOW_TEST_FACTOR}
      - {name: out, kind: discard, inputs: [rescal]}
      - {name: tok, kind: text.tokenize, inputs: [g], params: {model: m, truncation: middle, bos: maybe}}
`)
	t.Setenv("MEDFLOW_TEST_FACTOR", "s3cr3t-value")
	code, _, errs := medflow(t, "validate", "--config", cfg)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	// Every error of every variant, each at its file:line: the param's line
	// for a param, the inputs line for an input, the stage's otherwise.
	for _, want := range []string{
		`pipelines.yaml:9: variant "bad1": stage "g": key "kind": unknown stage kind "gen.rowz" (did you mean "gen.rows"?)`,
		`pipelines.yaml:13: variant "bad2": stage "s": key "inputs": missing input "gg" (did you mean "g"?)`,
		`pipelines.yaml:20: variant "bad3": stage "g": key "params.groups": invalid param value: 0: must be in [1, 1000000]`,
		`pipelines.yaml:26: variant "bad3": stage "rescale": key "params.factor": wrong param type (value from an environment variable, not shown)`,
		`pipelines.yaml:27: variant "bad3": stage "out": key "inputs": missing input "rescal" (did you mean "rescale"?)`,
		`pipelines.yaml:28: variant "bad3": stage "tok": key "params.truncation": invalid param value: "middle": want right, left or fail`,
		`pipelines.yaml:28: variant "bad3": stage "tok": key "params.bos": wrong param type: want boolean, got string "maybe"`,
		"3 of 4 variants invalid",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("validate output lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "s3cr3t") {
		t.Errorf("validate echoes an interpolated value:\n%s", errs)
	}
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, demoConfig)
	for _, tc := range []struct {
		args []string
		code int
		out  []string // substrings of stdout+stderr
	}{
		{[]string{"list"}, 0, []string{"data", "demo", "read, filter, rescale, write"}},
		{[]string{"validate"}, 0, []string{"2 variants valid"}},
		{[]string{"plan", "demo"}, 0, []string{"variant demo: 6 stages", "flowchart LR", "s1 --> s2", "v2: float64"}},
		{[]string{"plan", "demo", "--format", "mermaid"}, 0, []string{"flowchart LR"}},
		{[]string{"plan", "demo", "--set", "keep.min=oops"}, 1, []string{`stage "keep": key "params.min": wrong param type`}},
		{[]string{"plan", "demo", "--set", "nope.min=1"}, 1, []string{`"nope"`}},
		{[]string{"plan", "nosuch"}, 1, []string{"nosuch"}},
		{[]string{"run", "demo", "--shard", "3/2"}, 1, []string{`--shard "3/2": want i/n with 0 <= i < n`}},
		{[]string{"run", "demo", "--log-format", "yaml"}, 1, []string{"yaml"}},
		{[]string{"kinds"}, 0, []string{"files.read (source, no inputs)", "columns", "required"}},
		{[]string{"version"}, 0, []string{"medflow dev"}},
		{[]string{"version", "--verbose"}, 0, []string{"medflow dev", "\nmatmul: " + nn.MatmulKernels() + "\nkernels: " + nn.FastKernels() + "\n"}},
		{[]string{"run"}, 2, []string{"run: want one VARIANT, got 0 arguments (see `medflow list`)"}},
		{[]string{"plan", "a", "b"}, 2, []string{"plan: want one VARIANT, got 2 arguments"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := medflow(t, append(tc.args, "--config", cfg)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			for _, want := range tc.out {
				if !strings.Contains(out+errs, want) {
					t.Errorf("output lacks %q:\n%s%s", want, out, errs)
				}
			}
		})
	}
}

func TestMissingConfig(t *testing.T) {
	code, _, errs := medflow(t, "list", "--config", filepath.Join(t.TempDir(), "nope.yaml"))
	if code != 1 || !strings.Contains(errs, "nope.yaml") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

// countRows reads the committed dataset under prefix with a checked
// allocator and returns its row count.
func countRows(t *testing.T, store objstore.Store, prefix string) (rows int64) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d, err := dataset.Open(t.Context(), store, prefix)
	if err != nil {
		t.Fatal(err)
	}
	r := d.NewReader(t.Context(), mem, formats.ReaderOptions{})
	defer r.Release()
	for r.Next() {
		rows += r.RecordBatch().NumRows()
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestQuarantineTable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"in/a.csv": "id,group,value\n1,g1,0.5\n",
		"in/b.csv": "id,group,value\n2,g2,oops\n",
		"in/c.csv": "id,group,value,extra\n3,g3,1.5,x\n",
		"in/d.csv": "id,group,value\n4,g4,2.5\n",
	})
	cfg := writeConfig(t, dir, `
settings: {work: DIR/work}
variants:
  q:
    stages:
      - name: read
        kind: files.read
        params: {uri: DIR/in, columns: ["id:int64", "group:utf8", "value:float64"], on_error: quarantine}
      - {name: out, kind: files.write, inputs: [read], params: {uri: DIR/out}}
`)
	code, _, errs := medflow(t, "run", "q", "--config", cfg, "--no-progress")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	for _, want := range []string{"b.csv", "c.csv", "oops", "records quarantined"} {
		if !strings.Contains(errs, want) {
			t.Errorf("output lacks %q:\n%s", want, errs)
		}
	}
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, store, "out"); n != 2 {
		t.Errorf("good rows %d, want 2 (a.csv, d.csv)", n)
	}
	if n := countRows(t, store, "work/q/quarantine"); n != 2 {
		t.Errorf("quarantine table has %d rows, want 2", n)
	}
	// With no budget for bad records the same run fails, naming the file.
	code, _, errs = medflow(t, "run", "q", "--config", cfg, "--no-progress", "--max-quarantined", "-1", "--force", "read")
	if code != 1 || !strings.Contains(errs, "error budget exceeded") || !strings.Contains(errs, "b.csv") {
		t.Errorf("budget -1: exit %d\n%s", code, errs)
	}
	// Without the bad files nothing is quarantined: the table of the
	// earlier run is emptied, not left to be taken for this run's.
	for _, f := range []string{"b.csv", "c.csv"} {
		if err := os.Remove(filepath.Join(dir, "in", f)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errs := medflow(t, "run", "q", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatalf("clean run: exit %d\n%s", code, errs)
	}
	if n := countRows(t, store, "work/q/quarantine"); n != 0 {
		t.Errorf("after a clean run the quarantine table has %d rows, want 0", n)
	}
}

// The pooling allocator reuses freed buffers; with poisoning, any buffer
// freed while still in use would corrupt the output. The demo's outputs
// must be identical to those made with Go's allocator.
func TestPooledAllocatorOutputsMatch(t *testing.T) {
	digests := map[string]string{}
	for _, alloc := range []string{"go", "pool-poison"} {
		dir := t.TempDir()
		cfg := writeConfig(t, dir, demoConfig)
		for _, v := range []string{"data", "demo"} {
			if code, _, errs := medflow(t, "run", v, "--config", cfg, "--no-progress", "--allocator", alloc); code != 0 {
				t.Fatalf("%s %s: exit %d\n%s", alloc, v, code, errs)
			}
		}
		store, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		digests[alloc] = datasetDigest(t, store, "out/rows") + datasetDigest(t, store, "out/stats")
	}
	if digests["go"] != digests["pool-poison"] {
		t.Fatal("outputs differ between the Go and the pooling allocator")
	}
	cfg := writeConfig(t, t.TempDir(), demoConfig)
	if code, _, errs := medflow(t, "run", "demo", "--config", cfg, "--allocator", "jemalloc"); code != 1 || !strings.Contains(errs, `--allocator "jemalloc"`) {
		t.Errorf("bad allocator: exit %d %s", code, errs)
	}
}

// datasetDigest hashes every value of a committed dataset, in order.
func datasetDigest(t *testing.T, store objstore.Store, prefix string) string {
	t.Helper()
	h := sha256.New()
	eachRow(t, store, prefix, func(row string) { fmt.Fprintln(h, row) })
	return hex.EncodeToString(h.Sum(nil))
}

func TestSynthCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, demoConfig)
	out := filepath.Join(dir, "mimic")
	code, stdout, errs := medflow(t, "synth", "--config", cfg, "--out", out, "--studies", "6", "--size", "64x80", "--corrupt-fraction", "0.5", "--seed", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "wrote 3 subjects, 6 studies") || !strings.Contains(stdout, "planted ") {
		t.Errorf("output: %s", stdout)
	}
	for _, name := range []string{"mimic-cxr-2.0.0-metadata.csv.gz", "mimic-cxr-2.0.0-split.csv.gz", "mimic-cxr-2.0.0-chexpert.csv.gz", "mimic-cxr-2.0.0-negbio.csv.gz", "files/p10"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	for args, want := range map[string]string{
		"--size 64":       `--size "64": want WIDTHxHEIGHT`,
		"--size 8x8":      "image size 8x8 is too small",
		"--studies 0":     "studies must be in [1, 9e6]",
		"--splits 1,2":    "want three non-negative fractions",
		"--splits 1,-1,1": "want three non-negative fractions",
	} {
		code, _, errs := medflow(t, append([]string{"synth", "--config", cfg, "--out", out}, strings.Fields(args)...)...)
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d %s", args, code, errs)
		}
	}
}

// The flagship's ingest on a phantom dataset: synth, then index, decode,
// sections and tokenize, with the planted faults quarantined.
func TestMimicIngest(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tokenizer.model")
	if code, _, errs := medflow(t, "models", "llama2-tokenizer", "--npm", testenv.Llama2NPM(t), "--out", model); code != 0 {
		t.Fatalf("models: %s", errs)
	}
	cfg := writeConfig(t, dir, `
settings: {work: DIR/work}
variants:
  ingest:
    stages:
      - {name: index, kind: mimic.index, params: {root: DIR/mimic}}
      - {name: images, kind: image.decode, inputs: [index], workers: 2, params: {root: DIR/mimic, path_column: image_key, key_column: dicom_id, size: 32, rows_column: rows, columns_column: columns}}
      - {name: images-out, kind: files.write, inputs: [images], params: {uri: DIR/out/images}}
      - {name: sections, kind: report.sections, inputs: [index], params: {root: DIR/mimic}}
      - {name: tokens, kind: text.tokenize, inputs: [sections], params: {model: MODEL, column: report_text}}
      - {name: tokens-out, kind: files.write, inputs: [tokens], params: {uri: DIR/out/reports}}
`)
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.ReplaceAll(string(b), "MODEL", model)), 0o644)
	code, stdout, errs := medflow(t, "synth", "--config", cfg, "--out", filepath.Join(dir, "mimic"), "--studies", "24",
		"--size", "96x128", "--corrupt-fraction", "0.3", "--seed", "5")
	if code != 0 {
		t.Fatalf("synth: %s", errs)
	}
	planted := strings.Count(stdout, "planted ")
	imageFaults := strings.Count(stdout, "-jpeg: ") + strings.Count(stdout, "empty-image: ")
	if planted == 0 || imageFaults == 0 {
		t.Fatalf("seed 5 planted no (image) faults:\n%s", stdout)
	}
	code, _, errs = medflow(t, "run", "ingest", "--config", cfg, "--no-progress")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}
	// A bad label row is quarantined itself, and so is its study's frontal
	// image, which is left without labels.
	want := planted + strings.Count(stdout, "bad-label-row: ")
	if got := strings.Count(errs, "msg=quarantined stage="); got != want {
		t.Errorf("%d records quarantined, want %d for the %d planted faults:\n%s\n%s", got, want, planted, stdout, errs)
	}
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	images, reports := countRows(t, store, "out/images"), countRows(t, store, "out/reports")
	if images == 0 || reports == 0 || images > 24 || reports > 24 || images+int64(imageFaults) < reports {
		t.Errorf("images %d, reports %d of 24 frontal studies (%d image faults)", images, reports, imageFaults)
	}
}

func TestMaxErrorRateFlag(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"in/a.csv": "id,group,value\n1,g1,0.5\n", "in/b.csv": "id,group,value\n2,g2,oops\n",
		"in/c.csv": "id,group,value\n3,g3,1.5\n", "in/d.csv": "id,group,value\n4,g4,2.5\n",
	})
	cfg := writeConfig(t, dir, `
settings: {work: DIR/work}
variants:
  q:
    stages:
      - {name: read, kind: files.read, params: {uri: DIR/in, columns: ["id:int64", "group:utf8", "value:float64"], on_error: quarantine}}
      - {name: out, kind: files.write, inputs: [read], params: {uri: DIR/out}}
`)
	// 1 bad file of 4: the source handled 3 rows + 1 quarantined file = 25%.
	code, _, errs := medflow(t, "run", "q", "--config", cfg, "--no-progress", "--max-error-rate", "0.2")
	if code != 1 || !strings.Contains(errs, `stage "read": error budget exceeded: 1 of 4 records quarantined (25.0%), max error rate 20.0%`) {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "_manifest.json")); !os.IsNotExist(err) {
		t.Fatalf("a run over its error rate committed its output (%v)", err)
	}
	if code, _, errs := medflow(t, "run", "q", "--config", cfg, "--no-progress", "--max-error-rate", "0.3"); code != 0 {
		t.Fatalf("rate 0.3: exit %d\n%s", code, errs)
	}
}

// A materialized stage is reused by an unchanged rerun (its upstream is
// skipped), recomputed when its input files change or when forced.
func TestMaterializeReuse(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, strings.Replace(demoConfig,
		"{name: rescale, kind: col.scale, inputs: [keep], workers: 2,", "{name: rescale, kind: col.scale, inputs: [keep], workers: 2, materialize: true,", 1))
	if code, _, errs := medflow(t, "run", "data", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatal(errs)
	}
	state := func(summary, stage string) string {
		for _, line := range strings.Split(summary, "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == stage {
				return f[2]
			}
		}
		return ""
	}
	for i, tc := range []struct {
		set  string
		want map[string]string
	}{
		{"", map[string]string{"read": "done", "keep": "done", "rescale": "done", "rows": "done", "stats-out": "done"}},
		// Unchanged: every sink's output carries its fingerprint; nothing runs.
		{"", map[string]string{"read": "skipped", "rescale": "skipped", "rows": "reused", "stats-out": "reused"}},
		// A sink param changes: that sink runs on rescale's cached output.
		{"rows.rows_per_part=777", map[string]string{"read": "skipped", "keep": "skipped", "rescale": "reused", "rows": "done", "stats": "skipped", "stats-out": "reused"}},
	} {
		args := []string{"run", "demo", "--config", cfg, "--no-progress"}
		if tc.set != "" {
			args = append(args, "--set", tc.set)
		}
		code, _, errs := medflow(t, args...)
		if code != 0 {
			t.Fatalf("run %d: %s", i, errs)
		}
		for stage, st := range tc.want {
			if got := state(errs, stage); got != st {
				t.Errorf("run %d: %s is %q, want %q\n%s", i, stage, got, st, errs)
			}
		}
	}
	if _, out, _ := medflow(t, "plan", "demo", "--config", cfg, "--format", "text", "--set", "rows.rows_per_part=778"); !strings.Contains(out, "reuse*") || !strings.Contains(out, "skip") {
		t.Errorf("plan does not show reuse:\n%s", out)
	}
	if _, out, _ := medflow(t, "plan", "demo", "--config", cfg, "--format", "text", "--force", "keep"); strings.Contains(out, "reuse") {
		t.Errorf("--force keep still reuses:\n%s", out)
	}
	// New input rows (a new commit of the input dataset): the input
	// fingerprint changes, so rescale recomputes.
	if code, _, errs := medflow(t, "run", "data", "--config", cfg, "--no-progress", "--set", "rows.rows=20001"); code != 0 {
		t.Fatal(errs)
	}
	code, _, errs := medflow(t, "run", "demo", "--config", cfg, "--no-progress")
	if code != 0 || state(errs, "rescale") != "done" || state(errs, "read") != "done" {
		t.Errorf("after an input change: exit %d\n%s", code, errs)
	}
	if code, _, errs := medflow(t, "run", "demo", "--config", cfg, "--force", "nope"); code != 1 || !strings.Contains(errs, `stage "nope"`) {
		t.Errorf("--force nope: exit %d %s", code, errs)
	}
	// --target: only the target and its upstream are planned; the target
	// reuses what the whole variant materialized, or recomputes when forced.
	for _, tc := range []struct {
		force string
		want  map[string]string
	}{
		{"", map[string]string{"read": "skipped", "keep": "skipped", "rescale": "reused"}},
		{"rescale", map[string]string{"read": "done", "keep": "done", "rescale": "done"}},
	} {
		args := []string{"run", "demo", "--config", cfg, "--no-progress", "--target", "rescale"}
		if tc.force != "" {
			args = append(args, "--force", tc.force)
		}
		code, _, errs := medflow(t, args...)
		if code != 0 {
			t.Fatalf("--target rescale --force %q: exit %d\n%s", tc.force, code, errs)
		}
		for stage, st := range tc.want {
			if got := state(errs, stage); got != st {
				t.Errorf("--target rescale --force %q: %s is %q, want %q\n%s", tc.force, stage, got, st, errs)
			}
		}
		for _, absent := range []string{"rows", "stats", "stats-out"} {
			if state(errs, absent) != "" {
				t.Errorf("--target rescale ran %s:\n%s", absent, errs)
			}
		}
	}
	if code, _, errs := medflow(t, "run", "demo", "--config", cfg, "--target", "nope"); code != 1 || !strings.Contains(errs, `stage "nope": unknown stage`) {
		t.Errorf("--target nope: exit %d %s", code, errs)
	}
	// A --set on a stage --target cuts away is still checked.
	for _, set := range []string{"stats.bogus=1", "stats-out.format=xml"} {
		code, _, errs := medflow(t, "run", "demo", "--config", cfg, "--target", "rescale", "--set", set)
		if stage, _, _ := strings.Cut(set, "."); code != 1 || !strings.Contains(errs, `stage "`+stage+`"`) || !strings.Contains(errs, "not run (--target)") {
			t.Errorf("--target rescale --set %s: exit %d %s", set, code, errs)
		}
	}
}

func TestRunsAndShow(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, demoConfig)
	for _, v := range []string{"data", "demo"} {
		if code, _, errs := medflow(t, "run", v, "--config", cfg, "--no-progress"); code != 0 {
			t.Fatal(errs)
		}
	}
	medflow(t, "run", "demo", "--config", cfg, "--no-progress", "--max-error-rate", "0") // no error budget: a run that cannot fail either
	code, out, errs := medflow(t, "runs", "--config", cfg)
	if code != 0 || strings.Count(out, " succeeded ") != 3 || !strings.Contains(out, " data ") {
		t.Fatalf("runs: exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := strings.Fields(lines[len(lines)-1])[0] // ids sort by start time
	if !strings.Contains(lines[1], " data ") {
		t.Fatalf("runs are not listed oldest first:\n%s", out)
	}
	code, out, errs = medflow(t, "show", last[:len(last)-2], "--config", cfg)
	if code != 0 || !strings.Contains(out, "variant demo, succeeded") || !strings.Contains(out, "PEAK RSS") || !strings.Contains(out, " MiB") || !strings.Contains(out, "rescale") || !strings.Contains(out, "899") && !strings.Contains(out, "col.scale") {
		t.Fatalf("show: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := medflow(t, "show", "nope", "--config", cfg); code != 1 || !strings.Contains(errs, `no run "nope"`) {
		t.Errorf("show nope: exit %d %s", code, errs)
	}
}

func TestGC(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, strings.Replace(demoConfig, "workers: 2,", "workers: 2, materialize: true,", 1))
	if code, _, errs := medflow(t, "run", "data", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatal(errs)
	}
	for _, factor := range []string{"2", "3"} { // two cached outputs of rescale
		if code, _, errs := medflow(t, "run", "demo", "--config", cfg, "--no-progress", "--set", "rescale.factor="+factor); code != 0 {
			t.Fatal(errs)
		}
	}
	cached := func() []string {
		entries, _ := os.ReadDir(filepath.Join(dir, "work", "cache"))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	if n := len(cached()); n != 2 {
		t.Fatalf("%d cached outputs, want 2", n)
	}
	// Forget the first run: its output is garbage.
	runs, _ := os.ReadDir(filepath.Join(dir, "work", "runs"))
	if len(runs) != 3 {
		t.Fatalf("%d run records", len(runs))
	}
	os.RemoveAll(filepath.Join(dir, "work", "runs", runs[1].Name()))
	code, out, errs := medflow(t, "gc", "--config", cfg, "--dry-run")
	if code != 0 || !strings.Contains(out, "would delete") || !strings.Contains(out, "1 of 2 cached outputs unreferenced by 2 run records") {
		t.Fatalf("gc --dry-run: exit %d\n%s%s", code, out, errs)
	}
	if n := len(cached()); n != 2 {
		t.Fatal("--dry-run deleted something")
	}
	if code, out, errs := medflow(t, "gc", "--config", cfg); code != 0 || !strings.Contains(out, "deleted ") {
		t.Fatalf("gc: exit %d\n%s%s", code, out, errs)
	}
	if n := len(cached()); n != 1 {
		t.Fatalf("%d cached outputs after gc, want 1", n)
	}
	// The kept output is still reused.
	code, _, errs = medflow(t, "run", "demo", "--config", cfg, "--no-progress", "--set", "rescale.factor=3")
	if code != 0 || !strings.Contains(errs, "reused") {
		t.Fatalf("rerun after gc: exit %d\n%s", code, errs)
	}
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, demoConfig)
	for _, v := range []string{"data", "demo"} {
		if code, _, errs := medflow(t, "run", v, "--config", cfg, "--no-progress"); code != 0 {
			t.Fatal(errs)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{filepath.Join(dir, "out", "stats")}, 0, []string{"dataset file://", "3 rows in 1 arrow parts", "producer medflow/", "schema: key: utf8, count: int64", "g00"}},
		{[]string{filepath.Join(dir, "in", "part-00000.csv"), "--rows", "2"}, 0, []string{"(csv)", "id  group  value"}},
		{[]string{filepath.Join(dir, "nothing")}, 1, []string{"neither a committed dataset nor a .arrow/.parquet/.csv file"}},
	} {
		code, out, errs := medflow(t, append([]string{"inspect", "--config", cfg}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%v: exit %d\n%s%s", tc.args, code, out, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out+errs, w) {
				t.Errorf("%v: output lacks %q:\n%s%s", tc.args, w, out, errs)
			}
		}
		if tc.code == 0 && strings.Count(out, "\n") > 4+10 {
			t.Errorf("%v: more rows than asked:\n%s", tc.args, out)
		}
	}
}

// TestPathsRelativeToConfig: relative paths in the config file (the work
// store, dataset folders, files read) resolve against the file's folder,
// not the working directory; commands that only read the work store run
// without a pipelines file when given --work.
func TestPathsRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "project")
	writeFiles(t, sub, map[string]string{"in/a.csv": "id,group,value\n1,a,2.5\n2,b,4\n"})
	cfg := filepath.Join(sub, "pipelines.yaml")
	if err := os.WriteFile(cfg, []byte(`
settings: {work: work, log: {level: warn}}
variants:
  copy:
    stages:
      - {name: read, kind: files.read, params: {uri: in, columns: ["id:int64", "group:utf8", "value:float64"]}}
      - {name: write, kind: files.write, inputs: [read], params: {uri: out, format: arrow}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := medflow(t, "run", "copy", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}
	for _, p := range []string{"out/_manifest.json", "work/runs"} {
		if _, err := os.Stat(filepath.Join(sub, p)); err != nil {
			t.Errorf("%s not under the config's folder: %v", p, err)
		}
	}
	// The report's Outputs table says where the dataset is.
	reports, _ := filepath.Glob(filepath.Join(sub, "work", "reports", "*", "report.md"))
	if len(reports) != 1 {
		t.Fatalf("reports: %v", reports)
	}
	md, err := os.ReadFile(reports[0])
	if err != nil {
		t.Fatal(err)
	}
	if want := "| write | dataset | " + filepath.Join(sub, "out") + " | arrow | 2 |"; !strings.Contains(string(md), want) {
		t.Errorf("report lacks the output row %q:\n%s", want, md)
	}
	// No pipelines.yaml in the working directory: --work is enough.
	code, out, errs := medflow(t, "runs", "--work", filepath.Join(sub, "work"))
	if code != 0 || !strings.Contains(out, "copy") || !strings.Contains(out, "succeeded") {
		t.Fatalf("runs --work: exit %d\n%s%s", code, out, errs)
	}
}

// TestEveryCommandHasExamples: `medflow X --help` shows examples for every
// command (help and completion are cobra's own).
func TestEveryCommandHasExamples(t *testing.T) {
	root, _ := newRoot(io.Discard, io.Discard)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" && sub.Example == "" {
				t.Errorf("%q has no examples", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
}

// onlyRecord opens the work store in dir and returns it with its one run
// record, failing t when there is not exactly one.
func onlyRecord(t *testing.T, dir string) (objstore.Store, runrecord.Record) {
	t.Helper()
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := runrecord.List(t.Context(), store)
	if err != nil || len(recs) != 1 {
		t.Fatalf("%s: %d run records, %v", dir, len(recs), err)
	}
	return store, recs[0]
}

// datasetRows returns every row of a committed dataset, in order, as its
// values joined by "|".
func datasetRows(t *testing.T, store objstore.Store, prefix string) []string {
	t.Helper()
	var rows []string
	eachRow(t, store, prefix, func(row string) { rows = append(rows, row) })
	return rows
}

// eachRow calls f with every row of a committed dataset, in order, as its
// values joined by "|".
func eachRow(t *testing.T, store objstore.Store, prefix string, f func(row string)) {
	t.Helper()
	eachBatch(t, store, prefix, func(b arrow.RecordBatch) {
		for i := range int(b.NumRows()) {
			var cells []string
			for _, col := range b.Columns() {
				cells = append(cells, fmt.Sprint(pipelinetest.Value(col, i)))
			}
			f(strings.Join(cells, "|"))
		}
	})
}

// eachBatch calls f with every batch of a committed dataset, in order
// (valid only during the call).
func eachBatch(t *testing.T, store objstore.Store, prefix string, f func(b arrow.RecordBatch)) {
	t.Helper()
	d, err := dataset.Open(t.Context(), store, prefix)
	if err != nil {
		t.Fatal(err)
	}
	r := d.NewReader(t.Context(), memory.NewGoAllocator(), formats.ReaderOptions{})
	defer r.Release()
	for r.Next() {
		f(r.RecordBatch())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestQuarantineKeptAcrossReuseAndResume: the quarantine table of an
// unchanged rerun (every output reused), of an incremental rerun (one
// branch recomputed, the rest reused or skipped) and of a run resumed
// after a kill -9 equals the cold run's, and the report lists the
// quarantined keys.
func TestQuarantineKeptAcrossReuseAndResume(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "tokenizer.model")
	if code, _, errs := medflow(t, "models", "llama2-tokenizer", "--npm", testenv.Llama2NPM(t), "--out", model); code != 0 {
		t.Fatalf("models: %s", errs)
	}
	cfg := writeConfig(t, dir, strings.ReplaceAll(`
settings: {work: DIR/work, log: {level: warn}}
variants:
  ingest:
    stages:
      - {name: index, kind: mimic.index, params: {root: DIR/mimic}}
      - {name: images, kind: image.decode, inputs: [index], workers: 2, materialize: true, params: {root: DIR/mimic, path_column: image_key, key_column: dicom_id, size: 32, rows_column: rows, columns_column: columns}}
      - {name: images-out, kind: files.write, inputs: [images], params: {uri: DIR/out/images}}
      - {name: sections, kind: report.sections, inputs: [index], materialize: true, params: {root: DIR/mimic}}
      - {name: tokens, kind: text.tokenize, inputs: [sections], params: {model: MODEL, column: report_text}}
      - {name: tokens-out, kind: files.write, inputs: [tokens], params: {uri: DIR/out/reports}}
`, "MODEL", model))
	if code, _, errs := medflow(t, "synth", "--config", cfg, "--out", filepath.Join(dir, "mimic"), "--studies", "40",
		"--size", "96x128", "--corrupt-fraction", "0.2", "--seed", "5"); code != 0 {
		t.Fatalf("synth: %s", errs)
	}
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		if code, _, errs := medflow(t, append([]string{"run", "ingest", "--config", cfg, "--no-progress"}, args...)...); code != 0 {
			t.Fatalf("run %v: exit %d\n%s", args, code, errs)
		}
	}
	start := time.Now()
	run()
	cold := time.Since(start)
	want := datasetRows(t, store, "work/ingest/quarantine")
	stages := map[string]bool{}
	for _, row := range want {
		stages[strings.Split(row, "|")[0]] = true
	}
	if !stages["index"] || !stages["images"] || !stages["sections"] {
		t.Fatalf("the cold run quarantined in stages %v, want index, images and sections:\n%s", stages, strings.Join(want, "\n"))
	}
	_, rec := onlyRecord(t, filepath.Join(dir, "work"))
	md, err := os.ReadFile(filepath.Join(dir, "work", ReportsPrefix, rec.ID, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if key := strings.Split(want[0], "|")[1]; !strings.Contains(string(md), key) {
		t.Errorf("report.md does not list the quarantined key %q:\n%s", key, md)
	}

	same := func(what string) {
		t.Helper()
		if got := datasetRows(t, store, "work/ingest/quarantine"); !slices.Equal(got, want) {
			t.Errorf("%s: quarantine table\n%s\nwant (cold run)\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	run()
	same("unchanged rerun")
	run("--set", "tokens.max_tokens=64")
	same("incremental rerun")

	// kill -9 cold runs part way, then resume them. A clean run in a
	// process of its own is timed first; the kills land at fractions of it.
	cli := func(kill time.Duration) (killed bool) {
		t.Helper()
		return runProcess(t, []string{"run", "ingest", "--config", cfg, "--no-progress"}, kill)
	}
	clean := func() {
		t.Helper()
		for _, sub := range []string{"work", "out"} {
			if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
				t.Fatal(err)
			}
		}
	}
	clean()
	start = time.Now()
	cli(0)
	full := time.Since(start)
	same("a run in a process of its own")
	killed := 0
	for _, frac := range []float64{0.3, 0.5, 0.7, 0.85} {
		clean()
		if cli(time.Duration(frac * float64(full))) {
			killed++
		}
		run()
		same(fmt.Sprintf("resumed after a kill -9 at %.0f%% of a run", 100*frac))
	}
	t.Logf("cold run %v in process, %v in a process of its own; %d of 4 runs killed", cold, full, killed)
}

// TestErrorBudgetSources: the default per-stage error budget (50%), and
// where it can be set: settings.max_error_rate, MEDFLOW_MAX_ERROR_RATE,
// --max-error-rate (flag > environment > file), a stage's max_error_rate
// in the file or by --set (beating all of those). One of the four input
// files is bad: files.read quarantines 25% of its records.
func TestErrorBudgetSources(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings string // extra settings keys
		stage    string // extra keys of stage read
		env      string // MEDFLOW_MAX_ERROR_RATE
		args     []string
		fail     string // in stderr; "" means exit 0
	}{
		{name: "default 50%"},
		{name: "settings", settings: "max_error_rate: 0.2", fail: `stage "read": error budget exceeded: 1 of 4 records quarantined (25.0%), max error rate 20.0%`},
		{name: "environment", env: "0.2", fail: "max error rate 20.0%"},
		{name: "flag beats settings", settings: "max_error_rate: 0.2", args: []string{"--max-error-rate", "0.3"}},
		{name: "flag beats environment", env: "0.3", args: []string{"--max-error-rate", "0.1"}, fail: "max error rate 10.0%"},
		{name: "stage beats settings", settings: "max_error_rate: 0.2", stage: "max_error_rate: 0.3"},
		{name: "stage beats flag", stage: "max_error_rate: 0.1", args: []string{"--max-error-rate", "0.9"}, fail: "max error rate 10.0%"},
		{name: "--set beats the stage", stage: "max_error_rate: 0.3", args: []string{"--set", "read.max_error_rate=0.2"}, fail: "max error rate 20.0%"},
		{name: "no limit", settings: "max_error_rate: 0.2", stage: "max_error_rate: 0"},
		{name: "bad settings value", settings: "max_error_rate: 2", fail: `key "settings.max_error_rate": want a number from 0 to 1, got "2"`},
		{name: "bad stage value", stage: "max_error_rate: lots", fail: `key "max_error_rate": want a number from 0 to 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"in/a.csv": "id,group,value\n1,g1,0.5\n", "in/b.csv": "id,group,value\n2,g2,oops\n",
				"in/c.csv": "id,group,value\n3,g3,1.5\n", "in/d.csv": "id,group,value\n4,g4,2.5\n",
			})
			stage := ""
			if tc.stage != "" {
				stage = ", " + tc.stage
			}
			cfg := writeConfig(t, dir, `
settings: {work: DIR/work`+map[bool]string{true: ", " + tc.settings}[tc.settings != ""]+`}
variants:
  q:
    stages:
      - {name: read, kind: files.read`+stage+`, params: {uri: DIR/in, columns: ["id:int64", "group:utf8", "value:float64"], on_error: quarantine}}
      - {name: out, kind: files.write, inputs: [read], params: {uri: DIR/out}}
`)
			t.Setenv("MEDFLOW_MAX_ERROR_RATE", tc.env)
			code, _, errs := medflow(t, append([]string{"run", "q", "--config", cfg, "--no-progress"}, tc.args...)...)
			_, statErr := os.Stat(filepath.Join(dir, "out", "_manifest.json"))
			switch {
			case tc.fail == "" && code != 0:
				t.Fatalf("exit %d\n%s", code, errs)
			case tc.fail != "" && (code != 1 || !strings.Contains(errs, tc.fail)):
				t.Fatalf("exit %d, want 1 and %q in\n%s", code, tc.fail, errs)
			case tc.fail != "" && !os.IsNotExist(statErr):
				t.Fatalf("a failed run committed its output (%v)", statErr)
			}
		})
	}
}

// TestTypoDoesNotEmptyOutput: a --set typo in report.sections' select
// (one section name "findings impression" instead of two) quarantines
// every report; the run fails naming the stage, and the dataset a good
// run wrote before is left as it was.
func TestTypoDoesNotEmptyOutput(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, `
settings: {work: DIR/work, log: {level: warn}}
variants:
  reports:
    stages:
      - {name: index, kind: mimic.index, params: {root: DIR/mimic}}
      - {name: sections, kind: report.sections, inputs: [index], materialize: true, params: {root: DIR/mimic}}
      - {name: out, kind: files.write, inputs: [sections], params: {uri: DIR/out/reports}}
`)
	if code, _, errs := medflow(t, "synth", "--config", cfg, "--out", filepath.Join(dir, "mimic"), "--studies", "41",
		"--size", "64x64", "--corrupt-fraction", "0", "--seed", "7"); code != 0 {
		t.Fatalf("synth: %s", errs)
	}
	if code, _, errs := medflow(t, "run", "reports", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatalf("good run: exit %d\n%s", code, errs)
	}
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows, digest := countRows(t, store, "out/reports"), datasetDigest(t, store, "out/reports")
	if rows == 0 {
		t.Fatal("the good run wrote no rows")
	}
	// A stage that quarantined every record fails the run whatever the
	// error budget (the default 50% would catch it too).
	// "findings impression" is refused when the run is planned; a section
	// no report has is caught when the stage quarantines every record.
	for _, tc := range []struct{ sel, rate, want string }{
		{"[findings impression]", "0.5", `two section names in one; join sections with + ("findings+impression")`},
		{"[addendum]", "0.5", "every record was quarantined"},
		{"[addendum]", "0", "every record was quarantined"},
	} {
		sel := tc.sel
		code, _, errs := medflow(t, "run", "reports", "--config", cfg, "--no-progress", "--set", "sections.select="+sel, "--max-error-rate", tc.rate)
		if code == 0 || !strings.Contains(errs, `stage "sections"`) || !strings.Contains(errs, tc.want) {
			t.Errorf("select %s, max error rate %s: exit %d, want a failure naming stage sections and %q:\n%s", sel, tc.rate, code, tc.want, errs)
		}
		if got, gotDigest := countRows(t, store, "out/reports"), datasetDigest(t, store, "out/reports"); got != rows || gotDigest != digest {
			t.Errorf("select %s: the dataset has %d rows (digest %s), the good run wrote %d (%s)", sel, got, gotDigest, rows, digest)
		}
	}
	// The failed runs committed nothing: a good run now is unchanged.
	if code, _, errs := medflow(t, "run", "reports", "--config", cfg, "--no-progress"); code != 0 {
		t.Fatalf("good rerun: exit %d\n%s", code, errs)
	}
	if got := countRows(t, store, "out/reports"); got != rows {
		t.Errorf("good rerun: %d rows, want %d", got, rows)
	}
}
