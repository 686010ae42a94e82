package train

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/imaging"
	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/schemas/cxrschema"
	"github.com/medflow/medflow/train"
)

// Register adds train.mae, train.contrastive, train.classifier and
// predict.classify to r.
func Register(r *pipeline.Registry) error {
	for _, d := range []pipeline.Definition{
		{Kind: "train.mae", Role: pipeline.RoleBarrier, Version: "1", MinInputs: 1, MaxInputs: 1,
			Doc:    "masked-autoencoder pretraining of a ViT on the pairs' images; emits the model table",
			Params: append(append(loopParams(8), encoderParams...), maeParams...),
			New:    func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newStage(b, kindMAE) }},
		{Kind: "train.contrastive", Role: pipeline.RoleBarrier, Version: "1", MinInputs: 2, MaxInputs: 2,
			Doc:    "contrastive training (margin or InfoNCE) of an MAE encoder + attention pooling against the report embeddings",
			Params: append(loopParams(10), contrastiveParams...),
			New:    func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newStage(b, kindContrastive) }},
		{Kind: "train.classifier", Role: pipeline.RoleBarrier, Version: "1", MinInputs: 2, MaxInputs: 2,
			Doc:    "14-label BCE classifier (probe or fine-tune) on an MAE or contrastive encoder; input 2 is the pairs or, in probe mode, predict.features' table of the same checkpoint",
			Params: append(loopParams(10), classifierParams...),
			New:    func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newStage(b, kindClassifier) }},
		{Kind: "predict.classify", Role: pipeline.RoleBarrier, Version: "1", MinInputs: 2, MaxInputs: 2,
			Doc: "sigmoid label probabilities of a classifier model for the pairs of the chosen splits",
			Params: []pipeline.Param{
				{Name: "splits", Type: pipeline.List, Elem: pipeline.String, NonEmpty: true, Default: []any{"test"}, Doc: "rows whose split is one of these"},
				{Name: "batch_size", Type: pipeline.Int, Default: 64, Range: "[1,)", Doc: "images per forward pass"},
			},
			New: newPredict},
		{Kind: "predict.features", Role: pipeline.RoleBarrier, Version: "1", MinInputs: 2, MaxInputs: 2,
			Doc:    "a probe classifier's frozen features (pooled encoder output) per pairs row of the chosen splits, computed once: train.classifier in probe mode trains its head on them",
			Params: featureParams, New: newFeatures},
	} {
		if err := r.Register(d); err != nil {
			return err
		}
	}
	return nil
}

type kind int

// configKey names the first of keys that an nn config error mentions (the
// last key when none is), so the plan error blames the right param.
func configKey(err error, keys ...string) string {
	for _, k := range keys {
		if strings.Contains(err.Error(), k) {
			return k
		}
	}
	return keys[len(keys)-1]
}

const (
	kindMAE kind = iota
	kindContrastive
	kindClassifier
)

func loopParams(epochs int) []pipeline.Param {
	return []pipeline.Param{
		{Name: "splits", Type: pipeline.List, Elem: pipeline.String, NonEmpty: true, Default: []any{"train"}, Doc: "train on rows whose split is one of these"},
		{Name: "validate_splits", Type: pipeline.List, Elem: pipeline.String, Default: []any{"validate"},
			Doc: "per-epoch validation loss (curve split \"validate\") on rows of these splits; [] or no such rows: none"},
		{Name: "epochs", Type: pipeline.Int, Default: epochs, Range: "[1,)", Doc: "passes over the training rows"},
		{Name: "batch_size", Type: pipeline.Int, Default: 32, Range: "[2,)", Doc: "images per optimizer step (contrastive negatives come from the batch)"},
		{Name: "max_steps", Type: pipeline.Int, Default: 0, Range: "[0,)", Doc: "stop after this many steps (0: epochs decide)"},
		{Name: "lr", Type: pipeline.Float, Default: 1e-3, Range: "(0,)", Doc: "peak learning rate (AdamW)"},
		{Name: "min_lr_ratio", Type: pipeline.Float, Default: 0.0, Range: "[0,1]", Doc: "final lr of the cosine schedule, as a fraction of lr"},
		{Name: "weight_decay", Type: pipeline.Float, Default: 0.05, Range: "[0,)", Doc: "decoupled decay of weight matrices (not biases, norms, embeddings)"},
		{Name: "beta2", Type: pipeline.Float, Default: 0.95, Range: "[0,1)", Doc: "AdamW second-moment decay (beta1 is 0.9)"},
		{Name: "warmup_steps", Type: pipeline.Int, Default: 0, Range: "[0,)", Doc: "linear warm-up steps (0: use warmup_frac)"},
		{Name: "warmup_frac", Type: pipeline.Float, Default: 0.05, Range: "[0,1)", Doc: "warm-up as a fraction of the steps"},
		{Name: "clip_norm", Type: pipeline.Float, Default: 1.0, Range: "[0,)", Doc: "global gradient-norm clip (0: none)"},
		{Name: "seed", Type: pipeline.Int, Default: 1, Range: "[0,)", Doc: "seed of initialization, shuffling and masks: same seed, same model"},
		{Name: "checkpoint_every", Type: pipeline.Int, Default: 50, Range: "[0,)", Doc: "steps between checkpoints (0: only at the end)"},
		{Name: "keep_checkpoints", Type: pipeline.Int, Default: 2, Range: "[1,)", Doc: "checkpoints kept in the stage's artifacts (older ones are deleted)"},
		{Name: "block_rows", Type: pipeline.Int, Default: train.DefaultBlockRows, Range: "[1,)",
			Doc: "rows per block of the trainer's local copy of its split (read from disk every epoch, blocks in a shuffled order)"},
		{Name: "shuffle_rows", Type: pipeline.Int, Default: train.DefaultShuffleRows, Range: "[1,)",
			Doc: "rows held by the shuffle buffer (bounds memory); a split of at most this many rows is shuffled as a whole"},
	}
}

var encoderParams = []pipeline.Param{
	{Name: "patch", Type: pipeline.Int, Default: 8, Range: "[1,)", Doc: "patch side; divides the image side"},
	{Name: "width", Type: pipeline.Int, Default: 64, Range: "[1,)", Doc: "ViT embedding width (a multiple of heads)"},
	{Name: "depth", Type: pipeline.Int, Default: 2, Range: "[1,)", Doc: "transformer blocks of the encoder"},
	{Name: "heads", Type: pipeline.Int, Default: 4, Range: "[1,)", Doc: "attention heads per block"},
	{Name: "mlp_ratio", Type: pipeline.Float, Default: 2.0, Range: "(0,)", Doc: "MLP hidden width as a multiple of width"},
	{Name: "pos", Type: pipeline.String, Default: "sincos", Doc: "position embedding",
		Options: []pipeline.Option{{Value: "sincos", Doc: "fixed 2-D sine-cosine (MAE's)"}, {Value: "learned", Doc: "trained with the model"}}},
}

var maeParams = []pipeline.Param{
	{Name: "decoder_width", Type: pipeline.Int, Default: 32, Range: "[1,)", Doc: "width of the light MAE decoder (a multiple of decoder_heads)"},
	{Name: "decoder_depth", Type: pipeline.Int, Default: 1, Range: "[1,)", Doc: "transformer blocks of the decoder"},
	{Name: "decoder_heads", Type: pipeline.Int, Default: 2, Range: "[1,)", Doc: "attention heads of the decoder"},
	{Name: "mask_ratio", Type: pipeline.Float, Default: 0.75, Range: "(0,1)", Doc: "fraction of patches hidden from the encoder"},
	{Name: "pixel_mean", Type: pipeline.Float, Example: 0.5,
		Doc: "uint8 images are normalised as (x/255 - pixel_mean)/pixel_std, recorded in the model for every later stage (absent: 0)"},
	{Name: "pixel_std", Type: pipeline.Float, Range: "(0,)", Example: 0.25, Doc: "see pixel_mean (absent: 1)"},
}

var contrastiveParams = []pipeline.Param{
	{Name: "loss", Type: pipeline.String, Default: "margin", Doc: "contrastive objective",
		Options: []pipeline.Option{
			{Value: "margin", Doc: "the poster's: positives d², negatives max(0, ε-d)²"},
			{Value: "infonce", Doc: "CLIP's symmetric cross-entropy with a learnable temperature"},
		}},
	{Name: "margin", Type: pipeline.Float, Default: 1.4, Range: "(0,)", Doc: "ε of the margin loss (≈√2: negatives pushed to orthogonal)"},
	{Name: "normalize", Type: pipeline.Bool, Default: true, Doc: "margin loss on unit-length embeddings"},
	{Name: "temperature_init", Type: pipeline.Float, Default: 0.07, Range: "(0,)", Doc: "initial InfoNCE temperature (learnable)"},
	{Name: "freeze_encoder", Type: pipeline.Bool, Default: false, Doc: "train only the attention pool (probe)"},
	{Name: "pool_queries", Type: pipeline.Int, Default: 1, Range: "[1,)", Doc: "learned queries of the attention pool (their outputs are averaged)"},
	{Name: "pool_heads", Type: pipeline.Int, Default: 0, Range: "[0,)", Doc: "heads of the attention pool (0: the encoder's heads)"},
}

var classifierParams = []pipeline.Param{
	{Name: "features", Type: pipeline.String, Default: "auto", Doc: "what the classifier head sees",
		Options: []pipeline.Option{
			{Value: "auto", Doc: "mean for an MAE checkpoint, the trained attention pool for a contrastive one"},
			{Value: "mean", Doc: "mean-pooled patch tokens (the poster's MAE baseline)"},
			{Value: "attention", Doc: "the contrastive checkpoint's attention pool + projection"},
		}},
	{Name: "mode", Type: pipeline.String, Default: "probe", Doc: "what is trained",
		Options: []pipeline.Option{{Value: "probe", Doc: "the head only, encoder frozen"}, {Value: "finetune", Doc: "the head and the encoder"}}},
}

// Stage is one of the training kinds.
type Stage struct {
	kind  kind
	name  string
	p     pipeline.Params
	cols  pairsCols
	cfg   train.Config
	split []string
	val   []string
	b     *pipeline.BuildContext
	enc   nn.ViTConfig
	// feats: the classifier trains its head on predict.features' table.
	feats bool
}

func (s *Stage) Schema() *arrow.Schema { return schemas.Checkpoint }

func newStage(b *pipeline.BuildContext, k kind) (pipeline.Stage, error) {
	s := &Stage{kind: k, name: b.Stage, p: b.Params, b: b}
	p := b.Params
	pairsIdx := 1
	if k == kindMAE {
		pairsIdx = 0
	} else if err := CheckModelSchema(b.Inputs[0]); err != nil {
		return nil, fmt.Errorf("input 1 (checkpoint): %w", err)
	}
	var err error
	in := b.Inputs[pairsIdx]
	s.feats = k == kindClassifier && len(in.FieldIndices(FeaturesColumn)) > 0 && len(in.FieldIndices(ImageColumn)) == 0
	if s.feats && p.String("mode") != "probe" {
		return nil, pipeline.ParamErrorf("mode", "%q trains the encoder: it needs the pairs (images), not predict.features' table", p.String("mode"))
	}
	if s.cols, err = checkPairs(in, need{embedding: k == kindContrastive, labels: k == kindClassifier, features: s.feats}); err != nil {
		return nil, err
	}
	s.split, s.val = p.Strings("splits"), p.Strings("validate_splits")
	s.cfg = train.Config{Epochs: p.Int("epochs"), BatchSize: p.Int("batch_size"), MaxSteps: int64(p.Int("max_steps")),
		LR: p.Float("lr"), MinLRRatio: p.Float("min_lr_ratio"), WarmupSteps: int64(p.Int("warmup_steps")),
		WarmupFrac: p.Float("warmup_frac"), ClipNorm: p.Float("clip_norm"), Seed: uint64(p.Int("seed")),
		CheckpointEvery: int64(p.Int("checkpoint_every")), Keep: p.Int("keep_checkpoints"), ShuffleRows: p.Int("shuffle_rows"),
		Adam: nn.AdamWConfig{Beta1: 0.9, Beta2: p.Float("beta2"), Eps: 1e-8, WeightDecay: p.Float("weight_decay")}}
	switch k {
	case kindMAE:
		s.enc = nn.ViTConfig{Image: s.cols.side, Patch: p.Int("patch"), Width: p.Int("width"), Depth: p.Int("depth"),
			Heads: p.Int("heads"), MLPRatio: p.Float("mlp_ratio"), Pos: p.String("pos")}
		for _, px := range []struct {
			key string
			dst *float64
		}{{"pixel_mean", &s.enc.PixelMean}, {"pixel_std", &s.enc.PixelStd}} {
			if !p.Has(px.key) {
				continue
			}
			if !s.cols.u8 {
				return nil, pipeline.ParamErrorf(px.key, "column %q is float32 (normalised by image.decode); %s applies to uint8 images", ImageColumn, px.key)
			}
			*px.dst = p.Float(px.key)
		}
		if err := s.enc.Validate(); err != nil {
			return nil, pipeline.ParamErrorf(configKey(err, "patch", "heads", "depth", "mlp_ratio", "pos", "width"),
				"image side %d from column %q: %v", s.cols.side, ImageColumn, err)
		}
		if err := s.maeConfig().Validate(); err != nil {
			return nil, pipeline.ParamErrorf(configKey(err, "decoder_heads", "decoder_depth", "mask_ratio", "decoder_width"), "%v", err)
		}
	}
	return s, nil
}

func (s *Stage) maeConfig() nn.MAEConfig {
	return nn.MAEConfig{Width: s.p.Int("decoder_width"), Depth: s.p.Int("decoder_depth"),
		Heads: s.p.Int("decoder_heads"), MaskRatio: s.p.Float("mask_ratio")}
}

// Run trains and emits the model table.
func (s *Stage) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	backend, err := nn.Backend()
	if err != nil {
		return err
	}
	groups := [][]string{s.split}
	if len(s.val) > 0 {
		groups = append(groups, s.val)
	}
	if s.feats {
		return s.runHead(ctx, backend, in, groups, out)
	}
	files, err := s.writeBlocks(ctx, in[len(in)-1], groups, s.cols.proto(), func(d *train.Data, b arrow.RecordBatch, i int) error {
		return appendPair(d, b, i, s.cols)
	})
	defer func() { _ = closeBlocks(files) }()
	if err != nil {
		return err
	}
	data, val, err := trainVal(files, s.split)
	if err != nil {
		return err
	}
	seed := s.cfg.Seed
	var (
		model *nn.Model
		loss  nn.LossFn
		batch train.Batcher
	)
	side := s.cols.side
	switch s.kind {
	case kindMAE:
		model, err = nn.NewMAE(s.enc, s.maeConfig(), seed)
		if err == nil {
			loss, batch = nn.MAEStep(model.Config), train.MAEBatcher(model.Config)
		}
	case kindContrastive:
		var from *nn.Model
		if from, err = readEncoder(ctx, in[0], side); err != nil {
			return err
		}
		heads := s.p.Int("pool_heads")
		if heads == 0 {
			heads = from.Config.Encoder.Heads
		}
		model, err = nn.NewContrastive(from, nn.PoolConfig{Queries: s.p.Int("pool_queries"), Heads: heads, EmbedDim: s.cols.embDim},
			nn.ContrastiveConfig{Loss: s.p.String("loss"), Margin: s.p.Float("margin"), Normalize: s.p.Bool("normalize"),
				TemperatureInit: s.p.Float("temperature_init"), FreezeEncoder: s.p.Bool("freeze_encoder")}, seed)
		if err == nil {
			loss, batch = nn.ContrastiveStep(model.Config), train.ContrastiveBatcher()
		}
	case kindClassifier:
		var from *nn.Model
		if from, err = readEncoder(ctx, in[0], side); err != nil {
			return err
		}
		features := s.p.String("features")
		if features == "auto" {
			features = "mean"
			if from.Kind == nn.KindContrastive {
				features = "attention"
			}
		}
		model, err = nn.NewClassifier(from, features, s.p.String("mode"), s.cols.numLabels, seed)
		if err == nil {
			loss, batch = nn.ClassifierStep(model.Config), train.ClassifierBatcher()
		}
	}
	if err != nil {
		return err
	}
	for _, f := range files {
		f.proto.PixelLUT = pixelLUT(model.Config.Encoder)
	}
	return s.train(ctx, train.Job{Name: s.name, Model: model, Data: data, Loss: loss, Batch: batch,
		Backend: backend, Store: s.b.Artifacts, Codec: Codec{Alloc: s.b.Alloc}, Logger: s.b.Logger, Val: val}, model, out)
}

// pixelLUT normalises the uint8 images of a model with encoder e.
func pixelLUT(e nn.ViTConfig) *[256]float32 {
	return imaging.PixelLUT(float32(e.PixelMean), float32(e.PixelStd))
}

// writeBlocks writes the trainer's local block files of groups (see
// blockFile) into the run's temp dir; the caller closes them (also on
// error).
func (s *Stage) writeBlocks(ctx context.Context, ds pipeline.Dataset, groups [][]string, proto *train.Data,
	add func(d *train.Data, b arrow.RecordBatch, i int) error) ([]*blockFile, error) {
	files, err := writeBlocks(ctx, ds, pipeline.TempDir(ctx), s.p.Int("block_rows"), s.b.Alloc, proto, s.cols.split, groups, add)
	if err == nil {
		s.b.Logger.Debug("block files", "rows", files[0].Len(), "blocks", files[0].NumBlocks(), "path", files[0].path)
	}
	return files, err
}

// train runs job and emits model (which holds job's trained parameters).
func (s *Stage) train(ctx context.Context, job train.Job, model *nn.Model, out pipeline.Emitter) error {
	t0 := time.Now()
	res, err := train.Run(ctx, s.cfg, job)
	if err != nil {
		return err
	}
	s.b.Logger.Info("trained", "model", model.Kind, "steps", res.Steps, "resumed_from", res.ResumedFrom,
		"examples", job.Data.Len(), "seconds", time.Since(t0).Seconds(), "steady_img_per_s", res.SteadyImagesPerS())
	curve, err := Codec{Alloc: s.b.Alloc}.encodeCurve(res.Curve, formats.Parquet)
	if err == nil {
		err = s.b.Artifacts.Put(ctx, CurveParquet, curve)
	}
	if err != nil {
		return fmt.Errorf("artifact %s: %w", CurveParquet, err)
	}
	for _, t := range job.Model.Params.List() { // the head trained alone: back into the model
		model.Params.Add(t)
	}
	return out.Emit(ctx, ModelRecord(s.b.Alloc, model))
}

// Predict is predict.classify.
type Predict struct {
	name  string
	cols  pairsCols
	split []string
	batch int
	b     *pipeline.BuildContext
}

func newPredict(b *pipeline.BuildContext) (pipeline.Stage, error) {
	if err := CheckModelSchema(b.Inputs[0]); err != nil {
		return nil, fmt.Errorf("input 1 (classifier checkpoint): %w", err)
	}
	cols, err := checkPairs(b.Inputs[1], need{labels: true, ids: true})
	if err != nil {
		return nil, err
	}
	if cols.numLabels != len(cxrschema.LabelNames) {
		return nil, fmt.Errorf("%w: %d labels, predictions hold %d", schemas.ErrMismatch, cols.numLabels, len(cxrschema.LabelNames))
	}
	return &Predict{name: b.Stage, cols: cols, split: b.Params.Strings("splits"), batch: b.Params.Int("batch_size"), b: b}, nil
}

func (p *Predict) Schema() *arrow.Schema { return cxrschema.Predictions }

// Run emits one Predictions row per pairs row of the chosen splits.
func (p *Predict) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	backend, err := nn.Backend()
	if err != nil {
		return err
	}
	model, err := readModel(ctx, in[0])
	if err != nil {
		return err
	}
	if model.Kind != nn.KindClassifier {
		return fmt.Errorf("%w: checkpoint is a %s model, want %s", schemas.ErrMismatch, model.Kind, nn.KindClassifier)
	}
	// The images, labels and masks go to a local block file streamed by
	// the forward pass, and each batch's predictions are emitted as they
	// come; only the ids (a few dozen bytes a row) stay in memory.
	blockCols, idCols := p.cols, p.cols
	blockCols.study = -1
	idCols.image, idCols.labels = -1, -1
	ids := &train.Data{}
	files, err := writeBlocks(ctx, in[1], pipeline.TempDir(ctx), train.DefaultBlockRows, p.b.Alloc,
		&train.Data{Side: p.cols.side, NumLabels: p.cols.numLabels}, p.cols.split, [][]string{p.split},
		func(d *train.Data, b arrow.RecordBatch, i int) error {
			if err := appendPair(d, b, i, blockCols); err != nil {
				return err
			}
			return appendPair(ids, b, i, idCols)
		})
	defer func() { _ = closeBlocks(files) }()
	if err != nil {
		return err
	}
	if model.Config.Encoder.Image != p.cols.side || model.Config.Classifier.Labels != p.cols.numLabels {
		return fmt.Errorf("%w: model takes %d×%d images and %d labels, pairs have %d×%d and %d", schemas.ErrMismatch,
			model.Config.Encoder.Image, model.Config.Encoder.Image, model.Config.Classifier.Labels, p.cols.side, p.cols.side, p.cols.numLabels)
	}
	files[0].proto.PixelLUT = pixelLUT(model.Config.Encoder)
	w := predictionWriter{alloc: p.b.Alloc, out: out, labels: p.cols.numLabels}
	defer w.release()
	err = train.ProbabilityBatches(ctx, backend, model, files[0], p.batch, func(lo int, bt *train.Data, probs []float32) error {
		for i := range bt.Len() {
			if err := w.add(ctx, ids.StudyID[lo+i], ids.DicomID[lo+i], probs, bt.Labels, bt.Mask, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = w.flush(ctx)
	}
	if err != nil {
		return err
	}
	p.b.Logger.Info("predicted", "rows", len(ids.StudyID), "splits", p.split)
	return nil
}

// predictionRows is how many rows predict.classify puts in one output
// batch.
var predictionRows = 1024 // a var for tests

// predictionWriter builds cxrschema.Predictions batches of predictionRows
// rows and emits each when full (flush: the rest).
type predictionWriter struct {
	alloc  memory.Allocator
	out    pipeline.Emitter
	labels int
	rb     *array.RecordBuilder
}

// add appends row i of a batch's probabilities, labels and mask
// ([rows, labels] each) with its ids.
func (w *predictionWriter) add(ctx context.Context, study int64, dicom string, probs, labels, mask []float32, i int) error {
	if w.rb == nil {
		w.rb = array.NewRecordBuilder(w.alloc, cxrschema.Predictions)
	}
	l := w.labels
	w.rb.Field(0).(*array.Int64Builder).Append(study)
	w.rb.Field(1).(*array.StringBuilder).Append(dicom)
	for k, vals := range [][]float32{probs, labels} {
		b := w.rb.Field(2 + k).(*array.FixedSizeListBuilder)
		b.Append(true)
		b.ValueBuilder().(*array.Float32Builder).AppendValues(vals[i*l:(i+1)*l], nil)
	}
	mb := w.rb.Field(4).(*array.FixedSizeListBuilder)
	mb.Append(true)
	mv := mb.ValueBuilder().(*array.Uint8Builder)
	for _, m := range mask[i*l : (i+1)*l] {
		mv.Append(uint8(m))
	}
	if w.rb.Field(0).Len() == predictionRows {
		return w.flush(ctx)
	}
	return nil
}

// flush emits the rows added since the last batch, if any.
func (w *predictionWriter) flush(ctx context.Context) error {
	if w.rb == nil || w.rb.Field(0).Len() == 0 {
		return nil
	}
	rec := w.rb.NewRecordBatch()
	return w.out.Emit(ctx, rec)
}

func (w *predictionWriter) release() {
	if w.rb != nil {
		w.rb.Release()
		w.rb = nil
	}
}

// readEncoder reads the upstream checkpoint and checks that its encoder
// takes images of the pairs' side.
func readEncoder(ctx context.Context, ds pipeline.Dataset, side int) (*nn.Model, error) {
	from, err := readModel(ctx, ds)
	if err != nil {
		return nil, err
	}
	if from.Config.Encoder.Image != side {
		return nil, fmt.Errorf("%w: checkpoint encoder takes %d×%d images, pairs have %d×%d", schemas.ErrMismatch, from.Config.Encoder.Image, from.Config.Encoder.Image, side, side)
	}
	return from, nil
}

// trainVal returns the training set (sets[0]) and the validation set
// (sets[1], or an empty one when no validation split was asked for),
// refusing fewer than 2 training rows.
func trainVal[T any, P interface {
	*T
	Len() int
}](sets []P, split []string) (P, P, error) {
	data, val := sets[0], P(new(T))
	if len(sets) > 1 {
		val = sets[1]
	}
	if data.Len() < 2 {
		return nil, nil, fmt.Errorf("%w: %d rows with split in %v; training needs at least 2", train.ErrData, data.Len(), split)
	}
	return data, val, nil
}
