package nn

import (
	"fmt"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
)

// MAEConfig sizes the masked-autoencoder decoder.
type MAEConfig struct {
	Width     int     `json:"width"`
	Depth     int     `json:"depth"`
	Heads     int     `json:"heads"`
	MaskRatio float64 `json:"mask_ratio"`
}

// Keep is the number of visible patches out of n.
func (m MAEConfig) Keep(n int) int { return min(n-1, max(1, int(float64(n)*(1-m.MaskRatio)+0.5))) }

// Validate checks the decoder config.
func (m MAEConfig) Validate() error {
	switch {
	case m.MaskRatio <= 0 || m.MaskRatio >= 1:
		return fmt.Errorf("%w: mask_ratio %g not in (0,1)", ErrConfig, m.MaskRatio)
	case m.Width < 4 || m.Width%4 != 0 || m.Heads < 1 || m.Width%m.Heads != 0:
		return fmt.Errorf("%w: decoder width %d must be a multiple of 4 and of heads %d", ErrConfig, m.Width, m.Heads)
	case m.Depth < 1:
		return fmt.Errorf("%w: decoder depth %d < 1", ErrConfig, m.Depth)
	}
	return nil
}

// InitDecoder adds the MAE decoder's parameters under "decoder/".
func InitDecoder(in *Init, c ViTConfig, m MAEConfig) {
	InitDense(in, "decoder/embed", c.Width, m.Width)
	in.Normal("decoder/mask_token", 0.02, m.Width)
	for i := range m.Depth {
		InitBlock(in, fmt.Sprintf("decoder/block%d", i), m.Width, int(c.MLPRatio*float64(m.Width)+0.5))
	}
	InitLayerNorm(in, "decoder/ln", m.Width)
	InitDense(in, "decoder/pred", m.Width, c.PatchDim())
}

// Masks draws, for each of b images, a random subset of keep of the n
// patches: sel [b, keep, n] one-hot rows (visible patches in random order)
// and masked [b, n] (1 where the patch is hidden).
func Masks(rng *rand.Rand, b, n, keep int) (sel, masked []float32) {
	sel = make([]float32, b*keep*n)
	masked = make([]float32, b*n)
	for i := range b {
		perm := rng.Perm(n)
		for j := range n {
			masked[i*n+j] = 1
		}
		for k := range keep {
			sel[(i*keep+k)*n+perm[k]] = 1
			masked[i*n+perm[k]] = 0
		}
	}
	return sel, masked
}

// MAELoss encodes the visible patches (sel [B,K,N]), decodes all N and
// returns the mean squared error on the masked patches (masked [B,N])
// against per-patch normalized pixels.
func MAELoss(s *Scope, c ViTConfig, m MAEConfig, images, sel, masked *Node) *Node {
	tokens := Embed(s, c, images)
	enc := Encode(s, c, Select(s, tokens, sel))
	y := Dense(s.In("decoder/embed"), enc) // [B,K,Dd]
	// Unshuffle: visible tokens back to their positions, mask token elsewhere.
	full := s.einsum("bkn,bkd->bnd", sel, y)
	b, n := masked.Shape().Dimensions[0], masked.Shape().Dimensions[1]
	mt := Reshape(s.Var("decoder/mask_token"), 1, 1, m.Width)
	full = Add(full, Mul(Reshape(masked, b, n, 1), mt))
	full = Add(full, expandTo(constF32(s.Graph(), SinCos2D(c.Grid(), m.Width), n, m.Width), 3))
	for i := range m.Depth {
		full = Block(s.In(fmt.Sprintf("decoder/block%d", i)), full, m.Heads)
	}
	pred := Dense(s.In("decoder/pred"), LayerNorm(s.In("decoder/ln"), full)) // [B,N,P*P]
	target := NormalizePatches(Patchify(c, images))
	perPatch := ReduceMean(Square(Sub(pred, target)), 2) // [B,N]
	return Div(ReduceAllSum(Mul(perPatch, masked)), MaxScalar(ReduceAllSum(masked), 1))
}

// NormalizePatches standardizes each patch [B,N,P] over its pixels.
func NormalizePatches(p *Node) *Node {
	mean := ReduceAndKeep(p, ReduceMean, 2)
	xc := Sub(p, mean)
	v := ReduceAndKeep(Square(xc), ReduceMean, 2)
	return Div(xc, Sqrt(AddScalar(v, 1e-6)))
}
