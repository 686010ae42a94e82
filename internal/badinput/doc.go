// Package badinput is medflow's bad-input suite (issue 9): Go tests that
// write a small valid phantom MIMIC-CXR dataset once (package synth), then,
// per case, copy it, apply one mutation (a corrupt or truncated JPEG, a
// header claiming 60000x60000, a PNG named .jpg, a zero-byte file, images
// whose size disagrees with the metadata, CSVs with missing or extra
// columns, quoted newlines, a BOM, the wrong delimiter, unknown label or
// split values, duplicate dicom ids, reports with no sections or only an
// addendum, invalid UTF-8, a 1 MB report, studies with no images, images
// with no study, keys with "..", unicode and spaces, a tokenizer model that
// is not a protobuf) and run the flagship front end
//
//	mimic.index ─┬─> image.decode
//	             └─> report.sections ─> text.tokenize
//
// through the stage registry with a checked allocator (TestBadInputs).
// TestBadModels adds text.embed after text.tokenize with a junk, an empty
// and a wrong-input ONNX model (built with onnx/graph); it needs the ONNX
// Runtime library and skips loudly without it (fails with
// MEDFLOW_REQUIRE_ORT=1). TestBadConfigs runs bad pipelines files (an
// extends cycle, a stage DAG cycle, a self-referencing YAML alias,
// duplicate stage or variant names, unknown keys, wrong types, unknown
// params and kinds, ...) through config.Parse, File.Variant and
// Registry.Plan. Each case states its outcome: the exact quarantine
// entries (stage, key naming the file or record, reason) plus the exact
// good rows still out of each branch, by image key (the clean dataset's
// rows minus those the case breaks), or a run or plan error whose text
// names the file and the key, line or column.
// Each test logs a kind -> outcome table (go test -v).
//
// The non-test helpers (CopyTree, EditCSV, SetJPEGSize) build the
// mutations; they are exported for other suites.
//
// Not implemented: image.embed model cases, DICOM inputs, S3-backed
// inputs (the S3 connector's own tests and cmd/medflow's secrets test
// cover S3), and mutations of the negbio table (the pipeline reads the
// chexpert one).
package badinput
