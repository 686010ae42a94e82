package badinput_test

import (
	"strings"
	"testing"

	"github.com/medflow/medflow/config"
	"github.com/medflow/medflow/pipeline"
)

// configCases are bad pipelines files: each must fail at parse, variant
// resolution or plan time with an error holding every substring of want
// (the file and line where the YAML has one, and the variant, stage and
// key).
var configCases = []struct {
	kind    string
	yaml    string
	variant string
	want    []string
}{
	{kind: "extends cycle", variant: "a", yaml: `
variants:
  a: {extends: b, stages: [{name: s, kind: gen.rows, params: {rows: 3}}]}
  b: {extends: c}
  c: {extends: a}
`, want: []string{"pipelines.yaml:5", `variant "c"`, `key "extends"`, "cycle: a -> b -> c -> a"}},
	{kind: "stage DAG cycle", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: x, kind: col.scale, inputs: [y], params: {column: value, factor: 2}}
      - {name: y, kind: col.scale, inputs: [x], params: {column: value, factor: 2}}
`, want: []string{`variant "v"`, `stage "x"`, `key "inputs"`, "cycle: x -> y -> x"}},
	{kind: "YAML anchor that contains itself", variant: "v", yaml: `
variants:
  v:
    stages:
      - name: s
        kind: gen.rows
        params: &p {rows: 3, again: *p}
`, want: []string{"pipelines.yaml", "p"}},
	{kind: "duplicate stage names", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: read, kind: gen.rows, params: {rows: 3}}
      - {name: read, kind: gen.rows, params: {rows: 3}}
`, want: []string{"pipelines.yaml:6", `variant "v"`, `"read"`, "duplicate"}},
	{kind: "duplicate variant names", variant: "v", yaml: `
variants:
  v: {stages: [{name: s, kind: gen.rows, params: {rows: 3}}]}
  v: {stages: [{name: t, kind: gen.rows, params: {rows: 3}}]}
`, want: []string{"pipelines.yaml:4", `"v"`}},
	{kind: "unknown stage key (typo)", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: s, kind: gen.rows, param: {rows: 3}}
`, want: []string{"pipelines.yaml:5", `stage "s"`, `"param"`, "params"}},
	{kind: "unknown top-level key", variant: "v", yaml: `
variant:
  v: {stages: [{name: s, kind: gen.rows, params: {rows: 3}}]}
`, want: []string{"pipelines.yaml:2", `"variant"`, "variants"}},
	{kind: "wrong type: workers is a word", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: s, kind: gen.rows, workers: two}
`, want: []string{"pipelines.yaml:5", `stage "s"`, `"workers"`, "integer"}},
	{kind: "wrong type: params is a list", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: s, kind: gen.rows, params: [1, 2]}
`, want: []string{"pipelines.yaml:5", `stage "s"`, `"params"`}},
	{kind: "wrong param type (size: big)", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index, params: {root: /data/mimic}}
      - {name: dec, kind: image.decode, inputs: [ix], params: {path_column: image_key, root: /data/mimic, size: big}}
`, want: []string{`variant "v"`, `stage "dec"`, "size"}},
	{kind: "unknown param (typo)", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index, params: {root: /data/mimic, veiws: [PA]}}
`, want: []string{`variant "v"`, `stage "ix"`, "veiws", "views"}},
	{kind: "missing required param", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index}
`, want: []string{`variant "v"`, `stage "ix"`, "root"}},
	{kind: "unknown stage kind", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.indx, params: {root: /data/mimic}}
`, want: []string{`variant "v"`, `stage "ix"`, "mimic.indx", "mimic.index"}},
	{kind: "unknown input stage", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index, params: {root: /data/mimic}}
      - {name: sec, kind: report.sections, inputs: [idx], params: {root: /data/mimic}}
`, want: []string{`variant "v"`, `stage "sec"`, "idx"}},
	{kind: "input column of the wrong type", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index, params: {root: /data/mimic}}
      - {name: tok, kind: text.tokenize, inputs: [ix], params: {model: /m/tokenizer.model, column: rows}}
`, want: []string{`variant "v"`, `stage "tok"`, "rows"}},
	{kind: "param outside its range (epochs: 0)", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index, params: {root: /data/mimic}}
      - name: mae
        kind: train.mae
        inputs: [ix]
        params:
          epochs: 0
`, want: []string{"pipelines.yaml:10", `stage "mae"`, `key "params.epochs"`, "must be >= 1"}},
	{kind: "param not one of its values (pooling: max)", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index, params: {root: /data/mimic}}
      - {name: tok, kind: text.tokenize, inputs: [ix], params: {model: /m/tokenizer.model, column: report_key}}
      - {name: emb, kind: text.embed, inputs: [tok], params: {model: /m/llama.onnx, dim: 64, pooling: max}}
`, want: []string{"pipelines.yaml:7", `stage "emb"`, `key "params.pooling"`, `"max": want mean, last or bos`}},
	{kind: "two section names without + (select: [findings impression])", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: ix, kind: mimic.index, params: {root: /data/mimic, rows: studies}}
      - {name: sec, kind: report.sections, inputs: [ix], params: {root: /data/mimic, select: [findings impression]}}
`, want: []string{"pipelines.yaml:6", `stage "sec"`, `key "params.select"`, `"findings+impression"`}},
	{kind: "a bad param and an unknown input: both reported", variant: "v", yaml: `
variants:
  v:
    stages:
      - {name: g, kind: gen.rows, params: {rows: 10}}
      - {name: rescale, kind: col.scale, inputs: [g], params: {column: value, factor: lots}}
      - {name: out, kind: discard, inputs: [rescal]}
`, want: []string{"pipelines.yaml:6", `key "params.factor"`, "pipelines.yaml:7", `missing input "rescal" (did you mean "rescale"?)`}},
	{kind: "tab-indented YAML", variant: "v", yaml: "variants:\n  v:\n\tstages: []\n", want: []string{"pipelines.yaml:3"}},
	{kind: "two YAML documents", variant: "v", yaml: "variants: {}\n---\nvariants: {}\n", want: []string{"pipelines.yaml", "document"}},
}

// TestBadConfigs parses, resolves and plans each bad pipelines file with
// the full stage registry.
func TestBadConfigs(t *testing.T) {
	var sum summary
	for _, tc := range configCases {
		t.Run(tc.kind, func(t *testing.T) {
			phase, err := planConfig(t, tc.yaml, tc.variant)
			if err == nil {
				t.Fatalf("planned without error; want one naming %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s error lacks %q:\n%v", phase, w, err)
				}
			}
			sum.add(tc.kind, phase+" error: "+firstLine(err.Error()))
		})
	}
	sum.log(t, "bad-input config cases")
}

// planConfig runs a pipelines file through config.Parse, File.Variant and
// Registry.Plan, returning the phase that failed.
func planConfig(t *testing.T, yaml, variant string) (string, error) {
	f, err := config.Parse("pipelines.yaml", []byte(yaml))
	if err != nil {
		return "parse", err
	}
	spec, err := f.Variant(variant, nil)
	if err != nil {
		return "variant", err
	}
	_, err = registry(t).Plan(spec, pipeline.PlanOptions{Logger: quiet})
	return "plan", err
}
