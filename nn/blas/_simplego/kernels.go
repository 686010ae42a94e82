// This file is not part of medflow's packages: like gemm.go, the Makefile
// adds it to GoMLX v0.26.0's backends/simplego with a go.work replace (see
// medflow's nn/blas/doc.go for why and the way back).
//
// Float32 executors for the element-wise and reduction ops that dominate
// a ViT training step once matrix products run in OpenBLAS: Add, Sub,
// Mul and Div with broadcasting, BroadcastInDim, sums and maxima over
// contiguous axes, and the transcendental unary ops (Tanh, Exp, Log,
// Rsqrt, Sqrt, Logistic), split across cores for large tensors. Every value is computed
// with the same float32 operation, and every sum accumulates in the same
// order, as simplego's own executor, so results are bit-identical to it
// (medflow's nn tests compare them); any other case runs simplego's own
// executor.

package simplego

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

var (
	// MedflowKernels switches the executors of this file on (default) or
	// off (simplego's own run instead).
	MedflowKernels = true
	// MedflowKernelRuns counts the ops this file's executors computed.
	MedflowKernelRuns atomic.Int64
)

// parallelMin is the smallest tensor (elements) worth splitting across
// goroutines.
const parallelMin = 1 << 15

func init() {
	for _, op := range []backends.OpType{backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv} {
		generic := nodeExecutors[op]
		setNodeExecutor(op, priorityUser, func(backend *Backend, node *Node, inputs []*Buffer, owned []bool) (*Buffer, error) {
			if !MedflowKernels || node.shape.DType != dtypes.Float32 || !broadcastable(inputs[0].shape, node.shape) || !broadcastable(inputs[1].shape, node.shape) {
				return generic(backend, node, inputs, owned)
			}
			return execBinaryF32(backend, node, inputs, owned)
		})
	}
	unary := map[backends.OpType]func(in, out []float32){
		backends.OpTypeTanh:     execTanhGeneric[float32],
		backends.OpTypeExp:      execExpGeneric[float32],
		backends.OpTypeLog:      execLogGeneric[float32],
		backends.OpTypeRsqrt:    execRsqrtGeneric[float32],
		backends.OpTypeSqrt:     execSqrtGeneric[float32],
		backends.OpTypeLogistic: execLogisticGeneric[float32],
	}
	for op, fn := range unary {
		generic := nodeExecutors[op]
		setNodeExecutor(op, priorityUser, func(backend *Backend, node *Node, inputs []*Buffer, owned []bool) (*Buffer, error) {
			if !MedflowKernels || node.shape.DType != dtypes.Float32 || inputs[0].shape.Size() < parallelMin {
				return generic(backend, node, inputs, owned)
			}
			MedflowKernelRuns.Add(1)
			input, output := unaryOperandAndOutput(backend, inputs, owned)
			in, out := input.flat.([]float32), output.flat.([]float32)
			parallelFor(len(in), 1, func(lo, hi int) { fn(in[lo:hi], out[lo:hi]) })
			return output, nil
		})
	}
	broadcast := nodeExecutors[backends.OpTypeBroadcastInDim]
	setNodeExecutor(backends.OpTypeBroadcastInDim, priorityUser, func(backend *Backend, node *Node, inputs []*Buffer, owned []bool) (*Buffer, error) {
		if !MedflowKernels || node.shape.DType != dtypes.Float32 || inputs[0].shape.Size() == 1 {
			return broadcast(backend, node, inputs, owned) // a single value: simplego fills
		}
		return execBroadcastInDimF32(backend, node, inputs[0]), nil
	})
	for _, op := range []backends.OpType{backends.OpTypeReduceSum, backends.OpTypeReduceMax} {
		generic := nodeExecutors[op]
		setNodeExecutor(op, priorityUser, func(backend *Backend, node *Node, inputs []*Buffer, owned []bool) (*Buffer, error) {
			if MedflowKernels && node.shape.DType == dtypes.Float32 {
				if out := execReduceF32(backend, node, inputs[0]); out != nil {
					return out, nil
				}
			}
			return generic(backend, node, inputs, owned)
		})
	}
}

// broadcastable: an operand of s can be read by walkBroadcast for an
// output of shape out (same rank, or a single element).
func broadcastable(s, out shapes.Shape) bool {
	return s.Rank() == out.Rank() || s.Size() == 1
}

// parallelFor calls fn on [lo, hi) ranges covering [0, n), on up to
// GOMAXPROCS goroutines when n*cost reaches parallelMin, else once.
func parallelFor(n, cost int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n*cost/parallelMin)
	if workers < 2 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// execBinaryF32 computes a float32 Add/Sub/Mul/Div whose operands have
// the output's rank or a single element.
func execBinaryF32(backend *Backend, node *Node, inputs []*Buffer, owned []bool) (*Buffer, error) {
	MedflowKernelRuns.Add(1)
	lhs, rhs, output, _, _ := binaryOperandsAndOutput(backend, inputs, owned, node.shape)
	a, b, c := lhs.flat.([]float32), rhs.flat.([]float32), output.flat.([]float32)
	op := node.opType
	walkBroadcast(node.shape.Dimensions, broadcastDims(lhs.shape, node.shape.Rank()), broadcastDims(rhs.shape, node.shape.Rank()),
		func(out []float32, aOff, aStride, bOff, bStride int) {
			binaryRowF32(op, out, a[aOff:], aStride, b[bOff:], bStride)
		}, c)
	return output, nil
}

// execBroadcastInDimF32 writes a float32 operand broadcast to the
// node's shape (axes data: the output axis of each operand axis).
func execBroadcastInDimF32(backend *Backend, node *Node, operand *Buffer) *Buffer {
	MedflowKernelRuns.Add(1)
	output := backend.getBuffer(node.shape.DType, node.shape.Size())
	output.shape = node.shape
	dims := ones(node.shape.Rank())
	for operandAxis, outputAxis := range node.data.([]int) {
		dims[outputAxis] = operand.shape.Dimensions[operandAxis]
	}
	a, c := operand.flat.([]float32), output.flat.([]float32)
	walkBroadcast(node.shape.Dimensions, dims, dims, func(out []float32, aOff, aStride, _, _ int) {
		if aStride == 1 {
			copy(out, a[aOff:aOff+len(out)])
			return
		}
		v := a[aOff]
		for i := range out {
			out[i] = v
		}
	}, c)
	return output
}

// broadcastDims returns an operand's dimensions at the output's rank: its
// own, or all 1 for a single element of another rank.
func broadcastDims(s shapes.Shape, rank int) []int {
	if s.Rank() == rank {
		return s.Dimensions
	}
	return ones(rank)
}

// ones returns the dimensions of a single element at rank n.
func ones(n int) []int {
	dims := make([]int, n)
	for i := range dims {
		dims[i] = 1
	}
	return dims
}

// walkBroadcast calls row for each output row of c (dims) with the
// offsets and strides (0 or 1) at which two operands of dimensions aDims
// and bDims (1 on broadcast axes) are read along the row. The output's
// axes (those of size 1 dropped) are merged into runs over which each
// operand is either read along or broadcast; the last run is the row, the
// others are walked by an odometer. Rows are split across goroutines for
// large outputs.
func walkBroadcast(dims, aDims, bDims []int, row func(out []float32, aOff, aStride, bOff, bStride int), c []float32) {
	if len(c) == 0 {
		return
	}
	type run struct{ dim, aStride, bStride int }
	var runs []run
	for axis, d := range dims {
		if d == 1 {
			continue
		}
		ab, bb := aDims[axis] == 1, bDims[axis] == 1
		if n := len(runs); n > 0 && (runs[n-1].aStride == 0) == ab && (runs[n-1].bStride == 0) == bb {
			runs[n-1].dim *= d
			continue
		}
		runs = append(runs, run{dim: d, aStride: boolToStride(!ab), bStride: boolToStride(!bb)})
	}
	if len(runs) == 0 {
		runs = []run{{dim: 1, aStride: 1, bStride: 1}}
	}
	// Strides in elements: a run's stride is the product of the operand's
	// later (non-broadcast) run dims.
	aAcc, bAcc := 1, 1
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].aStride != 0 {
			runs[i].aStride = aAcc
			aAcc *= runs[i].dim
		}
		if runs[i].bStride != 0 {
			runs[i].bStride = bAcc
			bAcc *= runs[i].dim
		}
	}
	inner := runs[len(runs)-1]
	outer := runs[:len(runs)-1]
	rows := len(c) / inner.dim
	parallelFor(rows, inner.dim, func(lo, hi int) {
		// Odometer position of row lo.
		idx := make([]int, len(outer))
		aOff, bOff := 0, 0
		for i, r := lo, len(outer)-1; r >= 0; r-- {
			idx[r] = i % outer[r].dim
			i /= outer[r].dim
			aOff += idx[r] * outer[r].aStride
			bOff += idx[r] * outer[r].bStride
		}
		for rw := lo; rw < hi; rw++ {
			row(c[rw*inner.dim:(rw+1)*inner.dim], aOff, inner.aStride, bOff, inner.bStride)
			for r := len(outer) - 1; r >= 0; r-- {
				idx[r]++
				aOff += outer[r].aStride
				bOff += outer[r].bStride
				if idx[r] < outer[r].dim {
					break
				}
				idx[r] = 0
				aOff -= outer[r].dim * outer[r].aStride
				bOff -= outer[r].dim * outer[r].bStride
			}
		}
	})
}

func boolToStride(b bool) int {
	if b {
		return 1
	}
	return 0
}

// binaryRowF32 sets out[i] = a[i*as] op b[i*bs], as and bs in {0, 1}.
func binaryRowF32(op backends.OpType, out, a []float32, as int, b []float32, bs int) {
	n := len(out)
	switch {
	case as == 1 && bs == 1:
		a, b = a[:n], b[:n]
		switch op {
		case backends.OpTypeAdd:
			for i := range out {
				out[i] = a[i] + b[i]
			}
		case backends.OpTypeSub:
			for i := range out {
				out[i] = a[i] - b[i]
			}
		case backends.OpTypeMul:
			for i := range out {
				out[i] = a[i] * b[i]
			}
		case backends.OpTypeDiv:
			for i := range out {
				out[i] = a[i] / b[i]
			}
		}
	case as == 1:
		a, y := a[:n], b[0]
		switch op {
		case backends.OpTypeAdd:
			for i := range out {
				out[i] = a[i] + y
			}
		case backends.OpTypeSub:
			for i := range out {
				out[i] = a[i] - y
			}
		case backends.OpTypeMul:
			for i := range out {
				out[i] = a[i] * y
			}
		case backends.OpTypeDiv:
			for i := range out {
				out[i] = a[i] / y
			}
		}
	case bs == 1:
		x, b := a[0], b[:n]
		switch op {
		case backends.OpTypeAdd:
			for i := range out {
				out[i] = x + b[i]
			}
		case backends.OpTypeSub:
			for i := range out {
				out[i] = x - b[i]
			}
		case backends.OpTypeMul:
			for i := range out {
				out[i] = x * b[i]
			}
		case backends.OpTypeDiv:
			for i := range out {
				out[i] = x / b[i]
			}
		}
	default:
		x, y := a[0], b[0]
		var v float32
		switch op {
		case backends.OpTypeAdd:
			v = x + y
		case backends.OpTypeSub:
			v = x - y
		case backends.OpTypeMul:
			v = x * y
		case backends.OpTypeDiv:
			v = x / y
		}
		for i := range out {
			out[i] = v
		}
	}
}

// execReduceF32 sums (or takes the max of) a float32 operand over
// contiguous axes, seen as [outer, reduced, inner]; it returns nil for
// other axis sets. Each output element accumulates its inputs in
// increasing index order, as simplego's executor does.
func execReduceF32(backend *Backend, node *Node, operand *Buffer) *Buffer {
	axes := node.data.([]int)
	if len(axes) == 0 {
		return nil
	}
	first, last := axes[0], axes[0]
	for _, a := range axes {
		first, last = min(first, a), max(last, a)
	}
	if last-first+1 != len(axes) {
		return nil // not contiguous (axes are distinct)
	}
	dims := operand.shape.Dimensions
	outer, red, inner := 1, 1, 1
	for axis, d := range dims {
		switch {
		case axis < first:
			outer *= d
		case axis > last:
			inner *= d
		default:
			red *= d
		}
	}
	MedflowKernelRuns.Add(1)
	output := backend.getBuffer(node.shape.DType, node.shape.Size())
	output.shape = node.shape
	in, out := operand.flat.([]float32), output.flat.([]float32)
	isMax := node.opType == backends.OpTypeReduceMax
	init := float32(0)
	if isMax {
		init = dtypes.Float32.LowestValue().(float32)
	}
	reduce := func(o, lo, hi int) { // columns [lo, hi) of outer index o
		acc := out[o*inner+lo : o*inner+hi]
		for i := range acc {
			acc[i] = init
		}
		for r := 0; r < red; r++ {
			row := in[(o*red+r)*inner+lo : (o*red+r)*inner+hi]
			if isMax {
				for i, v := range row {
					acc[i] = max(acc[i], v)
				}
			} else {
				for i, v := range row {
					acc[i] += v
				}
			}
		}
	}
	if inner == 1 { // sums of contiguous rows: one accumulator per row
		parallelFor(outer, red, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				s := init
				for _, v := range in[o*red : (o+1)*red] {
					if isMax {
						s = max(s, v)
					} else {
						s += v
					}
				}
				out[o] = s
			}
		})
	} else if outer >= runtime.GOMAXPROCS(0) {
		parallelFor(outer, red*inner, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				reduce(o, 0, inner)
			}
		})
	} else {
		for o := 0; o < outer; o++ {
			parallelFor(inner, red, func(lo, hi int) { reduce(o, lo, hi) })
		}
	}
	return output
}
