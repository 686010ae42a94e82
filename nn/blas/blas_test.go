package blas

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// requireBLAS loads the library; where MEDFLOW_REQUIRE_BLAS=1 (make test)
// a missing library fails the test instead of skipping it.
func requireBLAS(t *testing.T) {
	t.Helper()
	if err := Load(); err != nil {
		if os.Getenv("MEDFLOW_REQUIRE_BLAS") == "1" {
			t.Fatalf("MEDFLOW_REQUIRE_BLAS=1: %v", err)
		}
		t.Skipf("no OpenBLAS here: %v", err)
	}
}

// randFloats returns n standard normal values.
func randFloats(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// leading returns the leading dimensions of tightly stored operands.
func leading(transA, transB bool, m, n, k int) (lda, ldb int) {
	lda, ldb = k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	return lda, ldb
}

// naive computes op(a)·op(b) in float64 with the same storage rules as
// Sgemm.
func naive(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				ai, bi := i*lda+l, l*ldb+j
				if transA {
					ai = l*lda + i
				}
				if transB {
					bi = j*ldb + l
				}
				s += float64(a[ai]) * float64(b[bi])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func TestSgemm(t *testing.T) {
	requireBLAS(t)
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 { return randFloats(rng, n) }
	cases := []struct {
		name           string
		transA, transB bool
		m, n, k, pad   int // pad: extra elements per row (leading dimension > width)
	}{
		{"NN", false, false, 7, 5, 3, 0},
		{"TN", true, false, 7, 5, 3, 0},
		{"NT", false, true, 7, 5, 3, 0},
		{"TT", true, true, 7, 5, 3, 0},
		{"NN padded rows", false, false, 4, 6, 5, 3},
		{"TT padded rows", true, true, 4, 6, 5, 2},
		{"ViT qkv shape", false, false, 65, 192, 64, 0},
		{"weight gradient shape", true, false, 64, 192, 130, 0},
		{"vector", false, true, 1, 9, 17, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ar, ac := c.m, c.k
			if c.transA {
				ar, ac = c.k, c.m
			}
			br, bc := c.k, c.n
			if c.transB {
				br, bc = c.n, c.k
			}
			lda, ldb, ldc := ac+c.pad, bc+c.pad, c.n+c.pad
			a, b := fill(ar*lda), fill(br*ldb)
			out := make([]float32, c.m*ldc)
			for i := range out {
				out[i] = float32(math.NaN()) // beta is 0: old contents must not leak in
			}
			Sgemm(c.transA, c.transB, c.m, c.n, c.k, a, lda, b, ldb, out, ldc)
			want := naive(c.transA, c.transB, c.m, c.n, c.k, a, lda, b, ldb)
			for i := 0; i < c.m; i++ {
				for j := 0; j < c.n; j++ {
					got, w := float64(out[i*ldc+j]), want[i*c.n+j]
					if math.IsNaN(got) || math.Abs(got-w) > 1e-4*(1+math.Abs(w)) {
						t.Fatalf("c[%d,%d] = %v, want %v", i, j, got, w)
					}
				}
			}
		})
	}
}

func TestSgemmZeroContraction(t *testing.T) {
	requireBLAS(t)
	out := []float32{1, 2, 3, 4, 5, 6}
	Sgemm(false, false, 2, 2, 0, nil, 1, nil, 2, out, 3)
	want := []float32{0, 0, 3, 0, 0, 6} // the padding column is left alone
	for i := range out {
		if out[i] != want[i] {
			t.Fatalf("k=0: got %v, want %v", out, want)
		}
	}
}

func TestSgemmShortSlicePanics(t *testing.T) {
	requireBLAS(t)
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "b holds 5 elements") {
			t.Fatalf("recovered %v, want a panic naming b", r)
		}
	}()
	Sgemm(false, false, 2, 3, 2, make([]float32, 4), 2, make([]float32, 5), 3, make([]float32, 6), 3)
}

func TestLoadErrors(t *testing.T) {
	for _, c := range []struct{ env, want string }{
		{"off", "MEDFLOW_BLAS=off"},
		{"OFF", "MEDFLOW_BLAS=off"},
		{"/nonexistent/libopenblas.so.0", "/nonexistent/libopenblas.so.0"},
		{"libc.so.6", "cblas_sgemm"}, // loads, but is no BLAS
	} {
		_, err := load(c.env)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("load(%q) = %v, want ErrUnavailable naming %q", c.env, err, c.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	requireBLAS(t)
	if d := Describe(); !strings.Contains(d, "openblas") || !strings.Contains(d, "threads") {
		t.Errorf("Describe() = %q, want the library and its threads", d)
	}
}

// TestSgemmBatch: batches split across goroutines (whole products, or
// row blocks of each) give the naive product, and the same bits every
// time. (A row block can differ from the unsplit product in the last
// bit: OpenBLAS's blocking depends on the rows of the call.)
func TestSgemmBatch(t *testing.T) {
	requireBLAS(t)
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name           string
		transA, transB bool
		m, n, k, batch int
	}{
		{"one product, row blocks", false, false, 300, 64, 64, 1},
		{"one product, row blocks, A transposed", true, false, 300, 64, 64, 1},
		{"one product, row blocks, both transposed", true, true, 257, 70, 66, 1},
		{"many products", false, true, 64, 64, 80, 5},
		{"many products, A transposed", true, false, 64, 70, 80, 4},
		{"small: not split", false, false, 8, 8, 8, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lda, ldb := leading(c.transA, c.transB, c.m, c.n, c.k)
			sa, sb, sc := c.m*c.k, c.k*c.n, c.m*c.n
			a, b := randFloats(rng, sa*c.batch), randFloats(rng, sb*c.batch)
			got, again := make([]float32, sc*c.batch), make([]float32, sc*c.batch)
			SgemmBatch(c.transA, c.transB, c.m, c.n, c.k, a, lda, Offsets(c.batch, sa), b, ldb, Offsets(c.batch, sb), got, c.n, sc, c.batch)
			SgemmBatch(c.transA, c.transB, c.m, c.n, c.k, a, lda, Offsets(c.batch, sa), b, ldb, Offsets(c.batch, sb), again, c.n, sc, c.batch)
			for i := range c.batch {
				ref := naive(c.transA, c.transB, c.m, c.n, c.k, a[i*sa:], lda, b[i*sb:], ldb)
				for j, w := range ref {
					if g := float64(got[i*sc+j]); math.Abs(g-w) > 1e-4*(1+math.Abs(w)) {
						t.Fatalf("product %d element %d: %v, naive %v", i, j, g, w)
					}
				}
			}
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(again[j]) {
					t.Fatalf("element %d: %v, then %v", j, got[j], again[j])
				}
			}
		})
	}
}
