// Package stages registers every stage kind medflow ships. Each family
// lives in its own subpackage and adds its kinds with a Register function;
// NewRegistry wires them all with the dependencies they need (Deps, an
// object-store opener), so the engine itself never imports a stage:
//
//   - gen: gen.rows, discard (demos and benchmarks)
//   - columns: col.scale, filter.range; aggregate: agg.group_stats;
//     join: join
//   - files: files.read, files.write (CSV, Parquet, Arrow IPC datasets)
//   - mimic: mimic.index, report.sections; image: image.decode;
//     text: text.tokenize (the flagship ingest)
//   - embed: text.embed, image.embed (ONNX Runtime)
//   - train: train.mae, train.contrastive, train.classifier,
//     predict.classify (GoMLX)
//   - eval: eval.labels, eval.summary, eval.compare
//
// What the families share (the Deps type, a lazily opened store) is in
// stagekit. `medflow kinds` lists every kind with its params.
//
// Not implemented: image augmentation, DICOM decoding, streaming
// (larger-than-memory) training datasets; see each family's doc.
package stages
