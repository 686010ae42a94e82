package nn

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// LayerNormEpsilon is the epsilon of LayerNorm (GoMLX's layer defaults to
// 1e-3; ViTs use 1e-6).
const LayerNormEpsilon = 1e-6

// InitDense adds name/w [in,out] (Xavier uniform) and name/b [out] (zeros).
func InitDense(in *Init, name string, fanIn, fanOut int) {
	in.XavierUniform(name+"/w", fanIn, fanOut)
	in.Const(name+"/b", 0, fanOut)
}

// Dense applies x·w + b over the last axis of x (rank 2 or 3).
func Dense(s *Scope, x *Node) *Node {
	w, b := s.Var("w"), s.Var("b")
	var y *Node
	switch x.Rank() {
	case 2:
		y = s.einsum("bi,io->bo", x, w)
	case 3:
		y = s.einsum("bni,io->bno", x, w)
	default:
		panic(ErrConfig)
	}
	return Add(y, expandTo(b, y.Rank()))
}

// expandTo prepends axes of size 1 to x until it has rank r.
func expandTo(x *Node, r int) *Node {
	if x.Rank() >= r {
		return x
	}
	dims := make([]int, r)
	for i := range dims {
		dims[i] = 1
	}
	copy(dims[r-x.Rank():], x.Shape().Dimensions)
	return Reshape(x, dims...)
}

// InitLayerNorm adds name/scale (ones) and name/bias (zeros) of size d.
func InitLayerNorm(in *Init, name string, d int) {
	in.Const(name+"/scale", 1, d)
	in.Const(name+"/bias", 0, d)
}

// LayerNorm normalizes the last axis: (x-mean)/sqrt(var+eps)*scale+bias.
func LayerNorm(s *Scope, x *Node) *Node {
	last := x.Rank() - 1
	mean := ReduceAndKeep(x, ReduceMean, last)
	xc := Sub(x, mean)
	variance := ReduceAndKeep(Square(xc), ReduceMean, last)
	y := Div(xc, Sqrt(AddScalar(variance, LayerNormEpsilon))) // Rsqrt has no gradient in GoMLX
	return Add(Mul(y, expandTo(s.Var("scale"), x.Rank())), expandTo(s.Var("bias"), x.Rank()))
}

// GELU is the tanh approximation of the Gaussian error linear unit.
func GELU(x *Node) *Node {
	c := math.Sqrt(2 / math.Pi)
	inner := MulScalar(Add(x, MulScalar(Mul(x, Square(x)), 0.044715)), c)
	return Mul(MulScalar(x, 0.5), AddScalar(Tanh(inner), 1))
}

// InitAttention adds the q, k, v and o projections of width d.
func InitAttention(in *Init, name string, d int) {
	for _, p := range []string{"q", "k", "v", "o"} {
		InitDense(in, name+"/"+p, d, d)
	}
}

// Attention is multi-head attention of queries xq [B,Q,D] over tokens
// xkv [B,K,D] with logits scaled by 1/sqrt(head dim) (GoMLX's layer uses
// 1/dim).
func Attention(s *Scope, xq, xkv *Node, heads int) *Node {
	q := Dense(s.In("q"), xq)
	return attend(s, q, xkv, heads)
}

// attend runs attention given projected queries q [B,Q,D] (or [Q,D] shared
// by the batch).
func attend(s *Scope, q, xkv *Node, heads int) *Node {
	d := xkv.Shape().Dimensions[2]
	bsz, nk := xkv.Shape().Dimensions[0], xkv.Shape().Dimensions[1]
	dh := d / heads
	k := Reshape(Dense(s.In("k"), xkv), bsz, nk, heads, dh)
	v := Reshape(Dense(s.In("v"), xkv), bsz, nk, heads, dh)
	var logits *Node
	var nq int
	if q.Rank() == 2 { // shared queries
		nq = q.Shape().Dimensions[0]
		qh := Reshape(q, nq, heads, dh)
		logits = s.einsum("qhd,bkhd->bhqk", qh, k)
	} else {
		nq = q.Shape().Dimensions[1]
		qh := Reshape(q, bsz, nq, heads, dh)
		logits = s.einsum("bqhd,bkhd->bhqk", qh, k)
	}
	logits = MulScalar(logits, 1/math.Sqrt(float64(dh)))
	w := Softmax(logits, -1)
	o := s.einsum("bhqk,bkhd->bqhd", w, v)
	return Dense(s.In("o"), Reshape(o, bsz, nq, d))
}

// InitMLP adds fc1 [d, hidden] and fc2 [hidden, d].
func InitMLP(in *Init, name string, d, hidden int) {
	InitDense(in, name+"/fc1", d, hidden)
	InitDense(in, name+"/fc2", hidden, d)
}

// MLP is fc2(GELU(fc1(x))).
func MLP(s *Scope, x *Node) *Node {
	return Dense(s.In("fc2"), GELU(Dense(s.In("fc1"), x)))
}

// InitBlock adds a pre-LN transformer block.
func InitBlock(in *Init, name string, d, hidden int) {
	InitLayerNorm(in, name+"/ln1", d)
	InitAttention(in, name+"/attn", d)
	InitLayerNorm(in, name+"/ln2", d)
	InitMLP(in, name+"/mlp", d, hidden)
}

// Block is x + attn(ln1(x)), then + mlp(ln2(x)).
func Block(s *Scope, x *Node, heads int) *Node {
	h := LayerNorm(s.In("ln1"), x)
	x = Add(x, Attention(s.In("attn"), h, h, heads))
	return Add(x, MLP(s.In("mlp"), LayerNorm(s.In("ln2"), x)))
}

// SinCos2D returns the fixed 2-D sine-cosine position embedding
// [grid*grid, d] of MAE (d must be divisible by 4): half the channels
// encode the row, half the column.
func SinCos2D(grid, d int) []float32 {
	out := make([]float32, grid*grid*d)
	quarter := d / 4
	for r := range grid {
		for c := range grid {
			row := out[(r*grid+c)*d:]
			for i := range quarter {
				omega := 1 / math.Pow(10000, float64(i)/float64(quarter))
				// first half: column (w), second half: row (h), as MAE.
				row[i] = float32(math.Sin(float64(c) * omega))
				row[quarter+i] = float32(math.Cos(float64(c) * omega))
				row[2*quarter+i] = float32(math.Sin(float64(r) * omega))
				row[3*quarter+i] = float32(math.Cos(float64(r) * omega))
			}
		}
	}
	return out
}

func constF32(g *Graph, data []float32, dims ...int) *Node {
	return ConstTensor(g, tensors.FromFlatDataAndDimensions(data, dims...))
}

var f32 = dtypes.Float32
