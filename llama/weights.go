package llama

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// ErrWeights means a weight is missing or has the wrong shape.
var ErrWeights = errors.New("llama: weights")

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Weights maps Hugging Face parameter names (see Names) to tensors in the
// Hugging Face layout: Linear weights are [out, in], so y = x·Wᵀ.
type Weights map[string]Tensor

// Param describes one parameter of the model.
type Param struct {
	Name  string
	Shape []int
	// Linear marks an [out, in] projection (transposed to [in, out] in ONNX).
	Linear bool
}

// Layer parameter name suffixes under model.layers.N.
const (
	InputNorm = "input_layernorm.weight"
	PostNorm  = "post_attention_layernorm.weight"
	QProj     = "self_attn.q_proj.weight"
	KProj     = "self_attn.k_proj.weight"
	VProj     = "self_attn.v_proj.weight"
	OProj     = "self_attn.o_proj.weight"
	GateProj  = "mlp.gate_proj.weight"
	UpProj    = "mlp.up_proj.weight"
	DownProj  = "mlp.down_proj.weight"
	Embed     = "model.embed_tokens.weight"
	FinalNorm = "model.norm.weight"
)

// LayerName is the full name of a layer parameter.
func LayerName(layer int, suffix string) string {
	return "model.layers." + strconv.Itoa(layer) + "." + suffix
}

// LayerParams lists the parameters of one decoder layer in graph order.
func (c Config) LayerParams(layer int) []Param {
	hd := c.HeadDim()
	return []Param{
		{LayerName(layer, InputNorm), []int{c.Dim}, false},
		{LayerName(layer, QProj), []int{c.Heads * hd, c.Dim}, true},
		{LayerName(layer, KProj), []int{c.KVHeads * hd, c.Dim}, true},
		{LayerName(layer, VProj), []int{c.KVHeads * hd, c.Dim}, true},
		{LayerName(layer, OProj), []int{c.Dim, c.Heads * hd}, true},
		{LayerName(layer, PostNorm), []int{c.Dim}, false},
		{LayerName(layer, GateProj), []int{c.Hidden, c.Dim}, true},
		{LayerName(layer, UpProj), []int{c.Hidden, c.Dim}, true},
		{LayerName(layer, DownProj), []int{c.Dim, c.Hidden}, true},
	}
}

// Params lists every parameter of the model in graph order.
func (c Config) Params() []Param {
	ps := []Param{{Embed, []int{c.Vocab, c.Dim}, false}}
	for l := 0; l < c.Layers; l++ {
		ps = append(ps, c.LayerParams(l)...)
	}
	return append(ps, Param{FinalNorm, []int{c.Dim}, false})
}

// Check verifies that w holds every parameter of cfg with the right shape.
func (w Weights) Check(cfg Config) error {
	for _, p := range cfg.Params() {
		t, ok := w[p.Name]
		if !ok {
			return fmt.Errorf("%w: missing %s", ErrWeights, p.Name)
		}
		if !slices.Equal(t.Shape, p.Shape) {
			return fmt.Errorf("%w: %s has shape %v, want %v", ErrWeights, p.Name, t.Shape, p.Shape)
		}
		if len(t.Data) != numel(p.Shape) {
			return fmt.Errorf("%w: %s has %d values, shape %v needs %d", ErrWeights, p.Name, len(t.Data), p.Shape, numel(p.Shape))
		}
	}
	return nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// RandomWeights returns deterministic random weights for cfg: embeddings
// N(0,1), Linear weights N(0, 1/in) (so every layer keeps activations of
// order one), norm weights 1+N(0, 0.1²).
func RandomWeights(cfg Config, seed int64) Weights {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c6c616d61))
	w := Weights{}
	for _, p := range cfg.Params() {
		data := make([]float32, numel(p.Shape))
		switch {
		case p.Linear:
			std := 1 / math.Sqrt(float64(p.Shape[1]))
			for i := range data {
				data[i] = float32(rng.NormFloat64() * std)
			}
		case len(p.Shape) == 1: // RMSNorm scale
			for i := range data {
				data[i] = float32(1 + 0.1*rng.NormFloat64())
			}
		default:
			for i := range data {
				data[i] = float32(rng.NormFloat64())
			}
		}
		w[p.Name] = Tensor{Shape: slices.Clone(p.Shape), Data: data}
	}
	return w
}
