// Package schemas holds the Arrow schemas medflow's stages emit and expect,
// and the helpers stages use to check an input schema at plan time
// (Require, Column) and to declare one in YAML (ParseColumns).
//
// Implemented: the generic helpers, the demo pipeline's rows (Demo), the
// quarantine table (Quarantine) and the MIMIC-CXR index rows (MIMICIndex,
// LabelNames). Stages that add columns (image.decode, text.tokenize,
// report.sections) derive their output schema from their input. Not yet:
// embeddings and metrics tables; each arrives with its stages.
package schemas
