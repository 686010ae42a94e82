// Package train (stages/train) adapts package train to pipeline stages.
// All kinds are barriers over a "pairs" table (image.decode output with
// dtype float32, joined with the report embedding): columns are read by
// name and checked at build time (image fixed_size_list<float32>[S*S],
// S inferred; split; embedding fixed_size_list<float32>[D] for
// contrastive; labels/label_mask for classifier and predict; study_id and
// dicom_id for predict).
//
//   - train.mae          inputs [pairs]             → model table (vit-mae)
//   - train.contrastive  inputs [checkpoint, pairs] → model table (vit-contrastive)
//   - train.classifier   inputs [checkpoint, pairs] → model table (vit-classifier)
//   - predict.classify   inputs [classifier, pairs] → cxrschema.Predictions
//
// train.classifier's features "auto" take the mean of the encoder's patch
// tokens for an MAE checkpoint (the poster's MAE-only baseline) and the
// trained attention pool + projection (the image embedding) for a
// contrastive checkpoint; "attention" on an MAE checkpoint trains a fresh
// attention pool (also in probe mode). Mode probe freezes the encoder
// (and a trained pool); finetune trains everything.
//
// Training stages train on rows whose split is in params.splits (default
// [train]) and add a per-epoch validation loss on params.validate_splits
// (default [validate]; skipped when no row matches).
//
// Models travel between stages as model tables (schemas.Checkpoint: one
// row per tensor; ModelRecord, ModelReader). Codec is package train's
// checkpoint and curve codec in Arrow IPC files (a checkpoint is a model
// table plus AdamW's moments as rows "opt/m/<name>" and "opt/v/<name>",
// the step in the schema metadata; a curve a schemas.TrainingCurve table).
// Training stages write curve.arrow and checkpoints/step-NNNNNN.arrow to
// their Artifacts, resume from the latest checkpoint after a crash, log
// loss, lr and img/s per epoch, and emit the model table only at the end.
// predict.classify writes labels as 0 where label_mask is 0.
//
// Not implemented: a streaming (larger-than-memory) dataset: the chosen
// splits are materialized in memory as float32.
package train
