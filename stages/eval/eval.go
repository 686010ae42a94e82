package eval

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/metrics"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
)

// Kinds registered by Register.
const (
	KindLabels  = cxrschema.EvalLabelsKind
	KindSummary = cxrschema.EvalSummaryKind
	KindCompare = cxrschema.EvalCompareKind
)

// Artifact names. Each table is stored as <name>.arrow (Arrow IPC file)
// and <name>.parquet.
const (
	LabelsTable      = cxrschema.LabelsTable
	SummaryTable     = cxrschema.SummaryTable
	CompareTable     = cxrschema.CompareTable
	PredictionsTable = cxrschema.PredictionsTable
	ROCPlot          = cxrschema.ROCPlot     // .png and .svg
	AUCBarsPlot      = cxrschema.AUCBarsPlot // .png and .svg
)

// ErrInput is wrapped by errors about the evaluated data.
var ErrInput = errors.New("eval: bad input")

// Rule texts stored in the schema metadata of the tables.
const (
	RuleStudy     = "rows are images; a study's probability for a label is the mean over its images; its labels and mask must agree on all its images, else the study is quarantined and left out; an image with a NaN probability is quarantined and left out"
	RuleMask      = "label_mask 0: the label is unknown for that study and takes part in no metric"
	RuleThreshold = "a probability strictly above the threshold is a positive prediction (p > 0.5 by default)"
	RuleAUC       = "AUC: Mann-Whitney statistic over the studies where the label is known, ties counted one half; average precision: scikit-learn's definition (tied scores form one threshold)"
	RuleMean      = "a label with no positives or no negatives among its known studies has no AUC (null, status says which) and is left out of the mean AUC"
	RuleExact     = "exact match: the fraction of studies with at least one known label whose every known label is predicted correctly at the threshold"
	RuleBaselines = "all-negative: calls every label negative (a constant score, so its AUC is 0.5 too); prevalence-only: gives every study each label's prevalence on the evaluated studies, a constant, so it calls a label positive for all studies iff its prevalence is above the threshold, and its AUC is 0.5 for every label by the ties rule (mean_auc_prevalence = 0.5)"
	RuleBootstrap = "intervals: percentile bootstrap, resampling studies with replacement; resample r uses the PCG stream (seed, r); the mean AUC of a resample uses the labels with both classes in it; the baselines are fixed before resampling"
)

func metadata(kv ...string) *arrow.Metadata {
	keys, vals := make([]string, 0, len(kv)/2), make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		keys, vals = append(keys, "medflow.eval."+kv[i]), append(vals, kv[i+1])
	}
	md := arrow.NewMetadata(keys, vals)
	return &md
}

func f64(name string) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
}

func i64(name string) arrow.Field { return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64} }

func str(name string) arrow.Field { return arrow.Field{Name: name, Type: arrow.BinaryTypes.String} }

// LabelsSchema is eval.labels' output: one row per label.
var LabelsSchema = arrow.NewSchema([]arrow.Field{
	str("model"), str("label"), i64("n"), i64("positives"), f64("prevalence"), f64("auc"),
	f64("average_precision"), f64("accuracy"), f64("f1"), {Name: "threshold", Type: arrow.PrimitiveTypes.Float64},
	{Name: "in_mean", Type: arrow.FixedWidthTypes.Boolean}, str("status"),
}, metadata("study_rule", RuleStudy, "mask_rule", RuleMask, "threshold_rule", RuleThreshold,
	"auc_rule", RuleAUC, "mean_rule", RuleMean, "status_values", "ok, no positives, no negatives, no studies"))

// SummarySchema is eval.summary's output: one row.
var SummarySchema = arrow.NewSchema([]arrow.Field{
	str("model"), i64("n_studies"), i64("n_scored"), i64("n_images"), i64("labels_in_mean"),
	f64("mean_auc"), f64("mean_auc_ci_low"), f64("mean_auc_ci_high"),
	f64("exact_match"), f64("exact_match_ci_low"), f64("exact_match_ci_high"),
	f64("exact_match_all_negative"), f64("exact_match_all_negative_ci_low"), f64("exact_match_all_negative_ci_high"),
	f64("exact_match_prevalence"), f64("exact_match_prevalence_ci_low"), f64("exact_match_prevalence_ci_high"),
	f64("mean_auc_prevalence"),
	{Name: "threshold", Type: arrow.PrimitiveTypes.Float64}, {Name: "confidence", Type: arrow.PrimitiveTypes.Float64},
	i64("bootstrap"), i64("bootstrap_used"), i64("seed"),
	{Name: "label_names", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "label_auc", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)},
}, metadata("study_rule", RuleStudy, "mask_rule", RuleMask, "threshold_rule", RuleThreshold, "auc_rule", RuleAUC,
	"mean_rule", RuleMean, "exact_match_rule", RuleExact, "baseline_rule", RuleBaselines, "bootstrap_rule", RuleBootstrap,
	"n_scored", "studies with at least one known label (the exact-match denominator)",
	"bootstrap_used", "resamples in which at least one label had both classes (the mean AUC interval uses those)"))

// CompareSchema is eval.compare's output, the poster's Table 1: one row per
// model (role "model") and per distinct trivial baseline (role
// "baseline").
var CompareSchema = arrow.NewSchema([]arrow.Field{
	str("model"), str("role"), i64("n_studies"),
	f64("mean_auc"), f64("mean_auc_ci_low"), f64("mean_auc_ci_high"),
	f64("exact_match"), f64("exact_match_ci_low"), f64("exact_match_ci_high"),
}, metadata("exact_match_rule", RuleExact, "baseline_rule", RuleBaselines, "bootstrap_rule", RuleBootstrap,
	"baseline_rows", "one row per distinct baseline (name, studies, values) found in the inputs; baselines computed on different study sets are named after their model"))

// predictionsSchema is the long predictions artifact; model names the
// evaluated model, so that the files of several arms can be read as one
// table (a glob in DuckDB).
var predictionsSchema = arrow.NewSchema([]arrow.Field{
	str("model"), i64("study_id"), str("label"), {Name: "probability", Type: arrow.PrimitiveTypes.Float64},
	{Name: "truth", Type: arrow.PrimitiveTypes.Uint8}, {Name: "mask", Type: arrow.PrimitiveTypes.Uint8},
}, metadata("study_rule", RuleStudy, "mask_rule", RuleMask))

// Register adds eval.labels, eval.summary and eval.compare to r.
func Register(r *pipeline.Registry) error {
	model := pipeline.Param{Name: "model", Type: pipeline.String, Doc: "name of the evaluated model in the tables (default: the variant)"}
	threshold := pipeline.Param{Name: "threshold", Type: pipeline.Float, Default: 0.5, Range: "[0,1]", Doc: "a probability above it is a positive prediction"}
	for _, d := range []pipeline.Definition{
		{Kind: KindLabels, Role: pipeline.RoleBarrier, Version: "1",
			Doc:    "per-label AUC, average precision, accuracy and F1 of predictions, evaluated per study; ROC plot",
			Params: []pipeline.Param{model, threshold},
			New:    func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newLabels(b) }},
		{Kind: KindSummary, Role: pipeline.RoleBarrier, Version: "1",
			Doc: "mean AUC and exact-match accuracy with bootstrap intervals and trivial baselines",
			Params: []pipeline.Param{model, threshold,
				{Name: "bootstrap", Type: pipeline.Int, Default: 1000, Range: "[0,)", Doc: "bootstrap resamples (0: no intervals)"},
				{Name: "seed", Type: pipeline.Int, Default: 1, Range: "[0,)", Doc: "seed of the resampling"},
				{Name: "confidence", Type: pipeline.Float, Default: 0.95, Range: "(0,1)", Doc: "interval coverage"}},
			New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newSummary(b) }},
		{Kind: KindCompare, Role: pipeline.RoleBarrier, Version: "1", MinInputs: 2, MaxInputs: -1,
			Doc: "Table 1: mean AUC and accuracy of several eval.summary outputs with the trivial baselines; per-label AUC bars",
			New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newCompare(b) }},
	} {
		if err := r.Register(d); err != nil {
			return err
		}
	}
	return nil
}

// common holds what eval.labels and eval.summary share.
type common struct {
	model     string
	threshold float64
	build     *pipeline.BuildContext
}

func newCommon(b *pipeline.BuildContext) (common, error) {
	if err := schemas.Require(b.Inputs[0], predictionFields()...); err != nil {
		return common{}, fmt.Errorf("input: %w", err)
	}
	model := b.Params.String("model")
	if model == "" {
		model = b.Variant
	}
	return common{model: model, threshold: b.Params.Float("threshold"), build: b}, nil
}

// predictionFields are the columns of cxrschema.Predictions that eval reads.
func predictionFields() []arrow.Field {
	var out []arrow.Field
	for _, name := range []string{"study_id", cxrschema.ProbsColumn, cxrschema.LabelsColumn, cxrschema.LabelMaskColumn} {
		out = append(out, cxrschema.Predictions.Field(cxrschema.Predictions.FieldIndices(name)[0]))
	}
	return out
}

// options of a labels or summary evaluation.
func (c common) options() metrics.Options { return metrics.Options{Threshold: c.threshold} }
