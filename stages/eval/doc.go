// Package eval holds the evaluation stages of medflow: thin adapters from
// the predictions table (cxrschema.Predictions) to package metrics, emitting
// the results as Arrow tables and storing them, with plots, as the stage's
// artifacts.
//
// Kinds (all barriers):
//
//   - eval.labels: one row per label (LabelsSchema): studies with the label
//     known, positives, prevalence, AUC, average precision, accuracy and F1
//     at the threshold, whether it is in the mean AUC and why not.
//     Artifacts: labels.arrow, labels.parquet, predictions.arrow and
//     predictions.parquet (long: study_id, label, probability, truth,
//     mask), roc.png and roc.svg.
//   - eval.summary: one row (SummarySchema): mean AUC and exact-match
//     accuracy with bootstrap intervals, the all-negative and
//     prevalence-only baselines beside them, and the per-label AUCs (so a
//     comparison can draw them). Artifacts: summary.arrow, summary.parquet.
//   - eval.compare: two or more summaries in, the poster's Table 1 out
//     (CompareSchema): one row per model plus the baseline rows.
//     Artifacts: compare.arrow, compare.parquet, auc_bars.png, auc_bars.svg.
//
// Rules, also stored in each table's schema metadata (keys "medflow.eval.*"):
// rows are images and are evaluated per study, a study's probability for a
// label being the mean over its images; its labels and mask must be the
// same on all its images, else the study is quarantined and left out; an
// image with a NaN probability is quarantined and left out. Masked labels
// (label_mask 0) take part in no metric. A probability strictly above the
// threshold is a positive prediction. Labels with no positives or no
// negatives have no AUC (null) and are left out of the mean.
//
// Not implemented: evaluation per image, per split or per view (filter
// upstream), calibration, thresholds tuned per label, DeLong tests between
// models.
package eval
