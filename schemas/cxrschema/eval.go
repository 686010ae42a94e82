package cxrschema

// The evaluation stages (package stages/eval) and the artifacts each
// stores, named here so that readers of a run (package report) need not
// import a stage package. Each table is stored as <name>.arrow (Arrow IPC
// file) and <name>.parquet, each plot as <name>.png and <name>.svg.
const (
	EvalLabelsKind  = "eval.labels"
	EvalSummaryKind = "eval.summary"
	EvalCompareKind = "eval.compare"

	LabelsTable      = "labels"
	SummaryTable     = "summary"
	CompareTable     = "compare"
	PredictionsTable = "predictions"
	ROCPlot          = "roc"
	AUCBarsPlot      = "auc_bars"
)
