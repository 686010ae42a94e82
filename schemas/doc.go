// Package schemas holds the Arrow schemas medflow's stages emit and expect,
// and the helpers stages use to check an input schema at plan time
// (Require, Column) and to declare one in YAML (ParseColumns).
//
// Implemented: the generic helpers and the schemas of the demo pipeline
// (Demo). Not yet: the flagship schemas (MIMIC index rows, image tensors,
// token ids, embeddings, metrics tables); each arrives with its stages.
package schemas
