package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medflow/medflow/nn"
)

// HeadBatcher yields features, labels and label masks (Data.Features):
// nn.HeadStep's inputs, in the order ClassifierBatcher yields images,
// labels and masks.
func HeadBatcher() Batcher {
	return func(d *Data, _ int64, _ *rand.Rand) ([]*tensors.Tensor, error) {
		l, n := d.NumLabels, d.Len()
		return []*tensors.Tensor{nn.F32(d.Features, n, d.FeatureDim), nn.F32(d.Labels, n, l), nn.F32(d.Mask, n, l)}, nil
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
