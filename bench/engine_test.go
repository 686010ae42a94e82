package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/stages/columns"
	"github.com/medflow/medflow/stages/gen"
)

const (
	chainRows  = 10_000_000
	chainBatch = 65536
)

// chainOps are the five cheap transforms of the overhead benchmark, as
// (factor, offset) of col.scale on "value".
var chainOps = [5][2]float64{{1.01, 0}, {0.99, 0}, {1, 1}, {1, -1}, {2, 0}}

func chainSpec() pipeline.Spec {
	st := []pipeline.StageSpec{{Name: "gen", Kind: "gen.rows", Params: map[string]any{"rows": chainRows, "batch_rows": chainBatch}}}
	prev := "gen"
	for i, op := range chainOps {
		name := fmt.Sprintf("t%d", i+1)
		st = append(st, pipeline.StageSpec{Name: name, Kind: "col.scale", Inputs: []string{prev},
			Params: map[string]any{"column": "value", "factor": op[0], "offset": op[1]}})
		prev = name
	}
	st = append(st, pipeline.StageSpec{Name: "out", Kind: "discard", Inputs: []string{prev}})
	return pipeline.Spec{Variant: "bench-chain", Stages: st}
}

// BenchmarkChain: 10M rows through 5 col.scale stages, the engine vs the
// same kernels called in one hand-written loop over the same batches.
func BenchmarkChain(b *testing.B) {
	reg := pipeline.NewRegistry()
	for _, f := range []func(*pipeline.Registry) error{gen.Register, gen.RegisterDiscard, columns.Register} {
		if err := f(reg); err != nil {
			b.Fatal(err)
		}
	}
	for _, procs := range []int{runtime.GOMAXPROCS(0), 1} {
		b.Run(fmt.Sprintf("procs=%d/medflow", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			plan, err := reg.Plan(chainSpec(), pipeline.PlanOptions{Alloc: memory.NewGoAllocator()})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(chainRows * 24)
			for b.Loop() {
				if err := plan.NewRun(pipeline.RunOptions{}).Execute(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(chainRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(fmt.Sprintf("procs=%d/reference", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			mem := memory.NewGoAllocator()
			src := &gen.Rows{Rows: chainRows, BatchRows: chainBatch, Groups: 16, Seed: 1, Alloc: mem}
			b.SetBytes(chainRows * 24)
			for b.Loop() {
				if err := src.Produce(context.Background(), loop{mem}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(chainRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// loop applies the five kernels to each batch in turn, without the engine.
type loop struct{ mem memory.Allocator }

func (l loop) Emit(_ context.Context, rec arrow.RecordBatch) error {
	for _, op := range chainOps {
		res := columns.Scale(l.mem, rec.Column(2), op[0], op[1])
		cols := append([]arrow.Array(nil), rec.Columns()...)
		cols[2] = res
		next := array.NewRecordBatch(schemas.Demo, cols, rec.NumRows())
		res.Release()
		rec.Release()
		rec = next
	}
	rec.Release()
	return nil
}
