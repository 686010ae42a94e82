package nn

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
)

// PoolConfig sizes the attention pooling and the projection to the text
// embedding size.
type PoolConfig struct {
	Queries  int `json:"queries"`   // learned queries; their outputs are averaged
	Heads    int `json:"heads"`     // attention heads (divides the encoder width)
	EmbedDim int `json:"embed_dim"` // output size (the text embedding's D); 0: no projection
}

// InitPool adds, under name/, learned queries, an attention over the
// tokens, and (EmbedDim > 0) a LayerNorm + linear projection to EmbedDim.
func InitPool(in *Init, name string, width int, p PoolConfig) {
	in.Normal(name+"/query", 0.02, p.Queries, width)
	InitLayerNorm(in, name+"/ln", width)
	InitAttention(in, name+"/attn", width)
	if p.EmbedDim > 0 {
		InitLayerNorm(in, name+"/proj_ln", width)
		InitDense(in, name+"/proj", width, p.EmbedDim)
	}
}

// AttentionPool pools tokens [B,N,D] into [B,D] with learned queries
// attending over the (layer-normalized) tokens, averaging the query
// outputs; with a projection it returns [B,EmbedDim].
func AttentionPool(s *Scope, tokens *Node, p PoolConfig) *Node {
	kv := LayerNorm(s.In("ln"), tokens)
	q := Dense(s.In("attn/q"), s.Var("query")) // [Q,D]
	pooled := ReduceMean(attend(s.In("attn"), q, kv, p.Heads), 1)
	if p.EmbedDim > 0 {
		pooled = Dense(s.In("proj"), LayerNorm(s.In("proj_ln"), pooled))
	}
	return pooled
}
