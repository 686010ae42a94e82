package columns_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/columns"
	"github.com/medflow/medflow/stages/gen"
)

func registry(t *testing.T) *pipeline.Registry {
	r := pipeline.NewRegistry()
	for _, f := range []func(*pipeline.Registry) error{gen.Register, columns.Register} {
		if err := f(r); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestScaleKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{0, 1, 2, 3, 4}, []bool{true, false, true, true, true})
	a := b.NewInt64Array()
	b.Release()
	sl := array.NewSlice(a, 1, 5) // offset 1: the null comes first
	a.Release()
	defer sl.Release()
	got := columns.Scale(mem, sl, 2, 1)
	defer got.Release()
	if got.Len() != 4 || got.NullN() != 1 || got.IsValid(0) {
		t.Fatalf("nulls not kept: %v", got)
	}
	if v := got.Float64Values()[1:]; !slices.Equal(v, []float64{5, 7, 9}) {
		t.Fatalf("values %v", v)
	}
}

func TestStages(t *testing.T) {
	res, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
		pt.Stage("g", "gen.rows", nil, map[string]any{"rows": 5000, "batch_rows": 512}),
		pt.Stage("f", "filter.range", []string{"g"}, map[string]any{"column": "value", "min": 10, "max": 20}),
		pt.Stage("s", "col.scale", []string{"f"}, map[string]any{"column": "value", "factor": 10, "offset": -100, "output": "v10"}),
		pt.Stage("out", "test.collect", []string{"s"}, nil),
		pt.Stage("all", "test.collect", []string{"g"}, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, v := range res.Column("all", "value") {
		if f := v.(float64); f >= 10 && f <= 20 {
			want++
		}
	}
	if want == 0 || res.Rows("out") != want {
		t.Fatalf("filter kept %d rows, want %d", res.Rows("out"), want)
	}
	vals, scaled := res.Column("out", "value"), res.Column("out", "v10")
	for i := range vals {
		if math.Abs(vals[i].(float64)*10-100-scaled[i].(float64)) > 1e-9 {
			t.Fatalf("row %d: %v -> %v", i, vals[i], scaled[i])
		}
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		kind   string
		params map[string]any
		want   string
	}{
		{"col.scale", map[string]any{"column": "nope"}, `missing column "nope"`},
		{"col.scale", map[string]any{"column": "group"}, `column "group" is utf8, want one of float64, float32, int64, int32`},
		{"filter.range", map[string]any{"column": "value", "min": 3, "max": 2}, `key "params.min": invalid param value: 3 > params.max 2`},
	} {
		_, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
			pt.Stage("g", "gen.rows", nil, map[string]any{"rows": 10}),
			pt.Stage("x", tc.kind, []string{"g"}, tc.params),
			pt.Stage("out", "test.collect", []string{"x"}, nil))
		var pe *pipeline.PlanError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &pe) || pe.Stage != "x" {
			t.Errorf("%s %v: err %v, want %q", tc.kind, tc.params, err, tc.want)
		}
	}
}
