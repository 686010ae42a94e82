package nn

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
)

// UnitRows scales the rows of x [B,E] to unit length.
func UnitRows(x *Node) *Node {
	return Div(x, Sqrt(MaxScalar(ReduceAndKeep(Square(x), ReduceSum, 1), 1e-12)))
}

// PairDistances returns d[i,j] = ‖u_i − t_j‖ for u [B,E], t [B,E].
func PairDistances(s *Scope, u, t *Node) *Node {
	uu := ReduceAndKeep(Square(u), ReduceSum, 1)                       // [B,1]
	tt := Reshape(ReduceSum(Square(t), 1), 1, t.Shape().Dimensions[0]) // [1,B]
	ut := s.einsum("ie,je->ij", u, t)
	d2 := Sub(Add(uu, tt), MulScalar(ut, 2))
	return Sqrt(MaxScalar(d2, 1e-12))
}

// MarginLoss is the poster's contrastive loss between image embeddings u
// and text embeddings t [B,E]: matched pairs (i,i) are positives, every
// other pair (i,j) in the batch a negative:
//
//	L = mean_i d_ii² + mean_{i≠j} max(0, ε − d_ij)²,   d_ij = ‖u_i − t_j‖
//
// The two means weigh positives and negatives equally whatever B.
func MarginLoss(s *Scope, u, t *Node, margin float64) *Node {
	d := PairDistances(s, u, t)
	b := d.Shape().Dimensions[0]
	eye := identity(s.Graph(), b)
	pos := Div(ReduceAllSum(Mul(Square(d), eye)), Scalar(s.Graph(), f32, float64(b)))
	hinge := Square(MaxScalar(Neg(AddScalar(d, -margin)), 0))
	neg := Div(ReduceAllSum(Mul(hinge, OneMinus(eye))), Scalar(s.Graph(), f32, float64(max(1, b*(b-1)))))
	return Add(pos, neg)
}

// MaxLogitScale caps the learnable InfoNCE scale at 100, as CLIP.
var MaxLogitScale = math.Log(100)

// InfoNCELoss is the symmetric CLIP loss over cosine similarities of u and
// t [B,E] scaled by exp(logitScale) (a learnable scalar, capped at 100):
// the mean of the image→text and text→image cross-entropies with the
// matched pair as the class.
func InfoNCELoss(s *Scope, u, t, logitScale *Node) *Node {
	un, tn := UnitRows(u), UnitRows(t)
	scale := Exp(MinScalar(logitScale, MaxLogitScale))
	logits := Mul(s.einsum("ie,je->ij", un, tn), scale)
	b := logits.Shape().Dimensions[0]
	eye := identity(s.Graph(), b)
	bf := Scalar(s.Graph(), f32, float64(b))
	i2t := Neg(Div(ReduceAllSum(Mul(LogSoftmax(logits, 1), eye)), bf))
	t2i := Neg(Div(ReduceAllSum(Mul(LogSoftmax(logits, 0), eye)), bf))
	return MulScalar(Add(i2t, t2i), 0.5)
}

// BCEWithLogits is the masked binary cross-entropy of logits z against
// targets y (both [B,L]) counting only entries where mask is 1:
// Σ mask·(max(z,0) − y·z + log(1+e^{−|z|})) / max(Σ mask, 1).
func BCEWithLogits(z, y, mask *Node) *Node {
	l := Add(Sub(MaxScalar(z, 0), Mul(y, z)), Log1p(Exp(Neg(Abs(z)))))
	return Div(ReduceAllSum(Mul(l, mask)), MaxScalar(ReduceAllSum(mask), 1))
}

func identity(g *Graph, n int) *Node {
	d := make([]float32, n*n)
	for i := range n {
		d[i*n+i] = 1
	}
	return constF32(g, d, n, n)
}
