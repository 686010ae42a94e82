// Package schemas holds the generic Arrow schema helpers medflow's stages
// use to check an input schema at plan time (Require, Column), to add
// columns to one (AppendColumns), to declare one in YAML (ParseColumns)
// and to print one (String) or its values (Value), and the domain-free
// tables: the demo pipeline's rows (Demo), the quarantine table
// (Quarantine), model tables (Checkpoint), training curves (TrainingCurve)
// and the embedding column.
//
// The chest X-ray table contracts (the 14 labels, the MIMIC-CXR index, the
// predictions table, the evaluation tables' names) live in subpackage
// cxrschema, so the engine, which uses this package, knows nothing of
// X-rays. Stages that add columns (image.decode, text.tokenize,
// report.sections, text.embed) derive their output schema from their input;
// the evaluation tables are declared by their stages (package stages/eval).
//
// Not implemented: nested types (lists, structs) in ParseColumns, which
// accepts the flat types TypeNames lists.
package schemas
