// Package report builds the report of a finished medflow run from its run
// record and its stages' artifacts: report.md (plots as files beside it,
// under plots/) and report.html, self-contained (plots embedded as data:
// URIs, no scripts, no external resources).
//
// It shows the variant and outcome, the DAG (Mermaid source, built from the
// record's stage inputs), per-stage decisions, states, row counts and
// timings, quarantine counts (the total, and per stage when the caller
// knows them), every evaluation table found (eval.labels, eval.summary,
// eval.compare artifacts; eval.compare also as the poster's Table 1), the
// rules stored in those tables' metadata, the training curve of every
// stage that stored one (schemas.CurveArtifact, the poster's Figure 2),
// the ROC curves of eval.labels and the per-label AUC bars of
// eval.compare.
//
// Build reads through interfaces (a runrecord.Record and a function giving
// a stage's pipeline.Artifacts by fingerprint), so it runs without the CLI
// and in tests; `medflow report RUN` is a thin wrapper.
//
// Not implemented: rendering the Mermaid diagram in the HTML (its source
// is shown; rendering needs a script), comparisons across runs (use an
// eval.compare stage), and reports of runs whose artifacts were deleted
// (missing artifacts are listed as notes).
package report
