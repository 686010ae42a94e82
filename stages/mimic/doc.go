// Package mimic holds the MIMIC-CXR stages, thin adapters over the mimic
// package (github.com/medflow/medflow/mimic):
//
//   - mimic.index (source): reads mimic-cxr-2.0.0-metadata.csv,
//     -split.csv and -chexpert.csv (or -negbio.csv with labeler: negbio)
//     under root — each as name.csv.gz when present, else name.csv; the
//     compression is detected from the bytes — joins them and emits one
//     row per image in cxrschema.MIMICIndex, sorted by subject, study and
//     dicom id. views (default [PA, AP]; ["all"] for every view) and
//     splits (default all) filter; uncertain (ones, zeros, ignore, or a
//     map label -> policy with a "default" key) and blank (zeros, the
//     default as in CheXpert-style training, or ignore) turn the raw
//     labels into labels (0/1) and label_mask (1 = use, 0 = ignore).
//     Malformed CSV rows (key "file:line"), images with no split or no
//     labels (key: image key) and labelled studies with no image (key:
//     report key) are quarantined; the rest flows.
//     Sharding is by study: study s belongs to shard
//     mimic.StudyShard(s, n) (a hash of the study id), so all images of a
//     study are in one shard and a study keeps its shard when others are
//     added or filtered. Problems tied to a study are quarantined by the
//     study's shard; malformed CSV rows by shard 0 only. Every shard reads
//     the whole CSVs (a few seconds at full scale).
//   - report.sections (transform): reads each row's report (column
//     report_key, relative to root), parses it (mimic.ParseReport) and adds
//     report_text (the text chosen by select, default
//     [findings+impression, last]) and report_sections (the section names
//     found, in order). A missing report, an invalid key or a report with
//     no usable section is quarantined (key: the report key, once per run
//     of consecutive rows sharing it; "<null>" for a null key) and its rows
//     dropped; other read
//     errors stop the run naming the record. Invalid UTF-8 is repaired
//     with U+FFFD and counted in the final log line. Safe with workers >
//     1; rows keep their order.
//
// Not implemented: addenda in report_text (they are split off and
// dropped), section-name synonyms (e.g. treating "CONCLUSION" as
// impression), reading only a shard's rows of the CSVs, the image
// decoding (image.decode) and the study-level join of later stages.
package mimic
