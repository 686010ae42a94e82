package schemas

import "github.com/apache/arrow-go/v18/arrow"

// Model tables: trained models flow between stages as Arrow tables, one row
// per tensor, so they are cached, materialized, fingerprinted and moved to
// S3 like any other dataset.
const (
	// CheckpointModelColumn names the architecture ("vit-mae",
	// "vit-contrastive", "vit-classifier"); the same on every row.
	CheckpointModelColumn = "model"
	// CheckpointConfigColumn holds the architecture's JSON config; the same
	// on every row so any row describes the model.
	CheckpointConfigColumn = "config"
	// CheckpointNameColumn is the tensor's name ("encoder/block0/attn/q").
	CheckpointNameColumn   = "name"
	CheckpointShapeColumn  = "shape"
	CheckpointValuesColumn = "values"
)

// Checkpoint is the schema of a model table: one row per tensor, values
// row-major.
var Checkpoint = arrow.NewSchema([]arrow.Field{
	{Name: CheckpointModelColumn, Type: arrow.BinaryTypes.String},
	{Name: CheckpointConfigColumn, Type: arrow.BinaryTypes.String},
	{Name: CheckpointNameColumn, Type: arrow.BinaryTypes.String},
	{Name: CheckpointShapeColumn, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Int64)},
	{Name: CheckpointValuesColumn, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float32)},
}, nil)

// Embedding columns written by text.embed and image.embed.
const (
	EmbeddingColumn = "embedding" // fixed_size_list<float32>[D]
)

// TrainingCurve is the per-step table every training stage writes as its
// "curve.arrow" artifact; the report plots it (the poster's Figure 2).
// Split is "train" for optimizer steps and "validate" for the per-epoch
// validation loss (lr and grad_norm are 0 there).
var TrainingCurve = arrow.NewSchema([]arrow.Field{
	{Name: "step", Type: arrow.PrimitiveTypes.Int64},
	{Name: "epoch", Type: arrow.PrimitiveTypes.Int32},
	{Name: "split", Type: arrow.BinaryTypes.String},
	{Name: "loss", Type: arrow.PrimitiveTypes.Float32},
	{Name: "lr", Type: arrow.PrimitiveTypes.Float32},
	{Name: "grad_norm", Type: arrow.PrimitiveTypes.Float32},
	{Name: "images_per_s", Type: arrow.PrimitiveTypes.Float32},
}, nil)

// CurveArtifact is the artifact name of a training stage's curve table.
const CurveArtifact = "curve.arrow"
