package pipeline_test

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/columns"
	"github.com/medflow/medflow/stages/gen"
)

var _ pipeline.Cache = (*dataset.Cache)(nil)

// run plans gen -> scale (materialized) -> out with the given scale factor,
// resolves it against a dataset cache in dir and runs it.
func runCached(t *testing.T, dir string, factor float64, force ...string) (*pt.Result, *pipeline.Plan) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg := pipeline.NewRegistry()
	for _, f := range []func(*pipeline.Registry) error{gen.Register, columns.Register} {
		if err := f(reg); err != nil {
			t.Fatal(err)
		}
	}
	res := &pt.Result{}
	pt.Register(reg, res)
	scale := pt.Stage("scale", "col.scale", []string{"gen"}, map[string]any{"column": "value", "factor": factor})
	scale.Materialize = true
	plan, err := reg.Plan(pipeline.Spec{Variant: "c", Stages: []pipeline.StageSpec{
		pt.Stage("gen", "gen.rows", nil, map[string]any{"rows": 5000, "batch_rows": 1000}),
		scale,
		pt.Stage("out", "test.collect", []string{"scale"}, nil),
	}}, pipeline.PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Resolve(context.Background(), dataset.NewCache(store, "cache", mem), force); err != nil {
		t.Fatal(err)
	}
	res.Run = plan.NewRun(pipeline.RunOptions{})
	if err := res.Run.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	return res, plan
}

func decisions(p *pipeline.Plan) []string {
	var out []string
	for _, n := range p.Nodes {
		out = append(out, n.Decision.String())
	}
	return out
}

func TestMaterializeAndReuse(t *testing.T) {
	dir := t.TempDir()
	first, p1 := runCached(t, dir, 2)
	if got := decisions(p1); !slices.Equal(got, []string{"compute", "compute", "compute"}) {
		t.Fatalf("cold run: %v", got)
	}
	second, p2 := runCached(t, dir, 2)
	if got := decisions(p2); !slices.Equal(got, []string{"skip", "reuse", "compute"}) {
		t.Fatalf("warm run: %v", got)
	}
	if !slices.Equal(first.Column("out", "value"), second.Column("out", "value")) || second.Rows("out") != 5000 {
		t.Fatal("reused output differs from the computed one")
	}
	st := second.Run.Stats()
	if st[0].State != pipeline.Skipped || st[0].RowsOut != 0 || st[1].State != pipeline.Reused || st[1].RowsOut != 5000 {
		t.Fatalf("warm stats: %+v %+v", st[0], st[1])
	}
	if _, p := runCached(t, dir, 3); !slices.Equal(decisions(p), []string{"compute", "compute", "compute"}) {
		t.Fatalf("changed param: %v", decisions(p))
	}
	if _, p := runCached(t, dir, 2, "gen"); !slices.Equal(decisions(p), []string{"compute", "compute", "compute"}) {
		t.Fatalf("forced upstream: %v", decisions(p))
	}
	if _, p := runCached(t, dir, 3); !slices.Equal(decisions(p), []string{"skip", "reuse", "compute"}) {
		t.Fatalf("both outputs kept: %v", decisions(p))
	}
}
