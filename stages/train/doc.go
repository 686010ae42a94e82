// Package train (stages/train) adapts package train to pipeline stages.
// All kinds are barriers over a "pairs" table (image.decode output joined
// with the report embedding): columns are read by name and checked at
// build time (image fixed_size_list<uint8>[S*S] or <float32>[S*S], S
// inferred; split; embedding fixed_size_list<float32>[D] for
// contrastive; labels/label_mask for classifier and predict; study_id and
// dicom_id for predict).
//
//   - train.mae          inputs [pairs]             → model table (vit-mae)
//   - train.contrastive  inputs [checkpoint, pairs] → model table (vit-contrastive)
//   - train.classifier   inputs [checkpoint, pairs] → model table (vit-classifier)
//   - predict.classify   inputs [classifier, pairs] → cxrschema.Predictions
//   - predict.features   inputs [checkpoint, pairs] → the pairs rows of the
//     chosen splits without image and embedding, plus "features"
//     (list<float32>: a probe classifier's frozen features) and
//     "feature_source" (a digest of the frozen tensors and the pooling)
//
// Probe mode computes frozen features once: predict.features runs the
// frozen encoder (and a contrastive checkpoint's trained pool) once per
// image, padding the last batch so one graph serves every call, and a
// materialized predict.features is reused like any dataset (a change of
// the classifier's params does not recompute it). train.classifier given
// that table instead of the pairs trains the head alone on it
// (nn.HeadStep): the same loss, batches, optimizer state and checkpoints
// (frozen tensors included) as training on the images, so the same model
// within float tolerance, without running the encoder each step. It
// refuses a table whose feature_source is not its checkpoint's, and
// fine-tune mode or a fresh attention pool (which train) need the pairs.
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
// Streaming: a training stage first copies, in one pass over its input,
// the columns its kind needs (image as delivered, embedding, labels and
// mask, or features) of its training and validation rows into one local
// Arrow IPC file each (blockFile: block_rows rows per record batch,
// random access through ipc.FileReader) in the run's temp dir
// (pipeline.TempDir: RunOptions.SpillDir); package train streams them
// every epoch (shuffled block order, a shuffle_rows buffer, validation in
// file order). The files are removed when the stage ends, also on error.
//
// Pixels: uint8 images are normalised as (x/255 - pixel_mean)/pixel_std
// (imaging.PixelLUT) when a batch is assembled. train.mae takes
// pixel_mean/pixel_std and records them in the model's encoder config
// (omitted when absent, so older configs are unchanged; absent means
// x/255); train.contrastive, train.classifier, predict.features and
// predict.classify use the checkpoint's values. float32 images are used
// as delivered (pixel_mean/pixel_std on float32 pairs is an error).
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
// predict.features streams (one pairs batch at a time); predict.classify
// streams its images, labels and masks through a block file and emits
// each batch's predictions as they are computed (1,024 rows per output
// batch); only the ids (study_id, dicom_id: a few dozen bytes a row) stay
// in memory until the end.
//
// Not implemented: predict.classify runs the whole classifier on the
// images, not on features.
package train
