package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medflow/medflow/config"
	"github.com/medflow/medflow/pipeline"
)

const file = "pipelines.yaml"

// clearEnv blanks every variable the package reads, so that the caller's
// environment cannot influence a test (empty means unset everywhere).
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{
		"MEDFLOW_SET", "MEDFLOW_WORK", "MEDFLOW_LOG_FORMAT", "MEDFLOW_LOG_LEVEL",
		"MEDFLOW_S3_ENDPOINT", "MEDFLOW_S3_REGION", "MEDFLOW_S3_PATH_STYLE",
		"MEDFLOW_S3_SECURE", "MEDFLOW_S3_INSECURE_SKIP_VERIFY",
		"MEDFLOW_S3_ACCESS_KEY", "MEDFLOW_S3_SECRET_KEY", "MEDFLOW_S3_SESSION_TOKEN",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MEDFLOW_MAX_ERROR_RATE",
	} {
		t.Setenv(k, "")
	}
}

func mustParse(t *testing.T, src string) *config.File {
	t.Helper()
	f, err := config.Parse(file, []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

const demo = `
variants:
  demo:
    description: read CSV, transform
    stages:
      - name: read
        kind: csv.read
        params: {uri: ./data/demo/in, batch_rows: 65536}
      - name: scale
        kind: col.scale
        inputs: [read]
        workers: 2
        buffer: 4
        params: {column: value, factor: 2.5}
`

func TestParseErrors(t *testing.T) {
	// Each case: the error class, and substrings the message must contain
	// (file:line, variant, stage, key, detail).
	tests := []struct {
		name string
		env  map[string]string
		src  string
		is   error
		want []string
	}{
		{"syntax", nil, "variants:\n  demo:\n    stages: [\n", config.ErrSyntax,
			[]string{"pipelines.yaml:", "invalid YAML"}},
		{"syntax line", nil, "variants:\n  demo:\n    description: a: b\n", config.ErrSyntax,
			[]string{"pipelines.yaml:3:", "invalid YAML", "mapping values are not allowed"}},
		{"syntax tab", nil, "variants:\n  demo:\n\t  stages: []\n", config.ErrSyntax,
			[]string{"pipelines.yaml:3:", "invalid YAML", "cannot start any token"}},
		{"top level not a mapping", nil, "- a\n- b\n", config.ErrSyntax,
			[]string{"pipelines.yaml:1:", "top level must be a mapping"}},
		{"multiple documents", nil, "variants: {}\n---\nvariants: {}\n", config.ErrSyntax,
			[]string{"pipelines.yaml:2:", "multiple YAML documents"}},
		{"unknown top key", nil, "varients: {}\n", config.ErrUnknownKey,
			[]string{"pipelines.yaml:1:", `key "varients"`, `did you mean "variants"?`}},
		{"unknown variant key", nil, "variants:\n  demo:\n    stage: []\n    extends: x\n", config.ErrUnknownKey,
			[]string{"pipelines.yaml:3:", `variant "demo"`, `key "stage"`, `did you mean "stages"?`}},
		{"unknown stage key", nil, "variants:\n  demo:\n    stages:\n      - name: scale\n        kind: k\n        inptus: [a]\n", config.ErrUnknownKey,
			[]string{"pipelines.yaml:6:", `variant "demo"`, `stage "scale"`, `key "inptus"`, `did you mean "inputs"?`}},
		{"unknown settings key", nil, "settings:\n  log:\n    formt: json\n", config.ErrUnknownKey,
			[]string{"pipelines.yaml:3:", `key "settings.log.formt"`, `did you mean "format"?`}},
		{"workers not int", nil, "variants:\n  demo:\n    stages:\n      - name: scale\n        kind: k\n        workers: two\n", config.ErrType,
			[]string{`pipelines.yaml:6: variant "demo": stage "scale": key "workers": want an integer, got "two"`}},
		{"buffer float", nil, "variants:\n  demo:\n    stages:\n      - name: s\n        kind: k\n        buffer: 1.5\n", config.ErrType,
			[]string{"pipelines.yaml:6:", `stage "s"`, `key "buffer"`, "want an integer"}},
		{"workers negative", nil, "variants:\n  demo:\n    stages:\n      - name: s\n        kind: k\n        workers: -1\n", config.ErrInvalid,
			[]string{"pipelines.yaml:6:", `stage "s"`, `key "workers"`, ">= 0"}},
		{"inputs mapping", nil, "variants:\n  demo:\n    stages:\n      - name: s\n        kind: k\n        inputs: {a: 1}\n", config.ErrType,
			[]string{"pipelines.yaml:6:", `stage "s"`, `key "inputs"`, "want a list of stage names"}},
		{"params list", nil, "variants:\n  demo:\n    stages:\n      - name: s\n        kind: k\n        params: [1]\n", config.ErrType,
			[]string{"pipelines.yaml:6:", `stage "s"`, `key "params"`, "want a mapping"}},
		{"name list", nil, "variants:\n  demo:\n    stages:\n      - name: [x]\n        kind: k\n", config.ErrType,
			[]string{"pipelines.yaml:4:", `stage "#1"`, `key "name"`, "want a string"}},
		{"stages mapping", nil, "variants:\n  demo:\n    stages: {a: 1}\n", config.ErrType,
			[]string{"pipelines.yaml:3:", `variant "demo"`, `key "stages"`, "want a list of stages"}},
		{"settings bool", nil, "settings:\n  s3:\n    secure: maybe\n", config.ErrType,
			[]string{"pipelines.yaml:3:", `key "settings.s3.secure"`, "want a boolean", `"maybe"`}},
		{"settings log format", nil, "settings:\n  log:\n    format: xml\n", config.ErrInvalid,
			[]string{"pipelines.yaml:3:", `key "settings.log.format"`, "want one of text, json"}},
		{"duplicate stage", nil, "variants:\n  demo:\n    stages:\n      - {name: a, kind: k}\n      - {name: a, kind: k}\n", config.ErrDuplicate,
			[]string{"pipelines.yaml:5:", `variant "demo"`, `stage "a"`, "duplicate stage name", "line 4"}},
		{"duplicate variant", nil, "variants:\n  demo:\n    stages: [{name: a, kind: k}]\n  demo:\n    stages: [{name: a, kind: k}]\n", config.ErrDuplicate,
			[]string{"pipelines.yaml:4:", `variant "demo"`, "duplicate variant name", "line 2"}},
		{"duplicate key", nil, "variants:\n  demo:\n    stages:\n      - name: a\n        kind: k\n        kind: j\n", config.ErrDuplicate,
			[]string{"pipelines.yaml:6:", `stage "a"`, `key "kind"`, "duplicate key"}},
		{"duplicate input", nil, "variants:\n  demo:\n    stages:\n      - {name: a, kind: k}\n      - {name: b, kind: k, inputs: [a, a]}\n", config.ErrDuplicate,
			[]string{"pipelines.yaml:5:", `stage "b"`, `key "inputs"`}},
		{"missing name", nil, "variants:\n  demo:\n    stages:\n      - kind: k\n", config.ErrMissing,
			[]string{"pipelines.yaml:4:", `variant "demo"`, `stage "#1"`, `missing key "name"`}},
		{"missing kind", nil, "variants:\n  demo:\n    stages:\n      - name: a\n", config.ErrMissing,
			[]string{"pipelines.yaml:4:", `variant "demo"`, `stage "a"`, `missing key "kind"`}},
		{"missing kind in child", nil, demo + "  big:\n    extends: demo\n    stages:\n      - name: extra\n", config.ErrMissing,
			[]string{"pipelines.yaml:18:", `variant "big"`, `stage "extra"`, `missing key "kind"`, `"demo"`}},
		{"empty variant", nil, "variants:\n  demo:\n", config.ErrMissing,
			[]string{"pipelines.yaml:2:", `variant "demo"`, `missing key "stages"`}},
		{"missing stages", nil, "variants:\n  demo:\n    description: x\n", config.ErrMissing,
			[]string{"pipelines.yaml:2:", `variant "demo"`, `missing key "stages"`}},
		{"extends unknown", nil, demo + "  big:\n    extends: dmo\n", config.ErrExtends,
			[]string{"pipelines.yaml:16:", `variant "big"`, `key "extends"`, `unknown variant "dmo"`, `did you mean "demo"?`}},
		{"extends self", nil, "variants:\n  a:\n    extends: a\n", config.ErrExtends,
			[]string{"pipelines.yaml:3:", `variant "a"`, "extends cycle: a -> a"}},
		{"extends cycle", nil, "variants:\n  a: {extends: b}\n  b: {extends: c}\n  c: {extends: a}\n", config.ErrExtends,
			[]string{"pipelines.yaml:4:", `variant "c"`, "extends cycle: a -> b -> c -> a"}},
		{"env unset", nil, "variants:\n  demo:\n    stages:\n      - name: read\n        kind: k\n        params: {uri: \"${MEDFLOW_TEST_UNSET}/x\"}\n", config.ErrEnv,
			[]string{"pipelines.yaml:6:", `variant "demo"`, `stage "read"`, `key "params.uri"`, "${MEDFLOW_TEST_UNSET} is not set"}},
		{"env malformed", nil, "settings:\n  work: ${1X}\n", config.ErrEnv,
			[]string{"pipelines.yaml:2:", `key "settings.work"`, "invalid variable reference"}},
		{"env unterminated", nil, "settings:\n  work: ${X\n", config.ErrEnv,
			[]string{"pipelines.yaml:2:", "unterminated"}},
		{"env type", map[string]string{"MEDFLOW_TEST_W": "lots"}, "variants:\n  demo:\n    stages:\n      - name: s\n        kind: k\n        workers: ${MEDFLOW_TEST_W}\n", config.ErrType,
			[]string{"pipelines.yaml:6:", `stage "s"`, `key "workers"`, "got value of ${MEDFLOW_TEST_W}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("MEDFLOW_TEST_UNSET", "")
			os.Unsetenv("MEDFLOW_TEST_UNSET")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			f, err := config.Parse(file, []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want %v", tc.is)
			}
			if f != nil {
				t.Errorf("Parse returned a File with an error")
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(err, %v) = false; err:\n%v", tc.is, err)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("error is not a *config.Error: %T", err)
			}
			// The matching line must contain all substrings.
			var hit bool
			for line := range strings.SplitSeq(err.Error(), "\n") {
				ok := true
				for _, w := range tc.want {
					ok = ok && strings.Contains(line, w)
				}
				hit = hit || ok
			}
			if !hit {
				t.Errorf("no error line contains all of %q; got:\n%v", tc.want, err)
			}
		})
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	src := `
varients: {}
settings:
  log: {level: loud}
variants:
  demo:
    stages:
      - name: a
        kind: k
        workers: two
        inptus: [b]
      - name: a
        kind: k
  child:
    extends: nope
`
	_, err := config.Parse(file, []byte(src))
	for _, class := range []error{config.ErrUnknownKey, config.ErrInvalid, config.ErrType, config.ErrDuplicate, config.ErrExtends} {
		if !errors.Is(err, class) {
			t.Errorf("missing %v in:\n%v", class, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 6 {
		t.Errorf("got %d errors, want 6:\n%v", n, err)
	}
}

func TestInputsScalar(t *testing.T) {
	f := mustParse(t, "variants:\n  v:\n    stages:\n      - {name: a, kind: k}\n      - {name: b, kind: k, inputs: a}\n      - {name: c, kind: k, inputs: }\n")
	s, err := f.Variant("v", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Stages[1].Inputs; !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("inputs: a = %q, want [a]", got)
	}
	if got := s.Stages[2].Inputs; len(got) != 0 {
		t.Errorf("empty inputs = %q", got)
	}
}

func TestLoad(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	_, err := config.Load(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist naming the path", err)
	}

	path := filepath.Join(dir, "pipelines.yaml")
	if err := os.WriteFile(path, []byte(demo), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := f.Variant("demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.Spec{
		Variant: "demo", Description: "read CSV, transform", File: path,
		Stages: []pipeline.StageSpec{
			{Name: "read", Kind: "csv.read", Params: map[string]any{"uri": "./data/demo/in", "batch_rows": 65536}, Line: 6,
				ParamLines: map[string]int{"uri": 8, "batch_rows": 8}},
			{Name: "scale", Kind: "col.scale", Inputs: []string{"read"}, Workers: 2, Buffer: 4, InputsLine: 11,
				Params: map[string]any{"column": "value", "factor": 2.5}, Line: 9,
				ParamLines: map[string]int{"column": 14, "factor": 14}},
		},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Errorf("Variant =\n%#v\nwant\n%#v", spec, want)
	}
	// Settings with no settings section: defaults.
	s, err := f.Settings(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Work != "./data/work" || s.Log.Format != "text" || s.Log.Level != "info" || !s.S3.Secure || s.S3.Region != "us-east-1" {
		t.Errorf("defaults = %v", s)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "variants:\n", "settings:\nvariants: {}\n"} {
		f, err := config.Parse(file, []byte(src))
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if len(f.Variants()) != 0 {
			t.Errorf("Parse(%q) has variants %q", src, f.Variants())
		}
	}
}

func TestCaseKept(t *testing.T) {
	f := mustParse(t, "variants:\n  MyVariant:\n    stages:\n      - name: ReadCSV\n        kind: csv.read\n        params: {BatchRows: 1, Nested: {InnerKey: x}}\n")
	s, err := f.Variant("MyVariant", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"BatchRows": 1, "Nested": map[string]any{"InnerKey": "x"}}
	if s.Stages[0].Name != "ReadCSV" || !reflect.DeepEqual(s.Stages[0].Params, want) {
		t.Errorf("got %+v", s.Stages[0])
	}
}

func TestParamTypes(t *testing.T) {
	f := mustParse(t, `
variants:
  v:
    stages:
      - name: s
        kind: k
        params:
          s: text
          q: "1"
          b: true
          i: 42
          f: 1.5
          n: null
          l: [1, a, {x: 1}]
          m: {a: {b: 2}}
          t: 2024-01-02
          k: {1: one}
          base: &base {a: 1, b: 2}
          merged: {<<: *base, b: 3}
`)
	s, _ := f.Variant("v", nil)
	want := map[string]any{
		"s": "text", "q": "1", "b": true, "i": 42, "f": 1.5, "n": nil,
		"l":      []any{1, "a", map[string]any{"x": 1}},
		"m":      map[string]any{"a": map[string]any{"b": 2}},
		"t":      "2024-01-02",
		"k":      map[string]any{"1": "one"},
		"base":   map[string]any{"a": 1, "b": 2},
		"merged": map[string]any{"a": 1, "b": 3},
	}
	if got := s.Stages[0].Params; !reflect.DeepEqual(got, want) {
		t.Errorf("params =\n%#v\nwant\n%#v", got, want)
	}
}

func TestVariants(t *testing.T) {
	f := mustParse(t, demo+"  a-first:\n    extends: demo\n  zed:\n    extends: demo\n")
	if got, want := f.Variants(), []string{"a-first", "demo", "zed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Variants() = %q, want %q", got, want)
	}
	_, err := f.Variant("dem", nil)
	if !errors.Is(err, config.ErrUnknownVariant) || !strings.Contains(err.Error(), `did you mean "demo"?`) {
		t.Errorf("Variant(dem) = %v", err)
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "x-l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("variants:\n  v:\n    stages:\n      - name: s\n        kind: k\n        params: {bomb: *l8}\n")
	_, err := config.Parse(file, []byte(b.String()))
	if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "too large") {
		t.Errorf("alias bomb: %v", err)
	}
}

func TestScalarTagErrors(t *testing.T) {
	tests := []struct{ value, want string }{
		{"!!int x", "want an integer"},
		{"!!float x", "want a number"},
		{"!!bool x", "want a boolean"},
		{"!!binary '!!'", "invalid base64"},
		{"!!int 99999999999999999999", "want an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			_, err := config.Parse(file, []byte("variants:\n  v:\n    stages:\n      - name: s\n        kind: k\n        params:\n          p: "+tc.value+"\n"))
			if !errors.Is(err, config.ErrType) || !strings.Contains(err.Error(), tc.want) ||
				!strings.Contains(err.Error(), `pipelines.yaml:7: variant "v": stage "s": key "params.p"`) {
				t.Errorf("got %v, want ErrType %q", err, tc.want)
			}
		})
	}
}

// An alias inside the node it refers to is a cycle: reported where the
// alias is, naming variant, stage and key, without expanding it.
func TestAliasCycle(t *testing.T) {
	for _, tc := range []struct{ name, params, want string }{
		{"map", "&p {rows: 3, again: *p}", `:6: variant "v": stage "s": key "params.again": alias *p refers to a node that contains it`},
		{"list", "{rows: &l [1, [2, *l]]}", `:6: variant "v": stage "s": key "params.rows.1.1": alias *l refers to a node that contains it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(file, []byte("variants:\n  v:\n    stages:\n      - name: s\n        kind: k\n        params: "+tc.params+"\n"))
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant one containing %s", err, tc.want)
			}
		})
	}
}
