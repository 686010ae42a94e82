//go:build medflowblas

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestMatmulKernelsOpenBLAS: where MEDFLOW_REQUIRE_BLAS=1 (make test), a
// medflowblas build must have found OpenBLAS.
func TestMatmulKernelsOpenBLAS(t *testing.T) {
	k := MatmulKernels()
	if os.Getenv("MEDFLOW_REQUIRE_BLAS") == "1" && !strings.HasPrefix(k, "OpenBLAS") {
		t.Fatalf("MEDFLOW_REQUIRE_BLAS=1 but MatmulKernels() = %q", k)
	}
	t.Log(k)
}

// TestDotGeneralGemm runs DotGeneral through the OpenBLAS hook and through
// simplego's own kernels on every operand layout the hook distinguishes
// (read in place, transposed in place, copied first) and compares.
func TestDotGeneralGemm(t *testing.T) {
	if simplego.Float32Gemm == nil {
		t.Skip("OpenBLAS not loaded: " + MatmulKernels())
	}
	be, err := BackendFor(DefaultBackend)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                  string
		lhsDims, rhsDims      []int
		lhsContract, lhsBatch []int
		rhsContract, rhsBatch []int
		copies                int64 // operands copied before the GEMM
	}{
		{"matmul NN", []int{5, 3}, []int{3, 4}, []int{1}, nil, []int{0}, nil, 0},
		{"lhs transposed", []int{3, 5}, []int{3, 4}, []int{0}, nil, []int{0}, nil, 0},
		{"rhs transposed", []int{5, 3}, []int{4, 3}, []int{1}, nil, []int{1}, nil, 0},
		{"linear on tokens", []int{2, 6, 8}, []int{8, 7}, []int{2}, nil, []int{0}, nil, 0},
		{"weight gradient", []int{2, 6, 8}, []int{2, 6, 7}, []int{0, 1}, nil, []int{0, 1}, nil, 0},
		{"attention scores, batch leading", []int{2, 3, 5, 4}, []int{2, 3, 6, 4}, []int{3}, []int{0, 1}, []int{3}, []int{0, 1}, 0},
		{"attention values", []int{2, 3, 5, 6}, []int{2, 3, 6, 4}, []int{3}, []int{0, 1}, []int{2}, []int{0, 1}, 0},
		// [batch, tokens, heads, dim]: heads is a batch axis after the
		// tokens; rows are read with stride heads*dim.
		{"attention scores, heads inside", []int{2, 5, 3, 4}, []int{2, 6, 3, 4}, []int{3}, []int{0, 2}, []int{3}, []int{0, 2}, 0},
		{"attention values, heads inside", []int{2, 3, 5, 6}, []int{2, 6, 3, 4}, []int{3}, []int{0, 1}, []int{1}, []int{0, 2}, 0},
		{"batch axis not leading", []int{5, 2, 4}, []int{2, 4, 3}, []int{2}, []int{1}, []int{1}, []int{0}, 0},
		{"cross axes split by a batch axis (copied)", []int{3, 2, 4, 5}, []int{2, 5, 6}, []int{3}, []int{1}, []int{1}, []int{0}, 1},
		{"contracting axes reversed (copied)", []int{3, 4, 5}, []int{5, 4, 2}, []int{2, 1}, nil, []int{0, 1}, nil, 1},
		{"contracting axis in the middle (copied)", []int{3, 4, 5}, []int{4, 2}, []int{1}, nil, []int{0}, nil, 1},
		{"dot product", []int{9}, []int{9}, []int{0}, nil, []int{0}, nil, 0},
		{"size-1 axes", []int{1, 4, 1, 3}, []int{3, 1, 5}, []int{3}, nil, []int{0}, nil, 0},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lhs := tensors.FromFlatDataAndDimensions(randData(rng, Size(c.lhsDims), 1), c.lhsDims...)
			rhs := tensors.FromFlatDataAndDimensions(randData(rng, Size(c.rhsDims), 1), c.rhsDims...)
			run := func() ([]float32, []int) {
				out := graph.MustExecOnce(be, func(l, r *graph.Node) *graph.Node {
					return graph.DotGeneral(l, c.lhsContract, c.lhsBatch, r, c.rhsContract, c.rhsBatch)
				}, lhs, rhs)
				defer out.FinalizeAll()
				return append([]float32(nil), tensors.MustCopyFlatData[float32](out)...), out.Shape().Dimensions
			}
			hook := simplego.Float32Gemm
			defer func() { simplego.Float32Gemm = hook }()
			calls := 0
			simplego.Float32Gemm = func(transA, transB bool, m, n, k int, a []float32, lda int, aOff []int, b []float32, ldb int, bOff []int, c []float32, ldc, sc, batch int) {
				calls++
				hook(transA, transB, m, n, k, a, lda, aOff, b, ldb, bOff, c, ldc, sc, batch)
			}
			copies := simplego.MedflowGemmCopies.Load()
			got, gotDims := run()
			if calls == 0 {
				t.Fatal("the OpenBLAS hook was not called")
			}
			if d := simplego.MedflowGemmCopies.Load() - copies; d != c.copies {
				t.Errorf("%d operands copied before the GEMM, want %d", d, c.copies)
			}
			simplego.Float32Gemm = nil
			want, wantDims := run()
			if fmt.Sprint(gotDims) != fmt.Sprint(wantDims) {
				t.Fatalf("shape %v, simplego's %v", gotDims, wantDims)
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("element %d: OpenBLAS %v, simplego %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestMedflowKernelsBitIdentical runs the overlay's float32 element-wise
// and reduction executors and simplego's own on the same graphs: the
// results must be equal bit for bit (same operations, same summation
// order), and the overlay's executors must have run.
func TestMedflowKernelsBitIdentical(t *testing.T) {
	be, err := BackendFor(DefaultBackend)
	if err != nil {
		t.Fatal(err)
	}
	type fn = func(a, b *graph.Node) *graph.Node
	big := []int{4, 65, 130} // > the parallel threshold: split across goroutines
	cases := []struct {
		name       string
		aDims      []int
		bDims      []int
		f          fn
		usesKernel bool
	}{
		{"add same shape", big, big, graph.Add, true},
		{"bias add", []int{6, 5, 8}, []int{1, 1, 8}, graph.Add, true},
		{"row scale", big, []int{4, 65, 1}, graph.Mul, true},
		{"sub broadcast both", []int{3, 1, 7}, []int{1, 5, 7}, graph.Sub, true},
		{"div middle axis", []int{2, 9, 3}, []int{2, 1, 3}, graph.Div, true},
		{"scalar-like", big, []int{1, 1, 1}, graph.Mul, true},
		{"rank-0 scalar", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.MulScalar(a, 0.37) }, true},
		{"broadcast prefix", []int{8, 130}, nil, func(a, _ *graph.Node) *graph.Node { return graph.BroadcastPrefix(a, 3, 40) }, true},
		{"broadcast middle", []int{65, 1, 130}, nil, func(a, _ *graph.Node) *graph.Node { return graph.BroadcastToDims(a, 65, 7, 130) }, true},
		{"expand and broadcast", []int{4, 5}, nil, func(a, _ *graph.Node) *graph.Node {
			return graph.ExpandAndBroadcast(a, []int{4, 3, 5, 2}, []int{1, 3})
		}, true},
		{"sum last axis", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.ReduceSum(a, 2) }, true},
		{"sum leading axes", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.ReduceSum(a, 0, 1) }, true},
		{"sum middle axis", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.ReduceSum(a, 1) }, true},
		{"sum all", []int{3, 4}, nil, func(a, _ *graph.Node) *graph.Node { return graph.ReduceAllSum(a) }, true},
		{"max last axis", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.ReduceMax(a, -1) }, true},
		{"sum axes 0 and 2 (simplego's)", []int{3, 4, 5}, nil, func(a, _ *graph.Node) *graph.Node { return graph.ReduceSum(a, 0, 2) }, false},
		{"tanh", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.Tanh(a) }, true},
		{"exp", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.Exp(a) }, true},
		{"rsqrt", big, nil, func(a, _ *graph.Node) *graph.Node { return graph.Rsqrt(graph.Abs(a)) }, true},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := tensors.FromFlatDataAndDimensions(randData(rng, Size(c.aDims), 1), c.aDims...)
			var run func() []float32
			if c.bDims == nil {
				run = func() []float32 {
					out := graph.MustExecOnce(be, func(x *graph.Node) *graph.Node { return c.f(x, nil) }, a)
					defer out.FinalizeAll()
					return append([]float32(nil), tensors.MustCopyFlatData[float32](out)...)
				}
			} else {
				b := tensors.FromFlatDataAndDimensions(randData(rng, Size(c.bDims), 1), c.bDims...)
				run = func() []float32 {
					out := graph.MustExecOnce(be, c.f, a, b)
					defer out.FinalizeAll()
					return append([]float32(nil), tensors.MustCopyFlatData[float32](out)...)
				}
			}
			defer func() { simplego.MedflowKernels = true }()
			before := simplego.MedflowKernelRuns.Load()
			got := run()
			if ran := simplego.MedflowKernelRuns.Load() > before; ran != c.usesKernel {
				t.Fatalf("overlay kernel ran: %v, want %v", ran, c.usesKernel)
			}
			simplego.MedflowKernels = false
			want := run()
			if len(got) != len(want) {
				t.Fatalf("%d values, simplego's %d", len(got), len(want))
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("element %d: %v, simplego's %v", i, got[i], want[i])
				}
			}
		})
	}
}
