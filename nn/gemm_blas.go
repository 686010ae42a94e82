//go:build medflowblas

package nn

import (
	"os"
	"strings"

	"github.com/gomlx/gomlx/backends/simplego"

	"github.com/medflow/medflow/nn/blas"
)

// Built with -tags medflowblas and the Makefile's GoMLX workspace (see
// package blas), simplego's float32 DotGeneral calls OpenBLAS when the
// library loads (else simplego's own kernels run), and its float32
// element-wise and reduction ops run medflow's executors unless
// MEDFLOW_FAST_KERNELS=off.
func init() {
	SetFastKernels(true)
	simplego.MedflowKernels = !strings.EqualFold(os.Getenv(FastKernelsEnv), "off")
}

// MatmulKernels says what runs simplego's float32 matrix products.
func MatmulKernels() string {
	if simplego.Float32Gemm == nil {
		return "simplego's pure-Go kernels (OpenBLAS hook built in; " + blas.Describe() + ")"
	}
	return "OpenBLAS " + blas.Describe()
}

// FastKernels says what runs simplego's float32 element-wise and
// reduction ops.
func FastKernels() string {
	if simplego.MedflowKernels {
		return "medflow's float32 executors (bit-identical to simplego's, split across cores)"
	}
	return "simplego's own (" + FastKernelsEnv + "=off)"
}

// SetFastKernels switches OpenBLAS matmuls and medflow's float32
// executors on (as far as available) or off for the whole process, and
// returns a function restoring the previous state. For benchmarks and
// tests that compare both in one run; not while graphs execute.
func SetFastKernels(on bool) (restore func()) {
	gemm, kernels := simplego.Float32Gemm, simplego.MedflowKernels
	simplego.Float32Gemm, simplego.MedflowKernels = nil, on
	if on && blas.Load() == nil {
		simplego.Float32Gemm = blas.SgemmBatch
	}
	return func() { simplego.Float32Gemm, simplego.MedflowKernels = gemm, kernels }
}
