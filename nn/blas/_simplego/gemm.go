// This file is not part of medflow's packages: the Makefile adds it to
// GoMLX v0.26.0's backends/simplego package with `go build -overlay`
// (out/gomlx-overlay.json). It is the whole of medflow's change to GoMLX.
// Why, and the way back: see medflow's nn/blas/doc.go.

package simplego

import (
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Float32Gemm, when set, computes batch products C_i = op(A_i)·op(B_i)
// (i < batch; A_i at a[aOff[i]:], B_i at b[bOff[i]:], C_i at
// c[i*strideC:]): C_i is m×n, row-major, leading dimension ldc; A_i is
// m×k (lda) or, with transA, k×m; B_i is k×n (ldb) or, with transB, n×k.
// c's previous contents must be ignored. medflow sets it to OpenBLAS's
// cblas_sgemm, batches split across goroutines (nn/blas.SgemmBatch).
var Float32Gemm func(transA, transB bool, m, n, k int, a []float32, lda int, aOff []int, b []float32, ldb int, bOff []int, c []float32, ldc, strideC, batch int)

// MedflowGemmCopies counts the operands execDotGeneralGemm copied to
// [batch, cross, contracting] because they could not be read in place.
var MedflowGemmCopies atomic.Int64

func init() {
	setNodeExecutor(backends.OpTypeDotGeneral, priorityUser, execDotGeneralGemm)
}

// execDotGeneralGemm runs a float32 DotGeneral as a batch of GEMMs when
// Float32Gemm is set, and simplego's own executor otherwise. An operand
// whose cross axes and whose contracting axes each merge into one strided
// dimension, one of the two with unit stride, is read in place (batch
// axes anywhere: each product gets its own offset, as for attention's
// [batch, tokens, heads, dim]); any other layout is first copied to
// [batch, cross, contracting] by simplego's own normalization.
func execDotGeneralGemm(backend *Backend, node *Node, inputs []*Buffer, owned []bool) (*Buffer, error) {
	lhs, rhs := inputs[0], inputs[1]
	if Float32Gemm == nil || lhs.shape.DType != dtypes.Float32 || rhs.shape.DType != dtypes.Float32 {
		return execDotGeneral(backend, node, inputs, owned)
	}
	p := node.data.(*dotGeneralNodeData)
	m, n, k, batch := p.lhsCrossSize, p.rhsCrossSize, p.contractingSize, p.batchSize
	a := gemmOperand(backend, lhs, p.lhsContractingAxes, p.lhsBatchAxes, batch, m, k)
	b := gemmOperand(backend, rhs, p.rhsContractingAxes, p.rhsBatchAxes, batch, n, k)
	// lhs is op(A): A is m×k when its rows are cross rows, else A is stored
	// k×m (transposed); rhs is op(B): B is k×n when its rows are
	// contracting rows, else B is stored n×k (transposed).
	output := backend.getBufferForShape(node.shape)
	c := output.flat.([]float32)
	Float32Gemm(!a.crossRows, b.crossRows, m, n, k, a.flat, a.ld, a.off, b.flat, b.ld, b.off, c, n, m*n, batch)
	for _, t := range []*Buffer{a.tmp, b.tmp} {
		if t != nil {
			backend.putBuffer(t)
		}
	}
	return output, nil
}

// gemmView is an operand seen as batch matrices: product i's matrix
// starts at flat[off[i]]; its rows are cross elements (columns
// contracting ones) when crossRows, else contracting elements; ld is the
// distance between rows. tmp is a copy to release after the call.
type gemmView struct {
	flat      []float32
	crossRows bool
	ld        int
	off       []int
	tmp       *Buffer
}

// gemmOperand returns the operand as a gemmView, read in place when its
// layout allows (gemmStrides), else copied to [batch, cross,
// contracting].
func gemmOperand(backend *Backend, source *Buffer, contractingAxes, batchAxes []int, batch, cross, contracting int) gemmView {
	if v, ok := gemmStrides(source.shape.Dimensions, contractingAxes, batchAxes, cross, contracting); ok {
		v.flat = source.flat.([]float32)
		return v
	}
	v := gemmView{flat: source.flat.([]float32), crossRows: true, ld: contracting, off: make([]int, batch)}
	for i := range v.off {
		v.off[i] = i * cross * contracting
	}
	v.tmp = dgNormalizeShape[float32](backend, source, contractingAxes, batchAxes, batch, cross, contracting)
	if v.tmp != nil { // nil: already [batch, cross, contracting]
		v.flat = v.tmp.flat.([]float32)
		MedflowGemmCopies.Add(1)
	}
	return v
}

// gemmStrides sees an operand of dimensions dims in place: the cross
// axes (those neither contracting nor batch, in axis order) and the
// contracting axes (in the order listed) must each merge into one
// dimension with a single stride, and one of the two strides must be 1.
// Batch axes (in the order listed, the order of the products) may be
// anywhere: their strides give each product's offset.
func gemmStrides(dims, contractingAxes, batchAxes []int, cross, contracting int) (v gemmView, ok bool) {
	rank := len(dims)
	strides := make([]int, rank)
	kind := make([]byte, rank) // 0 cross, 1 contracting, 2 batch
	for s, a := rank-1, 1; s >= 0; s-- {
		strides[s] = a
		a *= dims[s]
	}
	for _, a := range contractingAxes {
		kind[a] = 1
	}
	for _, a := range batchAxes {
		kind[a] = 2
	}
	var crossAxes []int
	for a := range rank {
		if kind[a] == 0 {
			crossAxes = append(crossAxes, a)
		}
	}
	// merged returns the stride of axes merged in the order given, or
	// false when they do not merge; axes of size 1 are skipped.
	merged := func(axes []int) (int, bool) {
		stride := 0
		for i := len(axes) - 1; i >= 0; i-- {
			a := axes[i]
			if dims[a] == 1 {
				continue
			}
			if stride != 0 && strides[a] != stride {
				return 0, false
			}
			if stride == 0 {
				stride = strides[a]
			}
			stride *= dims[a]
		}
		return stride, true // the stride past the group; 0 if all size 1
	}
	crossEnd, ok1 := merged(crossAxes)
	contractEnd, ok2 := merged(contractingAxes)
	if !ok1 || !ok2 {
		return v, false
	}
	// A group's element stride is its end stride divided by its size.
	crossStride, contractStride := 0, 0
	if cross > 1 {
		crossStride = crossEnd / cross
	}
	if contracting > 1 {
		contractStride = contractEnd / contracting
	}
	switch {
	case contractStride <= 1 && (crossStride == 0 || crossStride >= contracting):
		v.crossRows, v.ld = true, max(crossStride, contracting, 1)
	case crossStride <= 1 && (contractStride == 0 || contractStride >= cross):
		v.crossRows, v.ld = false, max(contractStride, cross, 1)
	default:
		return v, false
	}
	// Offsets of the products: batch axes in the order listed, the last
	// varying fastest.
	batch := 1
	for _, a := range batchAxes {
		batch *= dims[a]
	}
	v.off = make([]int, batch)
	idx := make([]int, len(batchAxes))
	off := 0
	for i := range v.off {
		v.off[i] = off
		for j := len(batchAxes) - 1; j >= 0; j-- {
			a := batchAxes[j]
			idx[j]++
			off += strides[a]
			if idx[j] < dims[a] {
				break
			}
			off -= dims[a] * strides[a]
			idx[j] = 0
		}
	}
	return v, true
}
