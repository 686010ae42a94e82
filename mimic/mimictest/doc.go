// Package mimictest writes small (or full-size) synthetic trees in the
// MIMIC-CXR layout for tests and benchmarks: the metadata, split, CheXpert
// and NegBio CSVs, free-text reports of varied structure and placeholder
// image files. Nothing in it is real patient data; the images are a few
// bytes, not JPEGs.
//
// Generate is deterministic for a Config. Studies get one or two images
// (View), subjects a split (SplitOf), studies CheXpert cells (Labels) and
// a report from five templates (Report); NegBio is the CheXpert table with
// -1.0 written as 0.0. Rows are written in a shuffled study order. Faults
// appends the bad records listed at FaultKeys.
//
// Not implemented: realistic images (package synth and `medflow synth`
// write those), study dates and times.
package mimictest
