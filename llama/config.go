package llama

import (
	"errors"
	"fmt"
)

// ErrConfig means a Config is not usable.
var ErrConfig = errors.New("llama: invalid config")

// Config is the shape of a Llama-architecture decoder.
type Config struct {
	Vocab     int     `json:"vocab"`
	Dim       int     `json:"dim"`
	Layers    int     `json:"layers"`
	Heads     int     `json:"heads"`
	KVHeads   int     `json:"kv_heads"`
	Hidden    int     `json:"hidden"`
	MaxSeq    int     `json:"max_seq"`
	RopeTheta float64 `json:"rope_theta"`
	NormEps   float64 `json:"norm_eps"`
}

// HeadDim is Dim / Heads.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.Vocab <= 0 || c.Dim <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.Hidden <= 0 || c.MaxSeq <= 0:
		return fmt.Errorf("%w: vocab, dim, layers, heads, kv_heads, hidden and max_seq must be > 0 (got %+v)", ErrConfig, c)
	case c.Dim%c.Heads != 0:
		return fmt.Errorf("%w: dim %d not divisible by heads %d", ErrConfig, c.Dim, c.Heads)
	case c.HeadDim()%2 != 0:
		return fmt.Errorf("%w: head dim %d must be even for rotary embeddings", ErrConfig, c.HeadDim())
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("%w: heads %d not divisible by kv_heads %d", ErrConfig, c.Heads, c.KVHeads)
	case !(c.RopeTheta > 0):
		return fmt.Errorf("%w: rope_theta %v must be > 0", ErrConfig, c.RopeTheta)
	case !(c.NormEps > 0):
		return fmt.Errorf("%w: norm_eps %v must be > 0", ErrConfig, c.NormEps)
	}
	return nil
}

// TinyConfig is a 2-layer random-weight model with the Llama-2 vocabulary
// size (to pair with the real Llama-2 tokenizer) and grouped-query attention
// (4 heads, 2 KV heads), small enough for unit tests.
func TinyConfig() Config {
	return Config{Vocab: 32000, Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, Hidden: 176, MaxSeq: 4096, RopeTheta: 10000, NormEps: 1e-5}
}

// Llama2_7B is the shape of Meta's Llama-2-7B.
func Llama2_7B() Config {
	return Config{Vocab: 32000, Dim: 4096, Layers: 32, Heads: 32, KVHeads: 32, Hidden: 11008, MaxSeq: 4096, RopeTheta: 10000, NormEps: 1e-5}
}

// HiddenFor is the MLP width Llama uses for dim: 2/3 of 4*dim rounded up
// to a multiple of 16 (~2.7*dim; TinyConfig uses HiddenFor(64) = 176).
func HiddenFor(dim int) int {
	h := 8 * dim / 3
	return (h + 15) / 16 * 16
}
