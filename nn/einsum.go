package nn

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
)

// FastEinsum is graph.Einsum for two operands whose gradients are themselves
// einsums: dA = einsum("out,rhs->lhs", v, B) and dB = einsum("lhs,out->rhs",
// A, v). GoMLX differentiates DotGeneral by broadcast-multiply plus
// reduce-sum, materialising [batch, cross, cross, contracted] tensors; on
// simplego that made the backward of a ViT ~7x its forward.
//
// How: the forward is computed on StopGradient'ed operands; a zero-valued
// scalar "link", built from both operands through
// IdentityWithCustomGradient nodes, is added to it, and the sum passes
// through one more such node. Reverse
// autodiff reaches that node first (it is downstream of the operands) and
// its custom gradient records v = dLoss/dOut; the operands' custom
// gradients then return the two einsums of v (the zero gradients it
// returns feed only nodes nothing uses, which the backends drop). The link
// costs one reduction per operand and one add.
//
// Every index must appear in at least two of lhs, rhs and out (no index
// summed inside a single operand); FastEinsum panics otherwise.
func FastEinsum(eq string, a, b *Node) *Node {
	lhs, rhs, out := parseEinsum(eq)
	y := graph.Einsum(eq, StopGradient(a), StopGradient(b))
	var v *Node
	aT := IdentityWithCustomGradient(a, func(x, _ *Node) *Node {
		if v == nil {
			return ZerosLike(x)
		}
		return graph.Einsum(out+","+rhs+"->"+lhs, v, StopGradient(b))
	})
	bT := IdentityWithCustomGradient(b, func(x, _ *Node) *Node {
		if v == nil {
			return ZerosLike(x)
		}
		return chunkedEinsum(lhs, out, rhs, StopGradient(a), v)
	})
	zero := MulScalar(Add(ReduceAllSum(aT), ReduceAllSum(bT)), 0)
	return IdentityWithCustomGradient(Add(y, zero), func(x, vv *Node) *Node {
		v = vv
		return ZerosLike(x)
	})
}

func parseEinsum(eq string) (lhs, rhs, out string) {
	io := strings.Split(strings.ReplaceAll(eq, " ", ""), "->")
	if len(io) != 2 {
		panic(fmt.Errorf("%w: einsum %q: want \"lhs,rhs->out\"", ErrConfig, eq))
	}
	ins := strings.Split(io[0], ",")
	if len(ins) != 2 {
		panic(fmt.Errorf("%w: einsum %q: want two operands", ErrConfig, eq))
	}
	lhs, rhs, out = ins[0], ins[1], io[1]
	for _, c := range lhs + rhs + out {
		n := 0
		for _, s := range []string{lhs, rhs, out} {
			if strings.ContainsRune(s, c) {
				n++
			}
		}
		if n < 2 {
			panic(fmt.Errorf("%w: einsum %q: index %q appears in only one of lhs, rhs, out", ErrConfig, eq, c))
		}
	}
	return lhs, rhs, out
}

// einsum dispatches to the custom-gradient FastEinsum or, when the scope asks
// for stock gradients (benchmarks, tests), to graph.Einsum.
func (s *Scope) einsum(eq string, a, b *Node) *Node {
	if s.Stock {
		return graph.Einsum(eq, a, b)
	}
	return FastEinsum(eq, a, b)
}

// einsumChunks is how many chunks chunkedEinsum splits a summed leading
// index into (fixed, so results do not depend on the machine).
const einsumChunks = 8

// chunkedEinsum is einsum(x,y->z) (index strings xs, ys, zs). When x and
// y share their leading index and z lacks it (a weight gradient
// "bni,bno->io": a long contraction over the batch and no batch axis),
// simplego runs the matmul on one core; splitting that index into
// einsumChunks chunks made a batch axis, then summing the chunks' partial
// products, spreads it over the cores (simplego parallelises a
// DotGeneral over its batch). Otherwise it is graph.Einsum.
func chunkedEinsum(xs, ys, zs string, x, y *Node) *Node {
	eq := xs + "," + ys + "->" + zs
	c := rune(xs[0])
	if xs[0] != ys[0] || strings.ContainsRune(zs, c) || strings.Contains(eq, "Z") {
		return graph.Einsum(eq, x, y)
	}
	n := x.Shape().Dimensions[0]
	p := einsumChunks
	for p > 1 && n%p != 0 {
		p /= 2
	}
	if p == 1 || n/p < 2 {
		return graph.Einsum(eq, x, y)
	}
	const k = "Z" // the chunk index: parseEinsum's equations use lower case
	split := func(t *Node) *Node {
		return Reshape(t, append([]int{p, n / p}, t.Shape().Dimensions[1:]...)...)
	}
	return ReduceSum(graph.Einsum(k+xs+","+k+ys+"->"+k+zs, split(x), split(y)), 0)
}
