// Package mimic reads the MIMIC-CXR(-JPG) dataset layout: ids and keys,
// the metadata, split and label CSV tables, their join into an image
// index, and the free-text reports. It has no Arrow or pipeline
// dependency; stages/mimic adapts it to the engine.
//
// # Layout
//
// Images are files/p10/p10000032/s50414267/<dicom_id>.jpg and reports
// files/p10/p10000032/s50414267.txt under the root (ImageKey, ReportKey).
// Subject ids are 8 digits starting with 1, study ids 8 digits starting
// with 5 (ParseSubjectID, ParseStudyID); dicom ids are lower-case hex
// groups joined by '-' (ValidDicomID).
//
// # Tables
//
// MetadataReader, SplitReader and LabelReader stream the three tables,
// plain or gzip (detected by the magic bytes, not the name), with or
// without a UTF-8 BOM. Columns are found by header name, so their order
// does not matter and extra columns are ignored; a missing required column
// is an ErrHeader error. A malformed row (wrong field count, bad quoting,
// bad id, unknown split, a label other than 1.0, 0.0, -1.0 or empty) is
// returned as a *RowError naming file, line and column, and the read goes
// on with the next row. Label cells map to Label (Blank, Negative,
// Positive, Uncertain); Policy turns them into targets and masks:
// uncertain ones, zeros or ignore (per label if wanted), and blank (not
// mentioned) zeros — the default, as CheXpert-style training usually
// treats unmentioned findings as negative — or ignore. Ignore gives
// target 0 with mask 0.
//
// # Index
//
// Build joins images (metadata) to their split by dicom_id and to their
// study's labels by study_id, filters by view (default PA and AP) and
// split, and sorts by subject, study, dicom id. Duplicates, join misses
// and malformed rows become Problems (key and reason, ready for a
// quarantine) rather than errors. The index keeps compact records keyed by
// integer ids: a 40-byte record plus the dicom id string per image (about
// 100 bytes with allocation overhead) and 14 bytes per labelled study
// (37.7 MiB retained for the full 377,110 images). While joining, Build
// also holds a dicom_id -> image map (the split table has no other key)
// and study -> subject/labels maps keyed by uint32; they are dropped
// before it returns (peak RSS of the whole mimic.index stage at full
// scale: about 115 MiB, see stages/mimic's benchmarks). Index.Shard
// splits the entries deterministically by a hash of the study id
// (StudyShard), so all images of a study land in one shard.
//
// # Reports
//
// ParseReport splits a report into an optional "FINAL REPORT" title, a
// preamble, headed sections (header pattern `\n ([A-Z ()/,-]+):\s`) and
// addenda (blocks after a line of underscores). Text is whitespace
// normalized (runs collapse to one space; "___" PHI placeholders stay),
// and invalid UTF-8 bytes are replaced by U+FFFD and counted in
// Report.InvalidUTF8. Selector picks the text: by default findings and
// impression, else the last non-empty section.
//
// # Not implemented
//
// Section-name synonyms (e.g. "CONCLUSION" for impression) and the
// official MIMIC-CXR section parser's per-study custom rules; the
// date/time columns are read but not validated; addenda are returned
// separately and never selected.
package mimic
