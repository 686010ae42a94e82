// Package metrics computes the classification metrics of the medflow
// evaluation from plain Go slices: no Arrow, no pipeline.
//
// Implemented:
//
//   - Ranking metrics of one label (scores against 0/1 truth), all from one
//     sort of the positive and of the negative scores (a radix sort of the
//     floats' bit patterns for long slices, a comparison sort for short
//     ones) merged into groups of tied scores: ROC AUC as the Mann-Whitney statistic with ties
//     counted half (AUC), average precision as scikit-learn defines it
//     (AP = sum over distinct thresholds of (R_k - R_{k-1}) * P_k, tied
//     scores forming one threshold), and the ROC curve points (ROC).
//   - Threshold metrics: a Confusion at a threshold, where a score counts
//     as positive when it is strictly above the threshold (the poster's
//     "p > 0.5"), with accuracy, precision, recall and F1.
//   - Evaluate: per-label results and the summary of a multi-label study
//     table (n studies x L labels, with a mask of known labels): mean AUC
//     over the labels that have both classes, exact-match accuracy (a study
//     is correct only if every known label is correct), the same accuracy
//     for an all-negative predictor and for a prevalence-only predictor,
//     and percentile bootstrap intervals that resample studies with a
//     seeded generator (each resample has its own stream, so results do
//     not depend on the number of workers). Labels and resamples are
//     computed in parallel (Options.Workers goroutines, all waited for).
//
// Rules (also written into the evaluation tables' metadata by
// stages/eval): a label with no positives or no negatives among its known
// studies has no AUC or AP and is left out of the mean; masked (unknown)
// labels take part in no metric; the prevalence-only predictor gives every
// study a label's prevalence, a constant score, so its AUC is 0.5 for every
// label by the ties rule.
//
// Not implemented: macro/micro averaged precision-recall curves,
// calibration metrics, DeLong variance estimates, stratified bootstrap,
// and sample weights other than the bootstrap's multiplicities.
package metrics
