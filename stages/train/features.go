package train

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/gomlx/gomlx/backends"
	"github.com/zeebo/xxh3"

	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/train"
)

// Columns predict.features adds to the pairs rows it keeps (it drops the
// image and embedding columns).
const (
	FeaturesColumn      = "features"
	FeatureSourceColumn = "feature_source"
)

var featureFields = []arrow.Field{
	{Name: FeaturesColumn, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Float32)},
	{Name: FeatureSourceColumn, Type: arrow.BinaryTypes.String},
}

var featureParams = []pipeline.Param{
	{Name: "features", Type: pipeline.String, Default: "auto", Doc: "which features (as train.classifier's param: they must match)",
		Options: []pipeline.Option{
			{Value: "auto", Doc: "mean for an MAE checkpoint, the trained attention pool for a contrastive one"},
			{Value: "mean", Doc: "mean-pooled patch tokens"},
			{Value: "attention", Doc: "the contrastive checkpoint's attention pool + projection"},
		}},
	{Name: "splits", Type: pipeline.List, Elem: pipeline.String, NonEmpty: true, Default: []any{"train", "validate"},
		Doc: "rows whose split is one of these (the classifier's splits and validate_splits)"},
	{Name: "batch_size", Type: pipeline.Int, Default: 64, Range: "[1,)", Doc: "images per forward pass"},
}

// Features is predict.features: a probe classifier's frozen features,
// computed once per image.
type Features struct {
	name   string
	cols   pairsCols
	schema *arrow.Schema
	keep   []int // input columns copied to the output
	split  []string
	b      *pipeline.BuildContext
}

func newFeatures(b *pipeline.BuildContext) (pipeline.Stage, error) {
	if err := CheckModelSchema(b.Inputs[0]); err != nil {
		return nil, fmt.Errorf("input 1 (checkpoint): %w", err)
	}
	cols, err := checkPairs(b.Inputs[1], need{labels: true})
	if err != nil {
		return nil, err
	}
	f := &Features{name: b.Stage, cols: cols, split: b.Params.Strings("splits"), b: b}
	var fields []arrow.Field
	for i, fd := range b.Inputs[1].Fields() {
		if i != cols.image && fd.Name != schemas.EmbeddingColumn {
			f.keep = append(f.keep, i)
			fields = append(fields, fd)
		}
	}
	md := b.Inputs[1].Metadata()
	if f.schema, err = schemas.AppendColumns(arrow.NewSchema(fields, &md), featureFields...); err != nil {
		return nil, fmt.Errorf("pairs input: %w", err)
	}
	return f, nil
}

func (f *Features) Schema() *arrow.Schema { return f.schema }

// probeModel is the probe classifier train.classifier builds on from with
// these features: the part that is frozen decides the features.
func probeModel(from *nn.Model, features string, labels int, seed uint64) (*nn.Model, error) {
	if features == "auto" {
		features = "mean"
		if from.Kind == nn.KindContrastive {
			features = "attention"
		}
	}
	m, err := nn.NewClassifier(from, features, "probe", labels, seed)
	if err != nil {
		return nil, err
	}
	if !m.Config.FrozenFeatures() {
		return nil, fmt.Errorf("%w: %s features on a %s checkpoint train a fresh attention pool: they are not frozen, so the classifier needs the pairs (images), not precomputed features",
			schemas.ErrMismatch, features, from.Kind)
	}
	return m, nil
}

// featureSource identifies the features of a probe classifier: a digest
// of the config that shapes them and of every frozen tensor. Features
// computed from another checkpoint or pooling never match.
func featureSource(m *nn.Model) string {
	h := xxh3.New()
	c := m.Config
	c.Classifier = &nn.ClassifierConfig{Features: m.Config.Classifier.Features}
	_, _ = h.WriteString(c.JSON())
	trainable := m.Trainable()
	var buf [4]byte
	for _, t := range m.Params.List() {
		if trainable(t.Name) {
			continue
		}
		_, _ = h.WriteString(t.Name)
		for _, d := range t.Shape {
			binary.LittleEndian.PutUint32(buf[:], uint32(d))
			_, _ = h.Write(buf[:])
		}
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			_, _ = h.Write(buf[:])
		}
	}
	return fmt.Sprintf("xxh3:%016x", h.Sum64())
}

// Run emits, per pairs batch, its rows of the chosen splits without the
// image (and embedding) and with their features.
func (f *Features) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	backend, err := nn.Backend()
	if err != nil {
		return err
	}
	from, err := readEncoder(ctx, in[0], f.cols.side)
	if err != nil {
		return err
	}
	m, err := probeModel(from, f.b.Params.String("features"), f.cols.numLabels, 0)
	if err != nil {
		return err
	}
	src := featureSource(m)
	ex, err := train.NewFeatureExtractor(backend, m, f.cols.side, f.b.Params.Int("batch_size"))
	if err != nil {
		return err
	}
	defer ex.Finalize()
	rows := 0
	for b, err := range in[1].Batches(ctx) {
		if err != nil {
			return fmt.Errorf("read pairs: %w", err)
		}
		rec, err := f.batch(ctx, b, ex, src, pixelLUT(from.Config.Encoder))
		if err != nil {
			return fmt.Errorf("pairs rows %d..: %w", rows, err)
		}
		if rec == nil {
			continue
		}
		rows += int(rec.NumRows())
		if err := out.Emit(ctx, rec); err != nil {
			return err
		}
	}
	f.b.Logger.Info("features", "rows", rows, "splits", f.split, "dim", m.Config.FeatureDim(), "source", src)
	return nil
}

// batch is the output record of one pairs batch (nil when none of its
// rows is in the chosen splits).
func (f *Features) batch(ctx context.Context, b arrow.RecordBatch, ex *train.FeatureExtractor, src string, lut *[256]float32) (arrow.RecordBatch, error) {
	split := b.Column(f.cols.split).(*array.String)
	mb := array.NewBooleanBuilder(f.b.Alloc)
	defer mb.Release()
	n := 0
	for i := range int(b.NumRows()) {
		keep := split.IsValid(i) && slices.Contains(f.split, split.Value(i))
		mb.Append(keep)
		if keep {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	mask := mb.NewBooleanArray()
	defer mask.Release()
	kept, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, f.b.Alloc), b, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, err
	}
	defer kept.Release()
	d := &train.Data{Side: f.cols.side, PixelLUT: lut}
	img := pairsCols{image: f.cols.image, emb: -1, labels: -1, study: -1, side: f.cols.side, u8: f.cols.u8}
	for i := range int(kept.NumRows()) {
		if err := appendPair(d, kept, i, img); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
	}
	feats, err := ex.Features(d.NormalisedImages())
	if err != nil {
		return nil, err
	}
	return featureRecord(f.b.Alloc, f.schema, kept, f.keep, feats, src), nil
}

func featureRecord(alloc memory.Allocator, schema *arrow.Schema, kept arrow.RecordBatch, keep []int, feats []float32, src string) arrow.RecordBatch {
	n := int(kept.NumRows())
	lb := array.NewBuilder(alloc, featureFields[0].Type).(*array.ListBuilder)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.Float32Builder)
	dim := len(feats) / max(1, n)
	for i := range n {
		lb.Append(true)
		vb.AppendValues(feats[i*dim:(i+1)*dim], nil)
	}
	sb := array.NewStringBuilder(alloc)
	defer sb.Release()
	for range n {
		sb.Append(src)
	}
	cols := make([]arrow.Array, 0, len(keep)+2)
	for _, i := range keep {
		cols = append(cols, kept.Column(i))
	}
	fa, sa := lb.NewArray(), sb.NewArray()
	defer fa.Release()
	defer sa.Release()
	return array.NewRecordBatch(schema, append(cols, fa, sa), int64(n))
}

// addFeatures returns the function adding a features row to a Data,
// checking that it holds the features of m.
func addFeatures(c pairsCols, m *nn.Model) func(d *train.Data, b arrow.RecordBatch, i int) error {
	want, dim := featureSource(m), m.Config.FeatureDim()
	return func(d *train.Data, b arrow.RecordBatch, i int) error {
		src := b.Column(c.src).(*array.String)
		fl := b.Column(c.feat).(*array.List)
		if src.IsNull(i) || src.Value(i) != want {
			return fmt.Errorf("%w: %q is %q, but the checkpoint's frozen encoder gives %q (features of another checkpoint or pooling)",
				schemas.ErrMismatch, FeatureSourceColumn, src.Value(i), want)
		}
		lo, hi := fl.ValueOffsets(i)
		if fl.IsNull(i) || int(hi-lo) != dim {
			return fmt.Errorf("%w: %d features, the classifier head takes %d", train.ErrData, hi-lo, dim)
		}
		d.Features = append(d.Features, fl.ListValues().(*array.Float32).Float32Values()[lo:hi]...)
		d.Labels, d.Mask = appendLabels(d.Labels, d.Mask, b, i, c)
		return nil
	}
}

// runHead trains a probe classifier's head on predict.features' table:
// the same model, loss, batches and optimizer state as training on the
// images with a frozen encoder, without running the encoder.
func (s *Stage) runHead(ctx context.Context, backend backends.Backend, in []pipeline.Dataset, groups [][]string, out pipeline.Emitter) error {
	from, err := readModel(ctx, in[0])
	if err != nil {
		return err
	}
	model, err := probeModel(from, s.p.String("features"), s.cols.numLabels, s.cfg.Seed)
	if err != nil {
		return err
	}
	files, err := s.writeBlocks(ctx, in[1], groups, &train.Data{FeatureDim: model.Config.FeatureDim(), NumLabels: s.cols.numLabels},
		addFeatures(s.cols, model))
	defer func() { _ = closeBlocks(files) }()
	if err != nil {
		return fmt.Errorf("features input: %w", err)
	}
	data, val, err := trainVal(files, s.split)
	if err != nil {
		return err
	}
	head := &nn.Model{Kind: model.Kind, Config: model.Config, Params: nn.NewParams()}
	trainable := model.Trainable()
	for _, t := range model.Params.List() {
		if trainable(t.Name) {
			head.Params.Add(t)
		}
	}
	job := train.Job{Name: s.name, Model: head, Data: data, Loss: nn.HeadStep(), Batch: train.HeadBatcher(),
		Backend: backend, Store: s.b.Artifacts, Codec: headCodec{Codec: Codec{Alloc: s.b.Alloc}, full: model},
		Logger: s.b.Logger, Val: val}
	return s.train(ctx, job, model, out)
}

// headCodec keeps the checkpoints of a head trained alone in the same
// form as those of the whole probe classifier (frozen tensors included),
// so either way of training reads the other's checkpoints.
type headCodec struct {
	Codec
	full *nn.Model
}

func (x headCodec) EncodeCheckpoint(c *train.Checkpoint) ([]byte, error) {
	m := &nn.Model{Kind: x.full.Kind, Config: x.full.Config, Params: nn.NewParams()}
	for _, t := range x.full.Params.List() {
		m.Params.Add(t)
	}
	for _, t := range c.Model.Params.List() {
		m.Params.Add(t)
	}
	return x.Codec.EncodeCheckpoint(&train.Checkpoint{Model: m, Opt: c.Opt, Step: c.Step})
}

func (x headCodec) DecodeCheckpoint(data []byte, cfg nn.AdamWConfig) (*train.Checkpoint, error) {
	ck, err := x.Codec.DecodeCheckpoint(data, cfg)
	if err != nil {
		return nil, err
	}
	trainable := ck.Model.Trainable()
	head := nn.NewParams()
	for _, t := range ck.Model.Params.List() {
		if trainable(t.Name) {
			head.Add(t)
		}
	}
	ck.Model = &nn.Model{Kind: ck.Model.Kind, Config: ck.Model.Config, Params: head}
	return ck, nil
}
