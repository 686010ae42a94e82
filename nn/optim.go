package nn

import (
	"fmt"
	"math"
)

// AdamWConfig holds the optimizer's hyper-parameters.
type AdamWConfig struct {
	Beta1, Beta2, Eps float64
	WeightDecay       float64
}

// DefaultAdamW is β=(0.9, 0.95), ε=1e-8 (MAE's settings) with decay 0.05.
var DefaultAdamW = AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.05}

// AdamW is decoupled-weight-decay Adam over Go-held parameters. Decay
// applies only to tensors for which Decays is true (weight matrices), not
// to biases, norms, embeddings, tokens or the temperature.
//
// The update runs in Go on the host: the parameters are uploaded as graph
// inputs each step, which for the model sizes here costs far less than the
// step itself and keeps the optimizer state a plain checkpointable table.
type AdamW struct {
	Cfg  AdamWConfig
	Step int64                // number of updates done
	M, V map[string][]float32 // first and second moments by parameter name
}

// NewAdamW returns an optimizer with zeroed state.
func NewAdamW(cfg AdamWConfig) *AdamW {
	return &AdamW{Cfg: cfg, M: map[string][]float32{}, V: map[string][]float32{}}
}

// Update applies one step with learning rate lr to params[i] given
// grads[i] (same order and sizes).
func (o *AdamW) Update(params []*Tensor, grads [][]float32, lr float64) error {
	if len(params) != len(grads) {
		return fmt.Errorf("%w: %d params but %d gradients", ErrParam, len(params), len(grads))
	}
	o.Step++
	b1, b2 := o.Cfg.Beta1, o.Cfg.Beta2
	c1 := 1 - math.Pow(b1, float64(o.Step))
	c2 := 1 - math.Pow(b2, float64(o.Step))
	for i, p := range params {
		g := grads[i]
		if len(g) != len(p.Data) {
			return fmt.Errorf("%w %q: gradient size %d, parameter size %d", ErrParam, p.Name, len(g), len(p.Data))
		}
		m, v := o.M[p.Name], o.V[p.Name]
		if m == nil {
			m, v = make([]float32, len(g)), make([]float32, len(g))
			o.M[p.Name], o.V[p.Name] = m, v
		}
		decay := 0.0
		if Decays(p.Name, p.Shape) {
			decay = o.Cfg.WeightDecay
		}
		for j, gj := range g {
			gd := float64(gj)
			mj := b1*float64(m[j]) + (1-b1)*gd
			vj := b2*float64(v[j]) + (1-b2)*gd*gd
			m[j], v[j] = float32(mj), float32(vj)
			w := float64(p.Data[j])
			w -= lr * (mj/c1/(math.Sqrt(vj/c2)+o.Cfg.Eps) + decay*w)
			p.Data[j] = float32(w)
		}
	}
	return nil
}

// GlobalNorm is the L2 norm of all gradients together.
func GlobalNorm(grads [][]float32) float64 {
	var s float64
	for _, g := range grads {
		for _, x := range g {
			s += float64(x) * float64(x)
		}
	}
	return math.Sqrt(s)
}

// ClipGlobalNorm scales grads in place so their global norm is at most
// maxNorm (no-op when maxNorm <= 0) and returns the norm before clipping.
// A non-finite norm is an error wrapping ErrNonFinite.
func ClipGlobalNorm(grads [][]float32, maxNorm float64) (float64, error) {
	n := GlobalNorm(grads)
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return n, fmt.Errorf("%w: gradient norm %g", ErrNonFinite, n)
	}
	if maxNorm > 0 && n > maxNorm {
		f := float32(maxNorm / n)
		for _, g := range grads {
			for j := range g {
				g[j] *= f
			}
		}
	}
	return n, nil
}

// Schedule is linear warm-up to Peak over Warmup steps, then cosine decay
// to Peak*MinRatio at Total steps.
type Schedule struct {
	Peak     float64
	Warmup   int64
	Total    int64
	MinRatio float64
}

// LR returns the learning rate of step (0-based).
func (s Schedule) LR(step int64) float64 {
	if s.Warmup > 0 && step < s.Warmup {
		return s.Peak * float64(step+1) / float64(s.Warmup)
	}
	span := s.Total - s.Warmup
	if span <= 0 {
		return s.Peak
	}
	frac := math.Min(1, float64(step-s.Warmup)/float64(span))
	lo := s.Peak * s.MinRatio
	return lo + (s.Peak-lo)*0.5*(1+math.Cos(math.Pi*frac))
}
