package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := Backend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randData(rng *rand.Rand, n int, scale float64) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(rng.NormFloat64() * scale)
	}
	return d
}

func tinyViT() ViTConfig {
	return ViTConfig{Image: 16, Patch: 4, Width: 16, Depth: 1, Heads: 2, MLPRatio: 2, Pos: "sincos"}
}

// gradsOf runs fn's gradients with custom and with stock einsum gradients.
func gradsOf(t *testing.T, p *Params, fn LossFn, data []*tensors.Tensor) (custom, stock StepOut) {
	t.Helper()
	b := testBackend(t)
	for i, useStock := range []bool{false, true} {
		st, err := NewStep(b, p, nil, useStock, fn)
		if err != nil {
			t.Fatal(err)
		}
		out, err := st.Run(p, data)
		st.Finalize()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			custom = out
		} else {
			stock = out
		}
	}
	return custom, stock
}

// maxRelDiff is the largest |a-b| relative to the largest |b| over all
// tensors (a per-tensor scale would amplify float noise in gradients that
// are mathematically zero, e.g. attention key biases).
func maxRelDiff(a, b [][]float32) float64 {
	var scale, worst float64
	for i := range b {
		for j := range b[i] {
			scale = math.Max(scale, math.Abs(float64(b[i][j])))
			worst = math.Max(worst, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return worst / math.Max(scale, 1e-12)
}

// TestCustomGradientsMatchStock compares every layer's einsum gradients
// (dense, attention, MLP, blocks, masking selection, decoder, pooling,
// losses) with GoMLX's own differentiation of the same graph.
func TestCustomGradientsMatchStock(t *testing.T) {
	enc := tinyViT()
	mae := MAEConfig{Width: 8, Depth: 1, Heads: 2, MaskRatio: 0.75}
	rng := rand.New(rand.NewPCG(1, 2))
	const bsz = 3
	n := enc.Tokens()
	keep := mae.Keep(n)
	sel, masked := Masks(rng, bsz, n, keep)
	images := F32(randData(rng, bsz*enc.Image*enc.Image, 1), bsz, enc.Image*enc.Image)
	text := F32(randData(rng, bsz*6, 1), bsz, 6)
	labels := make([]float32, bsz*3)
	mask := make([]float32, bsz*3)
	for i := range labels {
		labels[i] = float32(rng.IntN(2))
		mask[i] = float32(rng.IntN(2))
	}

	m, err := NewMAE(enc, mae, 7)
	if err != nil {
		t.Fatal(err)
	}
	con, err := NewContrastive(m, PoolConfig{Queries: 2, Heads: 2, EmbedDim: 6},
		ContrastiveConfig{Loss: "infonce", TemperatureInit: 0.1}, 8)
	if err != nil {
		t.Fatal(err)
	}
	conMargin, err := NewContrastive(m, PoolConfig{Queries: 1, Heads: 2, EmbedDim: 6},
		ContrastiveConfig{Loss: "margin", Margin: 1, Normalize: true}, 8)
	if err != nil {
		t.Fatal(err)
	}
	cls, err := NewClassifier(con, "attention", "finetune", 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		model *Model
		fn    LossFn
		data  []*tensors.Tensor
	}{
		{"mae", m, MAEStep(m.Config), []*tensors.Tensor{images, F32(sel, bsz, keep, n), F32(masked, bsz, n)}},
		{"contrastive-infonce", con, ContrastiveStep(con.Config), []*tensors.Tensor{images, text}},
		{"contrastive-margin", conMargin, ContrastiveStep(conMargin.Config), []*tensors.Tensor{images, text}},
		{"classifier", cls, ClassifierStep(cls.Config), []*tensors.Tensor{images, F32(labels, bsz, 3), F32(mask, bsz, 3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			custom, stock := gradsOf(t, c.model.Params, c.fn, c.data)
			if math.Abs(float64(custom.Loss-stock.Loss)) > 1e-5*math.Max(1, math.Abs(float64(stock.Loss))) {
				t.Fatalf("loss custom %g stock %g", custom.Loss, stock.Loss)
			}
			if d := maxRelDiff(custom.Grads, stock.Grads); d > 1e-4 {
				t.Fatalf("gradients differ: max relative diff %g", d)
			}
			if n := GlobalNorm(custom.Grads); n == 0 || math.IsNaN(n) {
				t.Fatalf("gradient norm %g", n)
			}
		})
	}
}

// TestFiniteDifferences checks the custom gradients of a block + attention
// pool + margin loss against central finite differences on a few entries.
func TestFiniteDifferences(t *testing.T) {
	enc := ViTConfig{Image: 8, Patch: 4, Width: 8, Depth: 1, Heads: 2, MLPRatio: 2, Pos: "learned"}
	m, err := NewMAE(enc, MAEConfig{Width: 8, Depth: 1, Heads: 2, MaskRatio: 0.5}, 3)
	if err != nil {
		t.Fatal(err)
	}
	con, err := NewContrastive(m, PoolConfig{Queries: 1, Heads: 2, EmbedDim: 4},
		ContrastiveConfig{Loss: "margin", Margin: 2}, 4)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const bsz = 3
	data := []*tensors.Tensor{F32(randData(rng, bsz*64, 1), bsz, 64), F32(randData(rng, bsz*4, 1), bsz, 4)}
	b := testBackend(t)
	st, err := NewStep(b, con.Params, nil, false, ContrastiveStep(con.Config))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Finalize()
	out, err := st.Run(con.Params, data)
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func() float64 {
		o, err := st.Run(con.Params, data)
		if err != nil {
			t.Fatal(err)
		}
		return float64(o.Loss)
	}
	train := st.Trainable(con.Params)
	checked := 0
	for i, p := range train {
		for _, j := range []int{0, len(p.Data) / 2} {
			orig := p.Data[j]
			const h = 1e-2
			p.Data[j] = orig + h
			up := lossAt()
			p.Data[j] = orig - h
			down := lossAt()
			p.Data[j] = orig
			fd := (up - down) / (2 * h)
			g := float64(out.Grads[i][j])
			if math.Abs(fd-g) > 2e-2*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s[%d]: gradient %g, finite difference %g", p.Name, j, g, fd)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d entries", checked)
	}
}

// evalLoss builds and runs a one-output graph.
func evalLoss(t *testing.T, fn func(s *Scope, d []*graph.Node) *graph.Node, data ...*tensors.Tensor) float64 {
	t.Helper()
	f, err := NewFunc(testBackend(t), NewParams(), false, func(s *Scope, d []*graph.Node) []*graph.Node {
		return []*graph.Node{fn(s, d)}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Finalize()
	out, err := f.Run(NewParams(), data)
	if err != nil {
		t.Fatal(err)
	}
	return float64(out[0][0])
}

func TestLossesByHand(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const bsz, e = 4, 3
	u := randData(rng, bsz*e, 0.7)
	v := randData(rng, bsz*e, 0.7)
	dist := func(i, j int) float64 {
		var s float64
		for k := range e {
			d := float64(u[i*e+k] - v[j*e+k])
			s += d * d
		}
		return math.Sqrt(s)
	}
	for _, margin := range []float64{0.5, 1.5, 3} {
		var pos, neg float64
		for i := range bsz {
			for j := range bsz {
				if i == j {
					pos += dist(i, j) * dist(i, j)
				} else {
					h := math.Max(0, margin-dist(i, j))
					neg += h * h
				}
			}
		}
		want := pos/bsz + neg/(bsz*(bsz-1))
		got := evalLoss(t, func(s *Scope, d []*graph.Node) *graph.Node { return MarginLoss(s, d[0], d[1], margin) },
			F32(u, bsz, e), F32(v, bsz, e))
		if math.Abs(got-want) > 1e-4*math.Max(1, want) {
			t.Errorf("margin %g: got %g want %g", margin, got, want)
		}
	}

	// InfoNCE: symmetric cross-entropy over cosine similarities * scale.
	norm := func(x []float32, i int) []float64 {
		var s float64
		for k := range e {
			s += float64(x[i*e+k]) * float64(x[i*e+k])
		}
		out := make([]float64, e)
		for k := range e {
			out[k] = float64(x[i*e+k]) / math.Sqrt(s)
		}
		return out
	}
	scale := 1 / 0.07
	logit := func(i, j int) float64 {
		a, b := norm(u, i), norm(v, j)
		var s float64
		for k := range e {
			s += a[k] * b[k]
		}
		return s * scale
	}
	var i2t, t2i float64
	for i := range bsz {
		var zr, zc float64
		for j := range bsz {
			zr += math.Exp(logit(i, j))
			zc += math.Exp(logit(j, i))
		}
		i2t -= logit(i, i) - math.Log(zr)
		t2i -= logit(i, i) - math.Log(zc)
	}
	want := (i2t + t2i) / (2 * bsz)
	got := evalLoss(t, func(s *Scope, d []*graph.Node) *graph.Node {
		return InfoNCELoss(s, d[0], d[1], graph.Const(s.Graph(), float32(math.Log(scale))))
	}, F32(u, bsz, e), F32(v, bsz, e))
	if math.Abs(got-want) > 1e-4*math.Max(1, want) {
		t.Errorf("infonce: got %g want %g", got, want)
	}

	// BCE with a label mask, including an all-masked row and large logits.
	z := randData(rng, bsz*e, 5)
	z[0] = 40
	y := make([]float32, bsz*e)
	mk := make([]float32, bsz*e)
	for i := range y {
		y[i] = float32(rng.IntN(2))
		mk[i] = float32(rng.IntN(2))
	}
	mk[0] = 1
	for k := range e {
		mk[e+k] = 0
	}
	var sum, cnt float64
	for i := range z {
		if mk[i] == 0 {
			continue
		}
		p := 1 / (1 + math.Exp(-float64(z[i])))
		l := -float64(y[i])*math.Log(p) - (1-float64(y[i]))*math.Log1p(-p)
		if math.IsInf(l, 0) { // p rounds to 1: use the limit -y*z + z
			l = float64(z[i]) * (1 - float64(y[i]))
		}
		sum += l
		cnt++
	}
	want = sum / cnt
	got = evalLoss(t, func(s *Scope, d []*graph.Node) *graph.Node { return BCEWithLogits(d[0], d[1], d[2]) },
		F32(z, bsz, e), F32(y, bsz, e), F32(mk, bsz, e))
	if math.Abs(got-want) > 1e-4*math.Max(1, want) {
		t.Errorf("bce: got %g want %g", got, want)
	}
}
