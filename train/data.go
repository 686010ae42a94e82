package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medflow/medflow/internal/offheap"
	"github.com/medflow/medflow/nn"
)

// Data is a set of examples held in memory, row-major: a whole split, a
// block of one (Blocks), the shuffle buffer, or one batch. A column is
// present when its slice is non-nil.
type Data struct {
	Side   int       // images are Side×Side
	Images []float32 // N*Side*Side normalised pixels; or
	// Pixels are N*Side*Side 8-bit pixels instead of Images; batch
	// assembly turns them into Images through PixelLUT.
	Pixels     []uint8
	PixelLUT   *[256]float32
	EmbedDim   int
	Embeddings []float32 // N*EmbedDim (contrastive target); nil if absent
	NumLabels  int
	Labels     []float32 // N*NumLabels
	Mask       []float32 // N*NumLabels, 1 where the label counts
	// FeatureDim and Features: precomputed classifier features (what a
	// frozen encoder and pool give each image) instead of images; a probe
	// classifier trains its head on them (HeadBatcher, nn.HeadStep).
	FeatureDim int
	Features   []float32 // N*FeatureDim
	StudyID    []int64   // not streamed (Blocks carry the columns above)
	DicomID    []string

	// BlockRows is the block size of Data used as Blocks (0:
	// DefaultBlockRows).
	BlockRows int
}

// Column is one present per-row column of a Data: Width values per row,
// in F32 or (Pixels) U8.
type Column struct {
	Name  string
	F32   *[]float32
	U8    *[]uint8
	Width int
}

// Columns are d's present columns in a fixed order: image (Images or
// Pixels), embedding, labels, mask, features.
func (d *Data) Columns() []Column {
	var c []Column
	px := d.Side * d.Side
	switch {
	case d.Pixels != nil:
		c = append(c, Column{Name: "image", U8: &d.Pixels, Width: px})
	case d.Images != nil:
		c = append(c, Column{Name: "image", F32: &d.Images, Width: px})
	}
	for _, f := range []Column{{"embedding", &d.Embeddings, nil, d.EmbedDim}, {"labels", &d.Labels, nil, d.NumLabels},
		{"mask", &d.Mask, nil, d.NumLabels}, {"features", &d.Features, nil, d.FeatureDim}} {
		if *f.F32 != nil {
			c = append(c, f)
		}
	}
	return c
}

// Len is the number of examples.
func (d *Data) Len() int {
	for _, c := range d.Columns() {
		if c.Width == 0 {
			return 0
		}
		if c.U8 != nil {
			return len(*c.U8) / c.Width
		}
		return len(*c.F32) / c.Width
	}
	return 0
}

// Like is an empty Data with d's columns (non-nil, empty) and dims, with
// room for rows.
func (d *Data) Like(rows int) *Data { return d.like(rows, false) }

// like is an empty Data with d's columns and dims and room for rows;
// with normalise, Pixels become Images.
func (d *Data) like(rows int, normalise bool) *Data {
	o := &Data{Side: d.Side, PixelLUT: d.PixelLUT, EmbedDim: d.EmbedDim, NumLabels: d.NumLabels, FeatureDim: d.FeatureDim,
		Pixels: d.Pixels, Images: d.Images, Embeddings: d.Embeddings, Labels: d.Labels, Mask: d.Mask, Features: d.Features}
	if normalise && o.Pixels != nil {
		o.Pixels, o.Images = nil, []float32{}
	}
	for _, c := range o.Columns() {
		if c.U8 != nil {
			*c.U8 = make([]uint8, 0, rows*c.Width)
		} else {
			*c.F32 = make([]float32, 0, rows*c.Width)
		}
	}
	return o
}

// likeOffHeap is like(rows, false) with each column's room outside the Go
// heap (package offheap), for the shuffle buffer: its bytes then count
// once in resident memory instead of up to twice (the collector lets the
// heap grow to twice what is live), and they do not pace the collector.
// free releases them; o must not be used after, and rows taken from it
// must be copied (putRow copies).
func (d *Data) likeOffHeap(rows int) (o *Data, free func()) {
	o = d.like(0, false)
	var frees []func()
	for _, c := range o.Columns() {
		if c.U8 != nil {
			s, f := offheap.Make[uint8](rows * c.Width)
			*c.U8, frees = s[:0], append(frees, f)
		} else {
			s, f := offheap.Make[float32](rows * c.Width)
			*c.F32, frees = s[:0], append(frees, f)
		}
	}
	return o, func() {
		for _, f := range frees {
			f()
		}
	}
}

// putRow writes row i of src into row j of d (j == d.Len(): appends),
// normalising Pixels through src.PixelLUT where d holds Images.
func (d *Data) putRow(j int, src *Data, i int) {
	sc := src.Columns()
	for k, c := range d.Columns() {
		s, w := sc[k], c.Width
		switch {
		case c.U8 != nil:
			v := (*s.U8)[i*w : (i+1)*w]
			if j*w == len(*c.U8) {
				*c.U8 = append(*c.U8, v...)
			} else {
				copy((*c.U8)[j*w:], v)
			}
		case s.U8 != nil:
			if j*w == len(*c.F32) {
				*c.F32 = append(*c.F32, make([]float32, w)...)
			}
			lookup((*c.F32)[j*w:(j+1)*w], (*s.U8)[i*w:(i+1)*w], src.PixelLUT)
		default:
			v := (*s.F32)[i*w : (i+1)*w]
			if j*w == len(*c.F32) {
				*c.F32 = append(*c.F32, v...)
			} else {
				copy((*c.F32)[j*w:], v)
			}
		}
	}
}

func lookup(dst []float32, src []uint8, lut *[256]float32) {
	for x, v := range src {
		dst[x] = lut[v]
	}
}

// NormalisedImages is d's images as float32: Images, or Pixels through
// PixelLUT (nil without one).
func (d *Data) NormalisedImages() []float32 {
	if d.Pixels == nil || d.PixelLUT == nil {
		return d.Images
	}
	img := make([]float32, len(d.Pixels))
	lookup(img, d.Pixels, d.PixelLUT)
	return img
}

// truncate keeps d's first n rows.
func (d *Data) truncate(n int) {
	for _, c := range d.Columns() {
		if c.U8 != nil {
			*c.U8 = (*c.U8)[:n*c.Width]
		} else {
			*c.F32 = (*c.F32)[:n*c.Width]
		}
	}
}

// slice is a view of rows lo..hi-1 of d (no copy).
func (d *Data) slice(lo, hi int) *Data {
	o := *d
	o.StudyID, o.DicomID = nil, nil
	for _, c := range o.Columns() {
		w := c.Width
		if c.U8 != nil {
			*c.U8 = (*c.U8)[lo*w : hi*w : hi*w]
		} else {
			*c.F32 = (*c.F32)[lo*w : hi*w : hi*w]
		}
	}
	return &o
}

// images is the [N, Side*Side] image tensor of a batch (batches hold
// Images: batch assembly normalises Pixels).
func (d *Data) images() *tensors.Tensor {
	px := d.Side * d.Side
	return nn.F32(d.Images, d.Len(), px)
}

// MAEBatcher yields images and fresh random patch masks per step.
func MAEBatcher(c nn.Config) Batcher {
	n := c.Encoder.Tokens()
	keep := c.MAE.Keep(n)
	return func(d *Data, _ int64, rng *rand.Rand) ([]*tensors.Tensor, error) {
		b := d.Len()
		sel, masked := nn.Masks(rng, b, n, keep)
		return []*tensors.Tensor{d.images(), nn.F32(sel, b, keep, n), nn.F32(masked, b, n)}, nil
	}
}

// ContrastiveBatcher yields images and their text embeddings.
func ContrastiveBatcher() Batcher {
	return func(d *Data, _ int64, _ *rand.Rand) ([]*tensors.Tensor, error) {
		if d.Embeddings == nil {
			return nil, fmt.Errorf("%w: no text embeddings", ErrData)
		}
		return []*tensors.Tensor{d.images(), nn.F32(d.Embeddings, d.Len(), d.EmbedDim)}, nil
	}
}

// ClassifierBatcher yields images, labels and label masks.
func ClassifierBatcher() Batcher {
	return func(d *Data, _ int64, _ *rand.Rand) ([]*tensors.Tensor, error) {
		l := d.NumLabels
		return []*tensors.Tensor{d.images(), nn.F32(d.Labels, d.Len(), l), nn.F32(d.Mask, d.Len(), l)}, nil
	}
}

// forward runs fn over all examples of d in batches of batch, in order,
// returning the concatenated [N, width] output.
func forward(ctx context.Context, b backends.Backend, m *nn.Model, d Blocks, batch int,
	fn func(s *nn.Scope, images *graph.Node) *graph.Node) ([]float32, int, error) {
	var out []float32
	err := forwardBatches(ctx, b, m, d, batch, fn, func(_ int, _ *Data, res []float32) error {
		out = append(out, res...)
		return nil
	})
	if err != nil || d.Len() == 0 {
		return nil, 0, err
	}
	return out, len(out) / d.Len(), nil
}

// forwardBatches runs fn on each batch of d's images in order and calls
// each with the batch (its first row lo) and fn's output for it, row-major;
// both are valid only during the call.
func forwardBatches(ctx context.Context, b backends.Backend, m *nn.Model, d Blocks, batch int,
	fn func(s *nn.Scope, images *graph.Node) *graph.Node, each func(lo int, bt *Data, out []float32) error) error {
	f, err := nn.NewFunc(b, m.Params, false, func(s *nn.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{fn(s, in[0])}
	})
	if err != nil {
		return err
	}
	defer f.Finalize()
	return Batches(ctx, d, batch, func(lo int, bt *Data) error {
		img := bt.images()
		res, err := f.Run(m.Params, []*tensors.Tensor{img})
		_ = img.FinalizeAll()
		if err != nil {
			return fmt.Errorf("examples %d..%d: %w", lo, lo+bt.Len()-1, err)
		}
		return each(lo, bt, res[0])
	})
}

// ImageEmbeddings returns the contrastive model's image embeddings [N,E].
func ImageEmbeddings(ctx context.Context, b backends.Backend, m *nn.Model, d Blocks, batch int) ([]float32, int, error) {
	if m.Kind != nn.KindContrastive {
		return nil, 0, fmt.Errorf("%w: image embeddings need a %s model, got %s", ErrData, nn.KindContrastive, m.Kind)
	}
	return forward(ctx, b, m, d, batch, func(s *nn.Scope, x *graph.Node) *graph.Node {
		return nn.ImageEmbedding(s, m.Config, x, false)
	})
}

// ProbabilityBatches streams the classifier's sigmoid outputs: fn gets
// each batch of d in order (its first row lo; its other columns, e.g.
// Labels and Mask, as d holds them) and the batch's probabilities
// [rows, L]; both are valid only during the call. Nothing grows with d.
func ProbabilityBatches(ctx context.Context, b backends.Backend, m *nn.Model, d Blocks, batch int,
	fn func(lo int, bt *Data, probs []float32) error) error {
	if m.Kind != nn.KindClassifier {
		return fmt.Errorf("%w: predictions need a %s model, got %s", ErrData, nn.KindClassifier, m.Kind)
	}
	return forwardBatches(ctx, b, m, d, batch, func(s *nn.Scope, x *graph.Node) *graph.Node {
		return graph.Sigmoid(nn.ClassifierLogits(s, m.Config, x))
	}, fn)
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
