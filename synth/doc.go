// Package synth generates a phantom MIMIC-CXR(-JPG) dataset to run the
// flagship pipeline on, since the real one is credentialed:
//
//   - Sampler: CheXpert-style label vectors whose positive/uncertain/
//     negative rates are calibrated to CheXpert's, with CheXpert's
//     distribution of positives per study, No Finding exclusive of
//     findings, and parenchymal findings usually with Lung Opacity;
//   - Report: reports in MIMIC-CXR's layout that state, negate or hedge
//     each label consistently with its value, some without FINDINGS or
//     IMPRESSION, a few with an addendum;
//   - Phantom: chest radiograph phantoms (body, lungs, mediastinum, heart,
//     diaphragm, ribs, clavicles, vessel markings, quantum noise; patient
//     size, position, exposure, AP vs PA) with a visible sign per positive
//     label and a faint one per uncertain label. The anatomy is drawn on a
//     grid 4x coarser than the image; strokes thinner than its cells
//     (tubes, leads, vessel markings, the visceral pleural line) are drawn
//     at full resolution. The tone curve rolls off with a shoulder instead
//     of clipping, so tubes and lines stay visible over the heart and
//     mediastinum as on a well-penetrated film;
//   - Write: the whole layout (files/pXX/..., metadata/split/chexpert/
//     negbio tables, gzip by default) with realistic planted faults; with
//     PermuteLabels (`medflow synth --permute-labels`) the label tables
//     carry the label vectors permuted across studies, a control whose
//     labels no image or report supports (a model can only score chance).
//
// Not implemented: lateral views are drawn as frontal phantoms (medflow's
// pipelines use frontal views); co-occurrence beyond the Lung Opacity rule
// is only what the positive-count distribution implies; Go's JPEG encoder
// makes full-size images cost about 0.5 s each per core.
package synth
