package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// TestGeneratedDocsUpToDate: stages/KINDS.md and pipelines.schema.json are
// what `medflow kinds` prints now (run `make docs` after changing a param).
func TestGeneratedDocsUpToDate(t *testing.T) {
	for _, tc := range []struct{ format, file string }{
		{"markdown", "../../stages/KINDS.md"},
		{"json-schema", "../../pipelines.schema.json"},
	} {
		code, out, errs := medflow(t, "kinds", "--format", tc.format)
		if code != 0 {
			t.Fatalf("kinds --format %s: exit %d: %s", tc.format, code, errs)
		}
		want, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if out != string(want) {
			t.Errorf("%s is stale: run `make docs`", tc.file)
		}
	}
}

// TestKindsDocumentsEveryParam: every param of every kind has a doc line
// in `medflow kinds` (registration refuses one without), and the
// constraints the engine checks are shown.
func TestKindsDocumentsEveryParam(t *testing.T) {
	code, out, _ := medflow(t, "kinds")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"train.mae (barrier, 1 input)",
		"epochs", "passes over the training rows [>= 1]",
		"mask_ratio", "fraction of patches hidden from the encoder [in (0, 1)]",
		"finetune: the head and the encoder",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("kinds output lacks %q", want)
		}
	}
}

// TestSchemaChecksPipelinesFile: the repository's pipelines.yaml is valid
// under the generated JSON Schema, and the schema refuses what the engine
// refuses (so editors flag it before a run).
func TestSchemaChecksPipelinesFile(t *testing.T) {
	_, out, _ := medflow(t, "kinds", "--format", "json-schema")
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("pipelines.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("pipelines.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(yamlText string) error {
		var v any
		if err := yaml.Unmarshal([]byte(yamlText), &v); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return schema.Validate(inst)
	}
	repo, err := os.ReadFile(filepath.Join("..", "..", "pipelines.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(string(repo)); err != nil {
		t.Fatalf("pipelines.yaml does not match the schema: %v", err)
	}
	for name, bad := range map[string]string{
		"option":      "{variants: {v: {stages: [{name: e, kind: text.embed, params: {model: m, dim: 8, pooling: max}}]}}}",
		"range":       "{variants: {v: {stages: [{name: t, kind: train.mae, params: {epochs: 0}}]}}}",
		"unknown":     "{variants: {v: {stages: [{name: g, kind: gen.rows, params: {rows: 1, rowz: 2}}]}}}",
		"missing":     "{variants: {v: {stages: [{name: g, kind: gen.rows}]}}}",
		"type":        "{variants: {v: {stages: [{name: g, kind: gen.rows, params: {rows: many}}]}}}",
		"kind":        "{variants: {v: {stages: [{name: g, kind: gen.rowz}]}}}",
		"list item":   "{variants: {v: {stages: [{name: s, kind: report.sections, params: {root: r, select: [findings, 3]}}]}}}",
		"stage field": "{variants: {v: {stages: [{name: g, kind: gen.rows, params: {rows: 1}, workres: 2}]}}}",
	} {
		if err := validate(bad); err == nil {
			t.Errorf("%s: schema accepts %s", name, bad)
		}
	}
	if err := validate("{variants: {v: {stages: [{name: g, kind: gen.rows, params: {rows: '${ROWS}'}}]}}}"); err != nil {
		t.Errorf("schema refuses an interpolated value: %v", err)
	}
}
