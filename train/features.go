package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medflow/medflow/nn"
)

// Features is a training set of precomputed classifier features: what a
// frozen encoder (and pool) gives each image, with the image's labels.
// A probe classifier trains its head on it (nn.HeadStep) instead of
// running the encoder every step.
type Features struct {
	Dim       int
	Values    []float32 // N*Dim
	NumLabels int
	Labels    []float32 // N*NumLabels
	Mask      []float32 // N*NumLabels, 1 where the label counts
}

// Len is the number of examples.
func (f *Features) Len() int {
	if f.Dim == 0 {
		return 0
	}
	return len(f.Values) / f.Dim
}

// HeadBatcher yields features, labels and label masks: nn.HeadStep's
// inputs, in the order ClassifierBatcher yields images, labels and masks.
func HeadBatcher(f *Features) Batcher {
	return func(idx []int, _ int64, _ *rand.Rand) ([]*tensors.Tensor, error) {
		l := f.NumLabels
		return []*tensors.Tensor{nn.F32(gather(f.Values, f.Dim, idx), len(idx), f.Dim),
			nn.F32(gather(f.Labels, l, idx), len(idx), l), nn.F32(gather(f.Mask, l, idx), len(idx), l)}, nil
	}
}

// FeatureExtractor is a compiled forward pass of a classifier's features
// (nn.ClassifierFeatures) in batches of a fixed size: a partial batch is
// padded with zero images and its output cut back, so one graph serves
// every call (each image's features depend on that image only).
type FeatureExtractor struct {
	f     *nn.Func
	m     *nn.Model
	batch int
	side  int
}

// NewFeatureExtractor compiles m's feature pass for side×side images.
func NewFeatureExtractor(b backends.Backend, m *nn.Model, side, batch int) (*FeatureExtractor, error) {
	if m.Kind != nn.KindClassifier {
		return nil, fmt.Errorf("%w: features need a %s model, got %s", ErrData, nn.KindClassifier, m.Kind)
	}
	f, err := nn.NewFunc(b, m.Params, false, func(s *nn.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{nn.ClassifierFeatures(s, m.Config, in[0])}
	})
	if err != nil {
		return nil, err
	}
	return &FeatureExtractor{f: f, m: m, batch: max(1, batch), side: side}, nil
}

// Features returns the [N,F] features of images (N side×side images,
// row-major).
func (e *FeatureExtractor) Features(images []float32) ([]float32, error) {
	px := e.side * e.side
	n := len(images) / px
	dim := e.m.Config.FeatureDim()
	out := make([]float32, 0, n*dim)
	buf := make([]float32, e.batch*px)
	for lo := 0; lo < n; lo += e.batch {
		hi := min(n, lo+e.batch)
		clear(buf[copy(buf, images[lo*px:hi*px]):])
		x := nn.F32(buf, e.batch, px)
		res, err := e.f.Run(e.m.Params, []*tensors.Tensor{x})
		_ = x.FinalizeAll()
		if err != nil {
			return nil, fmt.Errorf("examples %d..%d: %w", lo, hi-1, err)
		}
		if len(res[0]) != e.batch*dim {
			return nil, fmt.Errorf("%w: feature pass gave %d values for %d images of %d features", nn.ErrBackend, len(res[0]), e.batch, dim)
		}
		out = append(out, res[0][:(hi-lo)*dim]...)
	}
	return out, nil
}

// Finalize frees the compiled graph.
func (e *FeatureExtractor) Finalize() { e.f.Finalize() }
