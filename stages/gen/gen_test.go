package gen_test

import (
	"slices"
	"testing"

	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/gen"
)

func registry(t *testing.T) *pipeline.Registry {
	r := pipeline.NewRegistry()
	if err := gen.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := gen.RegisterDiscard(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func rows(t *testing.T, params map[string]any, shard pipeline.Shard) ([]any, []any, []any) {
	t.Helper()
	res, err := pt.Run(t, registry(t), pipeline.PlanOptions{Shard: shard},
		pt.Stage("g", "gen.rows", nil, params), pt.Stage("out", "test.collect", []string{"g"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	return res.Column("out", "id"), res.Column("out", "group"), res.Column("out", "value")
}

func TestRowsDeterministic(t *testing.T) {
	ids, groups, vals := rows(t, map[string]any{"rows": 1000, "batch_rows": 64, "groups": 4}, pipeline.Shard{})
	if len(ids) != 1000 || ids[0] != int64(0) || ids[999] != int64(999) {
		t.Fatalf("ids %d [%v..%v]", len(ids), ids[0], ids[len(ids)-1])
	}
	seen := map[any]bool{}
	for i, v := range vals {
		if f := v.(float64); f < 0 || f >= 100 {
			t.Fatalf("value %d = %v out of [0,100)", i, f)
		}
		seen[groups[i]] = true
	}
	if len(seen) != 4 {
		t.Fatalf("groups %v", seen)
	}
	// Another batch size gives the same rows.
	_, g2, v2 := rows(t, map[string]any{"rows": 1000, "batch_rows": 333, "groups": 4}, pipeline.Shard{})
	if !slices.Equal(vals, v2) || !slices.Equal(groups, g2) {
		t.Fatal("rows depend on batch size")
	}
	// Three shards partition the rows.
	var union []any
	for i := range 3 {
		ids, _, _ := rows(t, map[string]any{"rows": 1000, "batch_rows": 64, "groups": 4}, pipeline.Shard{Index: i, Count: 3})
		if len(ids) == 0 || len(ids) == 1000 {
			t.Fatalf("shard %d has %d rows", i, len(ids))
		}
		union = append(union, ids...)
	}
	slices.SortFunc(union, func(a, b any) int { return int(a.(int64) - b.(int64)) })
	if !slices.Equal(union, ids) {
		t.Fatal("shards do not partition the rows")
	}
}

func TestRowsParamErrors(t *testing.T) {
	for _, params := range []map[string]any{
		{"rows": -1}, {"rows": 10, "batch_rows": 0}, {"rows": 10, "groups": 0},
	} {
		_, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
			pt.Stage("g", "gen.rows", nil, params), pt.Stage("out", "discard", []string{"g"}, nil))
		if err == nil {
			t.Errorf("%v: planned", params)
		}
	}
}
