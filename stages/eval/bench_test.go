package eval

import (
	"context"
	"iter"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/metrics"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/stages/eval/evaltest"
)

// batches is a Dataset over record batches in memory.
type batches []arrow.RecordBatch

func (d batches) Schema() *arrow.Schema { return cxrschema.Predictions }
func (d batches) NumRows() int64 {
	var n int64
	for _, b := range d {
		n += b.NumRows()
	}
	return n
}
func (d batches) Batches(context.Context) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		for _, b := range d {
			if !yield(b, nil) {
				return
			}
		}
	}
}

type noQuarantine struct{}

func (noQuarantine) Add(_ context.Context, key, reason string) error { return nil }

type discard struct{}

func (discard) Emit(_ context.Context, b arrow.RecordBatch) error { b.Release(); return nil }

// BenchmarkSummaryStage measures eval.summary without resampling on 1M
// prediction rows (about 670k studies of 1 or 2 images, 14 labels): fold
// per study, then metrics. The reference "metrics-only" evaluates the same
// folded table with package metrics alone, measured in the same run.
func BenchmarkSummaryStage(b *testing.B) {
	mem := memory.NewGoAllocator()
	imgs := evaltest.Synth(670_000, 1.5, 9)
	var ds batches
	for start := 0; start < len(imgs); start += 65536 {
		ds = append(ds, evaltest.Batch(mem, imgs[start:min(start+65536, len(imgs))]))
	}
	defer func() {
		for _, r := range ds {
			r.Release()
		}
	}()
	b.Logf("%d prediction rows", ds.NumRows())
	params, errs := pipeline.NewParams([]pipeline.Param{{Name: "threshold", Type: pipeline.Float, Default: 0.5, Doc: "threshold (test param)"},
		{Name: "bootstrap", Type: pipeline.Int, Default: 0, Doc: "bootstrap (test param)"}, {Name: "seed", Type: pipeline.Int, Default: 1, Doc: "seed (test param)"},
		{Name: "confidence", Type: pipeline.Float, Default: 0.95, Doc: "confidence (test param)"}, {Name: "model", Type: pipeline.String, Doc: "model (test param)"}}, nil)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	s, err := newSummary(&pipeline.BuildContext{Variant: "bench", Params: params, Inputs: []*arrow.Schema{cxrschema.Predictions},
		Alloc: mem, Quarantine: noQuarantine{}, Artifacts: pipeline.NewMemArtifacts()})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("eval.summary-1M-rows", func(b *testing.B) {
		for b.Loop() {
			if err := s.Run(context.Background(), []pipeline.Dataset{ds}, discard{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	st, err := readStudies(context.Background(), ds, noQuarantine{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("reference-metrics-only", func(b *testing.B) {
		for b.Loop() {
			if _, err := metrics.Evaluate(st.table, metrics.Options{Threshold: 0.5}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
