// Package blas multiplies float32 matrices with OpenBLAS's cblas_sgemm,
// loaded at run time with dlopen, for the simplego training backend.
//
// Why: GoMLX's pure-Go backend (simplego, v0.26.0) spends about two
// thirds of a ViT training step in its own DotGeneral kernels, at about
// 1% of this CPU's float32 peak (issue 18; profile in BENCHMARKS.md).
// OpenBLAS is what the PyTorch reference uses on the same machine.
//
// How it reaches GoMLX: simplego's op table is unexported, so medflow adds
// files to that package at build time through a Go workspace
// (mk/gomlx-workspace.sh writes out/medflow.work, which replaces GoMLX with
// out/gomlx, a symlinked copy of the module plus _simplego/*.go; the
// Makefile and deploy/Dockerfile's build stages run it and build with
// -tags medflowblas, and the image installs libopenblas0-pthread).
// _simplego/gemm.go registers a DotGeneral
// executor that calls the hook simplego.Float32Gemm for float32 operands
// and otherwise runs simplego's own executor; package nn (gemm_blas.go,
// -tags medflowblas) sets the hook to SgemmBatch when Load succeeds. Nothing
// in simplego itself is edited.
//
// The way back: build without the workspace and the tag (plain `go build`),
// or set MEDFLOW_BLAS=off (matrix products) and MEDFLOW_FAST_KERNELS=off
// (the element-wise executors below) at run time; simplego's kernels are
// then used unchanged. A binary built with the hook still runs where no OpenBLAS is
// installed: Load fails with the names it tried and the pure-Go kernels
// are used.
//
// The second file, _simplego/kernels.go, gives simplego float32
// executors for Add/Sub/Mul/Div with broadcasting, BroadcastInDim,
// ReduceSum/ReduceMax over contiguous axes and Tanh/Exp/Log/Rsqrt/Sqrt/
// Logistic, split across cores for large tensors; their results are
// bit-identical to simplego's own (same float32 operations, same
// summation order; tested in package nn), so only the matrix products
// change numerics (OpenBLAS sums in another order).
//
// What is implemented: row-major float32 GEMM (C = op(A)·op(B), beta 0)
// through cblas_sgemm, and batches of them split across goroutines
// (SgemmBatch) with OpenBLAS itself single-threaded (OPENBLAS_NUM_THREADS=1
// unless set: see ThreadsEnv). Not implemented: float64/bfloat16 (simplego's
// kernels serve them), a batched-GEMM library call (SgemmBatch makes one
// cblas_sgemm call per product or row block), other BLAS libraries than OpenBLAS (MKL, BLIS: MEDFLOW_BLAS
// may name any library exporting cblas_sgemm, untested).
package blas
