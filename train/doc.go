// Package train is the training-loop library of medflow's model stages:
// epochs over a split read through Blocks (small Data blocks of
// consecutive rows: a trainer-owned file on disk in stages/train, or an
// in-memory *Data cut into BlockRows-row views), streamed every epoch:
// the block order is a permutation drawn from the seed and the epoch
// (EpochRNG), rows pass through a shuffle buffer of Config.ShuffleRows
// rows that the same generator draws from (a split of at most that many
// rows gets a full permutation), and a prefetch goroutine (owned, stopped
// at the end of each epoch, on an error and when ctx is cancelled)
// assembles fixed-shape batches (the last partial batch of an epoch is
// dropped) while the step runs; 8-bit Pixels are normalised through the
// Data's PixelLUT when a batch is assembled, so blocks and the buffer
// stay uint8. Memory is bounded by the buffer, one block and a few
// batches (at most 5), not by the split. The buffer lives outside the Go
// heap (package internal/offheap: an anonymous mapping, freed at the end
// of each pass), so its bytes count once in resident memory rather than
// up to twice under GOGC=100, and do not pace the collector. The Batcher gets the assembled
// batch and per-step randomness from the seed and step (StepRNG). Then
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
// "curve.arrow" alongside. Run resumes from the latest checkpoint at step
// s: it starts epoch s/StepsPerEpoch's stream and skips the rows of that
// epoch's first s mod StepsPerEpoch batches; since the stream and masks
// derive from seed, epoch and step, a resumed run ends with the same
// weights as an uninterrupted one (the skipped rows are read, not
// trained on).
//
// With a validation set (Job.Val) the mean validation loss is added to
// the curve after every epoch as split "validate" (rows streamed in
// order, no shuffle; lr and grad_norm 0; MAE masks fixed per validation
// batch).
//
// Also here: Batches (a split in order, in batches), ImageEmbeddings and
// ProbabilityBatches (batched forward passes over Blocks; the latter hands
// each batch's probabilities to a callback), RetrievalTop1, and
// for a probe classifier a FeatureExtractor (its frozen features,
// computed once) and HeadBatcher (a training set of those features,
// Data.Features, for nn.HeadStep).
//
// Not implemented: a global shuffle of a split larger than ShuffleRows
// (the order is a block permutation plus a local shuffle), reading
// blocks ahead of the one being shuffled (the prefetch goroutine prepares
// batches, it does not overlap disk reads with each other), data
// augmentation, early stopping, multi-device training.
package train
