package eval

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/plots"
	"github.com/medflow/medflow/schemas"
)

// Compare is eval.compare.
type Compare struct {
	build *pipeline.BuildContext
}

// summaryFields are the columns eval.compare reads from each input.
var summaryFields = []string{"model", "n_studies", "mean_auc", "mean_auc_ci_low", "mean_auc_ci_high", "exact_match",
	"exact_match_ci_low", "exact_match_ci_high", "exact_match_all_negative", "exact_match_all_negative_ci_low",
	"exact_match_all_negative_ci_high", "exact_match_prevalence", "exact_match_prevalence_ci_low",
	"exact_match_prevalence_ci_high", "mean_auc_prevalence", "label_names", "label_auc"}

func newCompare(b *pipeline.BuildContext) (*Compare, error) {
	var want []arrow.Field
	for _, name := range summaryFields {
		want = append(want, SummarySchema.Field(SummarySchema.FieldIndices(name)[0]))
	}
	for i, in := range b.Inputs {
		if err := schemas.Require(in, want...); err != nil {
			return nil, fmt.Errorf("input %d (want an %s output): %w", i, KindSummary, err)
		}
	}
	return &Compare{build: b}, nil
}

func (x *Compare) Schema() *arrow.Schema { return CompareSchema }

// summaryRow is one eval.summary row as Go values.
type summaryRow struct {
	model    string
	studies  int64
	v        map[string]float64 // float columns by name, null as NaN
	labels   []string
	labelAUC []float64
}

func readSummaries(ctx context.Context, ds pipeline.Dataset) ([]summaryRow, error) {
	var out []summaryRow
	for b, err := range ds.Batches(ctx) {
		if err != nil {
			return nil, err
		}
		s := b.Schema()
		col := func(name string) arrow.Array { return b.Column(s.FieldIndices(name)[0]) }
		for i := range int(b.NumRows()) {
			// Rows outlive the batch: strings are copied out of its buffers.
			r := summaryRow{model: strings.Clone(col("model").(*array.String).Value(i)), studies: col("n_studies").(*array.Int64).Value(i),
				v: map[string]float64{}}
			for _, name := range summaryFields {
				if f, ok := col(name).(*array.Float64); ok {
					r.v[name] = nan
					if f.IsValid(i) {
						r.v[name] = f.Value(i)
					}
				}
			}
			names := col("label_names").(*array.List)
			start, end := names.ValueOffsets(i)
			for k := start; k < end; k++ {
				r.labels = append(r.labels, strings.Clone(names.ListValues().(*array.String).Value(int(k))))
			}
			aucs := col("label_auc").(*array.List)
			start, end = aucs.ValueOffsets(i)
			av := aucs.ListValues().(*array.Float64)
			for k := start; k < end; k++ {
				v := nan
				if av.IsValid(int(k)) {
					v = av.Value(int(k))
				}
				r.labelAUC = append(r.labelAUC, v)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (x *Compare) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	var rows []summaryRow
	for i, ds := range in {
		r, err := readSummaries(ctx, ds)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		rows = append(rows, r...)
	}
	bld := array.NewRecordBuilder(x.build.Alloc, CompareSchema)
	defer bld.Release()
	for _, r := range rows {
		row(bld, r.model, "model", r.studies, r.v["mean_auc"], r.v["mean_auc_ci_low"], r.v["mean_auc_ci_high"],
			r.v["exact_match"], r.v["exact_match_ci_low"], r.v["exact_match_ci_high"])
	}
	for _, base := range []struct{ name, col string }{{"all-negative", "exact_match_all_negative"}, {"prevalence-only", "exact_match_prevalence"}} {
		// one row per distinct (studies, accuracy); NaN compares by its bits
		type key struct {
			studies int64
			acc     uint64
		}
		var keys []key
		var firsts []summaryRow
		for _, r := range rows {
			if k := (key{r.studies, math.Float64bits(r.v[base.col])}); !slices.Contains(keys, k) {
				keys, firsts = append(keys, k), append(firsts, r)
			}
		}
		for _, r := range firsts {
			name := base.name
			if len(firsts) > 1 {
				name = fmt.Sprintf("%s (%s)", base.name, r.model)
			}
			row(bld, name, "baseline", r.studies, r.v["mean_auc_prevalence"], nan, nan,
				r.v[base.col], r.v[base.col+"_ci_low"], r.v[base.col+"_ci_high"])
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	if err := putTable(ctx, x.build.Artifacts, CompareTable, rec, x.build.Alloc); err != nil {
		return err
	}
	if err := x.putBars(ctx, rows); err != nil {
		return err
	}
	rec.Retain()
	return out.Emit(ctx, rec)
}

// putBars draws the per-label AUC of every model, labels in order of first
// appearance.
func (x *Compare) putBars(ctx context.Context, rows []summaryRow) error {
	var groups []string
	for _, r := range rows {
		for _, l := range r.labels {
			if !slices.Contains(groups, l) {
				groups = append(groups, l)
			}
		}
	}
	var series []plots.BarSeries
	for _, r := range rows {
		vals := make([]float64, len(groups))
		for g, l := range groups {
			vals[g] = nan
			if k := slices.Index(r.labels, l); k >= 0 && k < len(r.labelAUC) {
				vals[g] = r.labelAUC[k]
			}
		}
		series = append(series, plots.BarSeries{Name: fmt.Sprintf("%s (mean %.3f)", r.model, r.v["mean_auc"]), Values: vals})
	}
	if len(groups) == 0 {
		return nil
	}
	f, err := plots.Bars("AUC per label", "AUC", groups, series, 0, 1)
	if err != nil {
		return err
	}
	return putFigure(ctx, x.build.Artifacts, AUCBarsPlot, f)
}
