package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/internal/bufpool"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages/aggregate"
	"github.com/medflow/medflow/stages/columns"
	"github.com/medflow/medflow/stages/gen"
)

const (
	barrierRows     = 2_000_000
	barrierReaders  = 3       // barriers reading the same input (the demo's pairs feeds three trainers)
	barrierSpillMiB = 8       // --spill-mib of each barrier input
	barrierBatch    = 1 << 16 // rows per batch
)

// BenchmarkBarrierInput: a cold run of gen.rows (2M rows) -> col.scale ->
// three agg.group_stats barriers, against a dataset cache in a local
// folder, with col.scale materialized or not, 8 MiB of each barrier input
// in memory. A barrier whose input is streamed keeps its own copy (the
// rest of the input in a spill file); one whose input is materialized
// reads the committed cache entry instead. Reports spill-MiB (the spill
// files all barriers wrote, StageStats.Spilled: the temp-dir bytes the
// materialized case saves) and the cold run's seconds (cold-s, median).
func BenchmarkBarrierInput(b *testing.B) {
	reg := pipeline.NewRegistry()
	for _, f := range []func(*pipeline.Registry) error{gen.Register, gen.RegisterDiscard, columns.Register, aggregate.Register} {
		if err := f(reg); err != nil {
			b.Fatal(err)
		}
	}
	for _, materialize := range []bool{false, true} {
		name := map[bool]string{false: "streamed", true: "materialized"}[materialize]
		b.Run("upstream="+name, func(b *testing.B) {
			st := []pipeline.StageSpec{
				{Name: "gen", Kind: "gen.rows", Params: map[string]any{"rows": barrierRows, "batch_rows": barrierBatch}},
				{Name: "scale", Kind: "col.scale", Inputs: []string{"gen"}, Materialize: materialize,
					Params: map[string]any{"column": "value", "factor": 2.0}},
			}
			for i := range barrierReaders {
				agg := fmt.Sprintf("agg%d", i)
				st = append(st,
					pipeline.StageSpec{Name: agg, Kind: "agg.group_stats", Inputs: []string{"scale"},
						Params: map[string]any{"key": "group", "value": "value"}},
					pipeline.StageSpec{Name: agg + "-out", Kind: "discard", Inputs: []string{agg}})
			}
			mem := bufpool.New(false)
			var spilled int64
			var secs []float64
			for b.Loop() {
				plan, err := reg.Plan(pipeline.Spec{Variant: "bench-barrier", Stages: st}, pipeline.PlanOptions{Alloc: mem})
				if err != nil {
					b.Fatal(err)
				}
				store, err := local.New(b.TempDir()) // cold: an empty cache
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := plan.Resolve(context.Background(), dataset.NewCache(store, "cache", mem), nil); err != nil {
					b.Fatal(err)
				}
				run := plan.NewRun(pipeline.RunOptions{SpillDir: b.TempDir(), SpillBytes: barrierSpillMiB << 20})
				if err := run.Execute(context.Background()); err != nil {
					b.Fatal(err)
				}
				secs = append(secs, time.Since(t0).Seconds())
				spilled = 0
				for _, s := range run.Stats() {
					if s.Role == pipeline.RoleBarrier {
						if s.RowsIn != barrierRows {
							b.Fatalf("%s: %d rows in, want %d", s.Stage, s.RowsIn, barrierRows)
						}
						spilled += s.Spilled
					}
				}
			}
			b.ReportMetric(float64(spilled)/(1<<20), "spill-MiB")
			b.ReportMetric(median(secs), "cold-s")
		})
	}
}
