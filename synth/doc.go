// Package synth generates a phantom MIMIC-CXR dataset: CheXpert-style
// label vectors with realistic prevalence and co-occurrence (Sampler),
// radiology reports consistent with them (Report), and chest radiograph
// phantoms with a visible sign per positive label (Phantom).
//
// Implemented: labels, reports, phantom images. Not yet: writing the full
// MIMIC-CXR layout (files/pXX/..., the metadata/split/chexpert CSVs, gz,
// corrupt-input injection) and the `medflow synth` command; they build on
// the mimic package's layout helpers.
package synth
