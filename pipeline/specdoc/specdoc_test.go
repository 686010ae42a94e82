package specdoc_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/specdoc"
)

func registry(t *testing.T) []*pipeline.Definition {
	t.Helper()
	r := pipeline.NewRegistry()
	err := r.Register(pipeline.Definition{Kind: "demo.kind", Role: pipeline.RoleTransform, Doc: "a demo kind",
		Params: []pipeline.Param{
			{Name: "mode", Type: pipeline.String, Default: "fast", Doc: "how it runs",
				Options: []pipeline.Option{{Value: "fast", Doc: "quick"}, {Value: "exact", Doc: "slow but exact"}}},
			{Name: "ratio", Type: pipeline.Float, Default: 0.5, Range: "(0,1)", Doc: "a fraction"},
			{Name: "names", Type: pipeline.List, Elem: pipeline.String, NonEmpty: true, Required: true, Doc: "some names"},
		},
		New: func(*pipeline.BuildContext) (pipeline.Stage, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return r.Kinds()
}

func TestTextAndMarkdown(t *testing.T) {
	var text, md strings.Builder
	if err := specdoc.Text(&text, registry(t)); err != nil {
		t.Fatal(err)
	}
	if err := specdoc.Markdown(&md, registry(t)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		out  string
		want []string
	}{
		{text.String(), []string{"demo.kind (transform, 1 input): a demo kind", "names", "list of string", "required",
			"a fraction [in (0, 1)]", "exact: slow but exact"}},
		{md.String(), []string{"## demo.kind", "| `ratio` | number | `0.5` | in (0, 1) | a fraction |",
			"<br>`exact`: slow but exact", "| `names` | list of string | required | items not empty | some names |"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.out, w) {
				t.Errorf("output lacks %q:\n%s", w, tc.out)
			}
		}
	}
}

func TestJSONSchemaKeywords(t *testing.T) {
	b, err := specdoc.JSONSchema(registry(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, w := range []string{`"exclusiveMinimum": 0`, `"exclusiveMaximum": 1`, `"enum": [`, `"minItems": 1`,
		`"const": "demo.kind"`, `"required": [`, `"additionalProperties": false`} {
		if !strings.Contains(s, w) {
			t.Errorf("schema lacks %s", w)
		}
	}
	if testing.Verbose() {
		os.Stdout.Write(b)
	}
}
