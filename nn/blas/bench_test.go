package blas

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm: OpenBLAS through SgemmBatch (what simplego's DotGeneral
// calls) on the matrix products of a ViT-S/16 training step at batch 8
// (1576 tokens, width 384; attention: 8 images x 6 heads) and of the tiny
// ViT's (64 px, batch 64: 1088 tokens, width 64), in GFLOP/s.
func BenchmarkSgemm(b *testing.B) {
	if err := Load(); err != nil {
		b.Skip(err)
	}
	for _, c := range []struct {
		name           string
		transA, transB bool
		m, n, k, batch int
	}{
		{"vits16-qkv", false, false, 1576, 1152, 384, 1},
		{"vits16-mlp-up", false, false, 1576, 1536, 384, 1},
		{"vits16-weight-grad", true, false, 384, 1536, 1576, 1},
		{"vits16-attention", false, true, 197, 197, 64, 48},
		{"tiny-qkv", false, false, 1088, 192, 64, 1},
		{"tiny-attention", false, true, 17, 17, 16, 256},
	} {
		b.Run(fmt.Sprintf("%s/%dx%dx%dx%d", c.name, c.batch, c.m, c.n, c.k), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a, bm, out := randFloats(rng, c.batch*c.m*c.k), randFloats(rng, c.batch*c.k*c.n), make([]float32, c.batch*c.m*c.n)
			lda, ldb := leading(c.transA, c.transB, c.m, c.n, c.k)
			aOff, bOff := Offsets(c.batch, c.m*c.k), Offsets(c.batch, c.k*c.n)
			for b.Loop() {
				SgemmBatch(c.transA, c.transB, c.m, c.n, c.k, a, lda, aOff, bm, ldb, bOff, out, c.n, c.m*c.n, c.batch)
			}
			b.ReportMetric(2*float64(c.batch*c.m*c.n*c.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
