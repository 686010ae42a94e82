package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/internal/bufpool"
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
// same kernels called in one hand-written loop over the same batches. Each
// iteration runs both, alternating which goes first, so machine noise hits
// both alike; it reports each one's time and their ratio
// (medflow/reference: 1.03 means the engine is 3% slower). With the
// default GOGC the loop, whose live heap is smaller, pays for many more GC
// cycles; `make bench` also runs it with GOGC=400 to see the engine's own
// overhead.
func BenchmarkChain(b *testing.B) {
	reg := pipeline.NewRegistry()
	for _, f := range []func(*pipeline.Registry) error{gen.Register, gen.RegisterDiscard, columns.Register} {
		if err := f(reg); err != nil {
			b.Fatal(err)
		}
	}
	allocators := map[string]func() memory.Allocator{
		"go":   func() memory.Allocator { return memory.NewGoAllocator() },
		"pool": func() memory.Allocator { return bufpool.New(false) },
	}
	for _, procs := range []int{runtime.GOMAXPROCS(0), 1} {
		for _, alloc := range []string{"go", "pool"} {
			gogc := cmp.Or(os.Getenv("GOGC"), "100")
			b.Run(fmt.Sprintf("procs=%d/alloc=%s/gogc=%s", procs, alloc, gogc), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				mem := allocators[alloc]()
				plan, err := reg.Plan(chainSpec(), pipeline.PlanOptions{Alloc: mem})
				if err != nil {
					b.Fatal(err)
				}
				src := &gen.Rows{Rows: chainRows, BatchRows: chainBatch, Groups: 16, Seed: 1, Alloc: mem}
				engine := func() error { return plan.NewRun(pipeline.RunOptions{}).Execute(context.Background()) }
				reference := func() error { return src.Produce(context.Background(), loop{mem}) }
				var tEngine, tRef time.Duration
				var ratios []float64
				i := 0
				for b.Loop() {
					var d [2]time.Duration
					for k := range 2 {
						which := (i + k) % 2 // alternate the order
						t0 := time.Now()
						if err := []func() error{engine, reference}[which](); err != nil {
							b.Fatal(err)
						}
						d[which] = time.Since(t0)
					}
					tEngine += d[0]
					tRef += d[1]
					ratios = append(ratios, float64(d[0])/float64(d[1]))
					i++
				}
				n := float64(b.N)
				b.ReportMetric(float64(tEngine.Nanoseconds())/n, "medflow-ns/op")
				b.ReportMetric(float64(tRef.Nanoseconds())/n, "reference-ns/op")
				b.ReportMetric(median(ratios), "medflow/reference")
				b.ReportMetric(chainRows*n/tEngine.Seconds(), "medflow-rows/s")
			})
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
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
