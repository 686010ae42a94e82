//go:build !medflowblas

package nn

const pureBuild = "built without -tags medflowblas and the Makefile's GoMLX workspace"

// MatmulKernels says what runs simplego's float32 matrix products: in a
// plain build, its own pure-Go kernels.
func MatmulKernels() string { return "simplego's pure-Go kernels (" + pureBuild + ")" }

// FastKernels says what runs simplego's float32 element-wise and
// reduction ops: in a plain build, its own executors.
func FastKernels() string { return "simplego's own (" + pureBuild + ")" }

// SetFastKernels does nothing in a plain build (simplego's own kernels
// always run); see the medflowblas build.
func SetFastKernels(on bool) (restore func()) { return func() {} }
