package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medflow/medflow/nn"
)

// Data is a materialized training set held in memory, row-major.
type Data struct {
	Side       int       // images are Side×Side
	Images     []float32 // N*Side*Side
	EmbedDim   int
	Embeddings []float32 // N*EmbedDim (contrastive target); nil if absent
	NumLabels  int
	Labels     []float32 // N*NumLabels
	Mask       []float32 // N*NumLabels, 1 where the label counts
	StudyID    []int64
	DicomID    []string
}

// Len is the number of examples.
func (d *Data) Len() int {
	if d.Side == 0 {
		return 0
	}
	return len(d.Images) / (d.Side * d.Side)
}

func gather(src []float32, width int, idx []int) []float32 {
	out := make([]float32, 0, len(idx)*width)
	for _, i := range idx {
		out = append(out, src[i*width:(i+1)*width]...)
	}
	return out
}

func (d *Data) images(idx []int) *tensors.Tensor {
	px := d.Side * d.Side
	return nn.F32(gather(d.Images, px, idx), len(idx), px)
}

// MAEBatcher yields images and fresh random patch masks per step.
func MAEBatcher(d *Data, c nn.Config) Batcher {
	n := c.Encoder.Tokens()
	keep := c.MAE.Keep(n)
	return func(idx []int, _ int64, rng *rand.Rand) ([]*tensors.Tensor, error) {
		sel, masked := nn.Masks(rng, len(idx), n, keep)
		return []*tensors.Tensor{d.images(idx), nn.F32(sel, len(idx), keep, n), nn.F32(masked, len(idx), n)}, nil
	}
}

// ContrastiveBatcher yields images and their text embeddings.
func ContrastiveBatcher(d *Data) Batcher {
	return func(idx []int, _ int64, _ *rand.Rand) ([]*tensors.Tensor, error) {
		if d.Embeddings == nil {
			return nil, fmt.Errorf("%w: no text embeddings", ErrData)
		}
		return []*tensors.Tensor{d.images(idx), nn.F32(gather(d.Embeddings, d.EmbedDim, idx), len(idx), d.EmbedDim)}, nil
	}
}

// ClassifierBatcher yields images, labels and label masks.
func ClassifierBatcher(d *Data) Batcher {
	return func(idx []int, _ int64, _ *rand.Rand) ([]*tensors.Tensor, error) {
		l := d.NumLabels
		return []*tensors.Tensor{d.images(idx), nn.F32(gather(d.Labels, l, idx), len(idx), l),
			nn.F32(gather(d.Mask, l, idx), len(idx), l)}, nil
	}
}

// forward runs fn over all examples of d in batches of batch, returning
// the concatenated [N, width] output.
func forward(b backends.Backend, m *nn.Model, d *Data, batch int,
	fn func(s *nn.Scope, images *graph.Node) *graph.Node) ([]float32, int, error) {
	f, err := nn.NewFunc(b, m.Params, false, func(s *nn.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{fn(s, in[0])}
	})
	if err != nil {
		return nil, 0, err
	}
	defer f.Finalize()
	n := d.Len()
	var out []float32
	for lo := 0; lo < n; lo += batch {
		idx := make([]int, 0, batch)
		for i := lo; i < min(n, lo+batch); i++ {
			idx = append(idx, i)
		}
		img := d.images(idx)
		res, err := f.Run(m.Params, []*tensors.Tensor{img})
		_ = img.FinalizeAll()
		if err != nil {
			return nil, 0, fmt.Errorf("examples %d..%d: %w", lo, lo+len(idx)-1, err)
		}
		out = append(out, res[0]...)
	}
	if n == 0 {
		return nil, 0, nil
	}
	return out, len(out) / n, nil
}

// ImageEmbeddings returns the contrastive model's image embeddings [N,E].
func ImageEmbeddings(b backends.Backend, m *nn.Model, d *Data, batch int) ([]float32, int, error) {
	if m.Kind != nn.KindContrastive {
		return nil, 0, fmt.Errorf("%w: image embeddings need a %s model, got %s", ErrData, nn.KindContrastive, m.Kind)
	}
	return forward(b, m, d, batch, func(s *nn.Scope, x *graph.Node) *graph.Node {
		return nn.ImageEmbedding(s, m.Config, x, false)
	})
}

// Probabilities returns the classifier's sigmoid outputs [N,L].
func Probabilities(b backends.Backend, m *nn.Model, d *Data, batch int) ([]float32, error) {
	if m.Kind != nn.KindClassifier {
		return nil, fmt.Errorf("%w: predictions need a %s model, got %s", ErrData, nn.KindClassifier, m.Kind)
	}
	out, _, err := forward(b, m, d, batch, func(s *nn.Scope, x *graph.Node) *graph.Node {
		return graph.Sigmoid(nn.ClassifierLogits(s, m.Config, x))
	})
	return out, err
}

// RetrievalTop1 is the fraction of rows i of u [N,E] whose nearest row of
// t [N,E] by cosine similarity is t_i (image→text retrieval).
func RetrievalTop1(u, t []float32, e int) float64 {
	n := len(u) / e
	if n == 0 {
		return 0
	}
	norm := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s) + 1e-12
	}
	hits := 0
	for i := range n {
		ui := u[i*e : (i+1)*e]
		nu := norm(ui)
		best, bestJ := math.Inf(-1), -1
		for j := range n {
			tj := t[j*e : (j+1)*e]
			var dot float64
			for k := range e {
				dot += float64(ui[k]) * float64(tj[k])
			}
			if c := dot / (nu * norm(tj)); c > best {
				best, bestJ = c, j
			}
		}
		if bestJ == i {
			hits++
		}
	}
	return float64(hits) / float64(n)
}
