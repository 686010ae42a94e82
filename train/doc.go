// Package train is the training-loop library of medflow's model stages:
// epochs over a materialized in-memory Data set, a seeded shuffle per epoch
// (EpochOrder), per-step randomness from the seed and step (StepRNG),
// fixed-shape batches (the last partial batch of an epoch is dropped),
// AdamW + warm-up/cosine schedule + global-norm clipping from package nn
// (all in one compiled graph, nn.TrainStep: the parameters and moments
// stay backend tensors during the run; each step downloads the loss and
// gradient norm, and the state is synced to the Job's model and the
// optimizer before validation, each checkpoint, at the end and when the
// run stops early; a non-finite loss or gradient norm stops the run with
// nn.ErrNonFinite naming the step, the model keeping the last good step),
// a per-step curve (CurvePoint) and checkpoints (Checkpoint: the model,
// AdamW's moments and the step).
//
// The package knows no file format, Arrow or storage: a Job's Codec turns
// checkpoints and curves into bytes (package stages/train gives the Arrow
// IPC one: model tables plus rows "opt/m/<name>" and "opt/v/<name>"), and
// its Store (Artifacts) keeps them as "checkpoints/step-NNNNNN.arrow" every
// CheckpointEvery steps and at the end (the last Keep are kept), with
// "curve.arrow" alongside. Run resumes from the latest checkpoint: since
// the shuffle and masks derive from seed, epoch and step, a resumed run
// ends with the same weights as an uninterrupted one.
//
// With a validation set (Job.ValN, Job.ValBatch) the mean validation loss
// is added to the curve after every epoch as split "validate" (lr and
// grad_norm 0; MAE masks fixed per validation batch).
//
// Also here: ImageEmbeddings, Probabilities (batched forward passes),
// RetrievalTop1, and for a probe classifier a FeatureExtractor (its
// frozen features, computed once) and Features/HeadBatcher (a training set
// of those features for nn.HeadStep).
//
// Not implemented: streaming datasets larger than memory (the whole split
// is materialized as float32), data augmentation, early stopping,
// multi-device training.
package train
