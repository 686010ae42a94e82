package config_test

import (
	"reflect"
	"testing"

	"github.com/medflow/medflow/pipeline"
)

const chain = `
variants:
  base:
    description: base pipeline
    stages:
      - name: read
        kind: csv.read
        params:
          uri: ./in
          opts: {sep: ",", header: true, cols: [a, b]}
          drop: me
      - name: scale
        kind: col.scale
        inputs: [read]
        workers: 2
        params: {column: value, factor: 2.5}
  mid:
    extends: base
    stages:
      - name: read
        params:
          uri: ./big
          opts: {header: false, cols: [c]}
          drop: null
      - name: write
        kind: parquet.write
        inputs: [scale]
        params: {uri: ./out}
  top:
    extends: mid
    description: top pipeline
    stages:
      - name: scale
        kind: col.scale2
        workers: 8
        buffer: 16
        inputs: [read]
      - name: extra
        kind: log
        inputs: [write]
`

func TestExtends(t *testing.T) {
	clearEnv(t)
	f := mustParse(t, chain)
	read := pipeline.StageSpec{Name: "read", Kind: "csv.read", Line: 6,
		Params:     map[string]any{"uri": "./in", "opts": map[string]any{"sep": ",", "header": true, "cols": []any{"a", "b"}}, "drop": "me"},
		ParamLines: map[string]int{"uri": 9, "opts": 10, "drop": 11}}
	readMid := pipeline.StageSpec{Name: "read", Kind: "csv.read", Line: 20,
		Params:     map[string]any{"uri": "./big", "opts": map[string]any{"sep": ",", "header": false, "cols": []any{"c"}}},
		ParamLines: map[string]int{"uri": 22, "opts": 23}}
	scale := pipeline.StageSpec{Name: "scale", Kind: "col.scale", Inputs: []string{"read"}, Workers: 2, Line: 12, InputsLine: 14,
		Params: map[string]any{"column": "value", "factor": 2.5}, ParamLines: map[string]int{"column": 16, "factor": 16}}
	write := pipeline.StageSpec{Name: "write", Kind: "parquet.write", Inputs: []string{"scale"}, Line: 25, InputsLine: 27,
		Params: map[string]any{"uri": "./out"}, ParamLines: map[string]int{"uri": 28}}
	scaleTop := pipeline.StageSpec{Name: "scale", Kind: "col.scale2", Inputs: []string{"read"}, Workers: 8, Buffer: 16, Line: 33, InputsLine: 37,
		Params: map[string]any{"column": "value", "factor": 2.5}, ParamLines: map[string]int{"column": 16, "factor": 16}}
	extra := pipeline.StageSpec{Name: "extra", Kind: "log", Inputs: []string{"write"}, Line: 38, InputsLine: 40, Params: map[string]any{}}

	tests := []struct {
		variant string
		want    pipeline.Spec
	}{
		{"base", pipeline.Spec{Variant: "base", Description: "base pipeline", File: file,
			Stages: []pipeline.StageSpec{read, scale}}},
		// one level: params deep-merged, list replaced, null deletes, stage appended,
		// description inherited.
		{"mid", pipeline.Spec{Variant: "mid", Description: "base pipeline", File: file,
			Stages: []pipeline.StageSpec{readMid, scale, write}}},
		// two levels: fields replaced, order kept, append after inherited.
		{"top", pipeline.Spec{Variant: "top", Description: "top pipeline", File: file,
			Stages: []pipeline.StageSpec{readMid, scaleTop, write, extra}}},
	}
	for _, tc := range tests {
		t.Run(tc.variant, func(t *testing.T) {
			got, err := f.Variant(tc.variant, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Variant(%q) =\n%#v\nwant\n%#v", tc.variant, got, tc.want)
			}
		})
	}
}

// The Spec returned by Variant is a copy: mutating it must not affect the
// File or other variants.
func TestVariantIsCopy(t *testing.T) {
	f := mustParse(t, chain)
	a, _ := f.Variant("mid", nil)
	a.Stages[0].Params["opts"].(map[string]any)["sep"] = "|"
	a.Stages[1].Inputs[0] = "x"
	b, _ := f.Variant("mid", nil)
	base, _ := f.Variant("base", nil)
	if b.Stages[0].Params["opts"].(map[string]any)["sep"] != "," || b.Stages[1].Inputs[0] != "read" ||
		base.Stages[0].Params["opts"].(map[string]any)["sep"] != "," {
		t.Errorf("Variant result aliases the File's data")
	}
}
