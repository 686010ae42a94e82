// This file is not part of medflow's packages: the Makefile adds it to
// GoMLX v0.26.0's backends/simplego package with `go build -overlay`
// (out/gomlx-overlay.json). It is the whole of medflow's change to GoMLX.
// Why, and the way back: see medflow's nn/blas/doc.go.

package simplego

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Float32Gemm, when set, computes batch products C_i = op(A_i)·op(B_i)
// (i < batch; A_i at a[i*strideA:], B_i at b[i*strideB:], C_i at
// c[i*strideC:]): C_i is m×n, row-major, leading dimension ldc; A_i is
// m×k (lda) or, with transA, k×m; B_i is k×n (ldb) or, with transB, n×k.
// c's previous contents must be ignored. medflow sets it to OpenBLAS's
// cblas_sgemm, batches split across goroutines (nn/blas.SgemmBatch).
var Float32Gemm func(transA, transB bool, m, n, k int, a []float32, lda, strideA int, b []float32, ldb, strideB int, c []float32, ldc, strideC, batch int)

func init() {
	setNodeExecutor(backends.OpTypeDotGeneral, priorityUser, execDotGeneralGemm)
}

// execDotGeneralGemm runs a float32 DotGeneral as a batch of GEMMs when
// Float32Gemm is set, and simplego's own executor otherwise.
// An operand whose axes are [batch..., cross..., contracting...] or
// [batch..., contracting..., cross...] (axes in the order DotGeneral
// lists them) is passed as it is, transposed or not; any other layout is
// first copied to [batch, cross, contracting] by simplego's own
// normalization.
func execDotGeneralGemm(backend *Backend, node *Node, inputs []*Buffer, owned []bool) (*Buffer, error) {
	lhs, rhs := inputs[0], inputs[1]
	if Float32Gemm == nil || lhs.shape.DType != dtypes.Float32 || rhs.shape.DType != dtypes.Float32 {
		return execDotGeneral(backend, node, inputs, owned)
	}
	p := node.data.(*dotGeneralNodeData)
	m, n, k, batch := p.lhsCrossSize, p.rhsCrossSize, p.contractingSize, p.batchSize
	a, aContractFirst, aTmp := gemmOperand(backend, lhs, p.lhsContractingAxes, p.lhsBatchAxes, batch, m, k)
	b, bContractFirst, bTmp := gemmOperand(backend, rhs, p.rhsContractingAxes, p.rhsBatchAxes, batch, n, k)
	// lhs is op(A) with A m×k, or k×m stored (transposed) when its
	// contracting axes come first; rhs is op(B) with B k×n when its
	// contracting axes come first, else n×k (transposed).
	transA, lda := aContractFirst, k
	if transA {
		lda = m
	}
	transB, ldb := !bContractFirst, n
	if transB {
		ldb = k
	}
	output := backend.getBufferForShape(node.shape)
	c := output.flat.([]float32)
	Float32Gemm(transA, transB, m, n, k, a, lda, m*k, b, ldb, n*k, c, n, m*n, batch)
	for _, t := range []*Buffer{aTmp, bTmp} {
		if t != nil {
			backend.putBuffer(t)
		}
	}
	return output, nil
}

// gemmOperand returns the operand's values as batch matrices of cross×
// contracting elements, stored contracting-major when contractFirst, and
// the temporary buffer it copied them to, if any.
func gemmOperand(backend *Backend, source *Buffer, contractingAxes, batchAxes []int, batch, cross, contracting int) (flat []float32, contractFirst bool, tmp *Buffer) {
	if layout, ok := gemmLayout(source.shape.Rank(), contractingAxes, batchAxes); ok {
		return source.flat.([]float32), layout, nil
	}
	tmp = dgNormalizeShape[float32](backend, source, contractingAxes, batchAxes, batch, cross, contracting)
	if tmp == nil { // already [batch, cross, contracting]
		return source.flat.([]float32), false, nil
	}
	return tmp.flat.([]float32), false, tmp
}

// gemmLayout reports whether an operand of the given rank can be read in
// place: its batch axes lead, in order, and its contracting axes, in the
// order listed, are either the last axes (contractFirst false) or
// immediately follow the batch axes (contractFirst true).
func gemmLayout(rank int, contractingAxes, batchAxes []int) (contractFirst, ok bool) {
	for i, axis := range batchAxes {
		if axis != i {
			return false, false
		}
	}
	inOrderFrom := func(start int) bool {
		for i, axis := range contractingAxes {
			if axis != start+i {
				return false
			}
		}
		return true
	}
	nb, nc := len(batchAxes), len(contractingAxes)
	switch {
	case inOrderFrom(rank - nc):
		return false, true
	case inOrderFrom(nb):
		return true, true
	}
	return false, false
}
