// Package stages registers every stage kind medflow ships. Each family
// lives in its own subpackage (gen, columns, aggregate, files, mimic,
// image, text) and adds its kinds with a Register function; NewRegistry
// wires them all with the dependencies they need (an object-store opener),
// so the engine itself never imports a stage.
//
// Implemented: the generic kinds of the demo pipeline (gen, columns,
// aggregate, files) and the ingest half of the flagship pipeline
// (mimic.index, report.sections, image.decode, text.tokenize). Not yet:
// text.embed, train.*, eval.*, which arrive with their issues.
package stages
