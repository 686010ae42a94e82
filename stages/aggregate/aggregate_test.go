package aggregate_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/aggregate"
	"github.com/medflow/medflow/stages/gen"
)

func TestGroupStats(t *testing.T) {
	r := pipeline.NewRegistry()
	if err := gen.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := aggregate.Register(r); err != nil {
		t.Fatal(err)
	}
	res, err := pt.Run(t, r, pipeline.PlanOptions{},
		pt.Stage("g", "gen.rows", nil, map[string]any{"rows": 3000, "batch_rows": 700, "groups": 5}),
		pt.Stage("agg", "agg.group_stats", []string{"g"}, map[string]any{"key": "group", "value": "value"}),
		pt.Stage("rows", "test.collect", []string{"g"}, nil),
		pt.Stage("out", "test.collect", []string{"agg"}, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	type acc struct{ n, sum, min, max float64 }
	want := map[string]*acc{}
	groups, vals := res.Column("rows", "group"), res.Column("rows", "value")
	for i := range groups {
		a := want[groups[i].(string)]
		if a == nil {
			a = &acc{min: math.Inf(1), max: math.Inf(-1)}
			want[groups[i].(string)] = a
		}
		v := vals[i].(float64)
		a.n++
		a.sum += v
		a.min, a.max = min(a.min, v), max(a.max, v)
	}
	keys := res.Column("out", "key")
	if len(keys) != 5 || !slices.IsSortedFunc(keys, func(a, b any) int { return strings.Compare(a.(string), b.(string)) }) {
		t.Fatalf("keys %v", keys)
	}
	for i, k := range keys {
		a := want[k.(string)]
		got := []float64{float64(res.Column("out", "count")[i].(int64)), res.Column("out", "sum")[i].(float64),
			res.Column("out", "mean")[i].(float64), res.Column("out", "min")[i].(float64), res.Column("out", "max")[i].(float64)}
		exp := []float64{a.n, a.sum, a.sum / a.n, a.min, a.max}
		for j := range got {
			if math.Abs(got[j]-exp[j]) > 1e-6*math.Max(1, math.Abs(exp[j])) {
				t.Errorf("group %s stat %d: got %v want %v", k, j, got[j], exp[j])
			}
		}
	}
}
