package eval

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/metrics"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/plots"
)

// Labels is eval.labels.
type Labels struct{ common }

func newLabels(b *pipeline.BuildContext) (*Labels, error) {
	c, err := newCommon(b)
	if err != nil {
		return nil, err
	}
	return &Labels{c}, nil
}

func (x *Labels) Schema() *arrow.Schema { return LabelsSchema }

func (x *Labels) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	st, err := readStudies(ctx, in[0], x.build.Quarantine)
	if err != nil {
		return err
	}
	res, err := metrics.Evaluate(st.table, x.options())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	mem, arts := x.build.Alloc, x.build.Artifacts
	bld := array.NewRecordBuilder(mem, LabelsSchema)
	defer bld.Release()
	for _, l := range res.Labels {
		row(bld, x.model, l.Label, l.Studies, l.Positives, l.Prevalence, l.AUC, l.AP, l.Confusion.Accuracy(),
			l.Confusion.F1(), x.threshold, l.Status == metrics.OK, string(l.Status))
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	if err := putTable(ctx, arts, LabelsTable, rec, mem); err != nil {
		return err
	}
	if err := x.putPredictions(ctx, st); err != nil {
		return err
	}
	var curves []plots.Series
	for _, l := range res.Labels {
		if l.Status != metrics.OK {
			continue
		}
		fpr, tpr, _, err := l.Ranking.ROC()
		if err != nil {
			return fmt.Errorf("ROC of %q: %w", l.Label, err)
		}
		curves = append(curves, plots.Series{Name: fmt.Sprintf("%s (%.3f)", l.Label, l.AUC), X: fpr, Y: tpr})
	}
	if len(curves) > 0 {
		f, err := plots.ROC(fmt.Sprintf("ROC per label: %s (%d studies)", x.model, len(st.ids)), curves)
		if err != nil {
			return err
		}
		if err := putFigure(ctx, arts, ROCPlot, f); err != nil {
			return err
		}
	}
	rec.Retain()
	return out.Emit(ctx, rec)
}

// putPredictions stores the per-study long table: one row per study and
// label.
func (x *Labels) putPredictions(ctx context.Context, st *studies) error {
	bld := array.NewRecordBuilder(x.build.Alloc, predictionsSchema)
	defer bld.Release()
	t, L := st.table, len(st.table.Labels)
	bld.Reserve(len(t.Probs))
	models := bld.Field(0).(*array.StringBuilder)
	ids := bld.Field(1).(*array.Int64Builder)
	names := bld.Field(2).(*array.StringBuilder)
	probs := bld.Field(3).(*array.Float64Builder)
	for i, id := range st.ids {
		for l, name := range t.Labels {
			models.Append(x.model)
			ids.Append(id)
			names.Append(name)
			probs.Append(t.Probs[i*L+l])
		}
	}
	bld.Field(4).(*array.Uint8Builder).AppendValues(t.Truth, nil)
	bld.Field(5).(*array.Uint8Builder).AppendValues(t.Mask, nil)
	rec := bld.NewRecordBatch()
	defer rec.Release()
	return putTable(ctx, x.build.Artifacts, PredictionsTable, rec, x.build.Alloc)
}
