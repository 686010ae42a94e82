// Package layering holds no code: its test pins the import rules between
// medflow's layers (see layering_test.go). The engine (pipeline) and the
// trainer (train) know nothing of chest X-rays, storage or stages; the
// trainer and the model-side and domain packages (nn, metrics, tokenizer,
// mimic, imaging, plots, ...) are free of Arrow and the engine; the report
// imports no stage package; and no package linked into the CLI imports
// "testing".
package layering
