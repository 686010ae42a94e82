package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/metrics"
	"github.com/medflow/medflow/pipeline"
)

// Summary is eval.summary.
type Summary struct {
	common
	bootstrap  int
	seed       int
	confidence float64
}

func newSummary(b *pipeline.BuildContext) (*Summary, error) {
	c, err := newCommon(b)
	if err != nil {
		return nil, err
	}
	s := &Summary{common: c, bootstrap: b.Params.Int("bootstrap"), seed: b.Params.Int("seed"), confidence: b.Params.Float("confidence")}
	return s, nil
}

func (x *Summary) Schema() *arrow.Schema { return SummarySchema }

func (x *Summary) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	st, err := readStudies(ctx, in[0], x.build.Quarantine)
	if err != nil {
		return err
	}
	o := x.options()
	o.Bootstrap, o.Seed, o.Confidence = x.bootstrap, uint64(x.seed), x.confidence
	res, err := metrics.Evaluate(st.table, o)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	s := res.Summary
	names, aucs := make([]string, len(res.Labels)), make([]float64, len(res.Labels))
	for i, l := range res.Labels {
		names[i], aucs[i] = l.Label, l.AUC
	}
	bld := array.NewRecordBuilder(x.build.Alloc, SummarySchema)
	defer bld.Release()
	row(bld, x.model, s.Studies, s.Scored, st.images, s.LabelsInMean,
		s.MeanAUC, s.MeanAUCCI.Low, s.MeanAUCCI.High,
		s.ExactMatch, s.ExactMatchCI.Low, s.ExactMatchCI.High,
		s.AllNegative, s.AllNegativeCI.Low, s.AllNegativeCI.High,
		s.PrevalenceOnly, s.PrevalenceOnlyCI.Low, s.PrevalenceOnlyCI.High,
		s.MeanAUCPrevalence, s.Threshold, s.Confidence, s.Bootstrap, s.BootstrapUsed, x.seed, names, aucs)
	rec := bld.NewRecordBatch()
	defer rec.Release()
	if err := putTable(ctx, x.build.Artifacts, SummaryTable, rec, x.build.Alloc); err != nil {
		return err
	}
	rec.Retain()
	return out.Emit(ctx, rec)
}

// nan is a float64 NaN for absent values.
var nan = math.NaN()
