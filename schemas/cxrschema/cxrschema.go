// Package cxrschema holds the chest X-ray table contracts: the tables
// whose shape depends on the 14 CheXpert/NegBio labels (the MIMIC-CXR index
// rows, the predictions table), the columns report.sections adds and the
// names of the evaluation tables the report reads. The generic schema
// helpers (Require, Column, AppendColumns, ParseColumns) and the
// domain-free tables (model checkpoints, training curves, quarantine) live
// in package schemas, so the engine and the trainer never see these.
package cxrschema

import (
	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/mimic"
)

// LabelNames are the 14 CheXpert/NegBio labels in the order of the labels
// and label_mask columns of MIMICIndex (mimic.LabelNames).
var LabelNames = mimic.LabelNames[:]

// MIMICIndex is the row schema of mimic.index: one row per image.
// labels holds the training targets (0 or 1) and label_mask whether each
// target is used (1) or ignored (0), both in LabelNames order. image_key
// and report_key are relative to the MIMIC-CXR root.
var MIMICIndex = arrow.NewSchema([]arrow.Field{
	{Name: "subject_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "dicom_id", Type: arrow.BinaryTypes.String},
	{Name: "split", Type: arrow.BinaryTypes.String},
	{Name: "view", Type: arrow.BinaryTypes.String},
	{Name: "rows", Type: arrow.PrimitiveTypes.Int32},
	{Name: "columns", Type: arrow.PrimitiveTypes.Int32},
	{Name: "image_key", Type: arrow.BinaryTypes.String},
	{Name: "report_key", Type: arrow.BinaryTypes.String},
	{Name: "labels", Type: arrow.FixedSizeListOfNonNullable(int32(len(LabelNames)), arrow.PrimitiveTypes.Float32)},
	{Name: "label_mask", Type: arrow.FixedSizeListOfNonNullable(int32(len(LabelNames)), arrow.PrimitiveTypes.Uint8)},
}, nil)

// MIMICStudies is mimic.index's output with rows: studies: one row per
// study that has a kept image, images counting them. Reports, tokens and
// report embeddings are per study; pairs join each image to its study.
var MIMICStudies = arrow.NewSchema([]arrow.Field{
	{Name: "subject_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "split", Type: arrow.BinaryTypes.String},
	{Name: "report_key", Type: arrow.BinaryTypes.String},
	{Name: "labels", Type: arrow.FixedSizeListOfNonNullable(int32(len(LabelNames)), arrow.PrimitiveTypes.Float32)},
	{Name: "label_mask", Type: arrow.FixedSizeListOfNonNullable(int32(len(LabelNames)), arrow.PrimitiveTypes.Uint8)},
	{Name: "images", Type: arrow.PrimitiveTypes.Int32},
}, nil)

// Column names added by report.sections.
const (
	ReportTextColumn     = "report_text"
	ReportSectionsColumn = "report_sections"
)

// Prediction columns written by predict.classify: one row per image, the
// index's identifying columns, the 14 predicted probabilities, and the
// ground truth the evaluation needs.
const (
	ProbsColumn     = "probs"
	LabelsColumn    = "labels"
	LabelMaskColumn = "label_mask"
)

// Predictions is the schema predict.classify emits and eval.* consume.
var Predictions = arrow.NewSchema([]arrow.Field{
	{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "dicom_id", Type: arrow.BinaryTypes.String},
	{Name: ProbsColumn, Type: arrow.FixedSizeListOfNonNullable(int32(len(LabelNames)), arrow.PrimitiveTypes.Float32)},
	{Name: LabelsColumn, Type: arrow.FixedSizeListOfNonNullable(int32(len(LabelNames)), arrow.PrimitiveTypes.Float32)},
	{Name: LabelMaskColumn, Type: arrow.FixedSizeListOfNonNullable(int32(len(LabelNames)), arrow.PrimitiveTypes.Uint8)},
}, nil)
