package blas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void (*medflow_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef int (*medflow_threads_fn)(void);
typedef char *(*medflow_config_fn)(void);

static medflow_sgemm_fn medflow_sgemm_p;
static medflow_threads_fn medflow_threads_p;
static medflow_config_fn medflow_config_p;

// medflow_blas_open loads path and finds cblas_sgemm; it returns NULL or
// dlerror's message.
static const char *medflow_blas_open(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
	medflow_sgemm_fn f = (medflow_sgemm_fn)dlsym(h, "cblas_sgemm");
	if (!f) return dlerror();
	medflow_sgemm_p = f;
	medflow_threads_p = (medflow_threads_fn)dlsym(h, "openblas_get_num_threads");
	medflow_config_p = (medflow_config_fn)dlsym(h, "openblas_get_config");
	return NULL;
}

// CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
static void medflow_sgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
	medflow_sgemm_p(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

static int medflow_blas_threads(void) { return medflow_threads_p ? medflow_threads_p() : 0; }
static const char *medflow_blas_config(void) { return medflow_config_p ? medflow_config_p() : ""; }
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Env names the library to load ("off" disables BLAS; a path or soname
// picks the library; unset tries Candidates).
const Env = "MEDFLOW_BLAS"

// Candidates are the sonames Load tries, in order, when MEDFLOW_BLAS is
// unset: Debian's libopenblas0-pthread, then a plain OpenBLAS build.
var Candidates = []string{"libopenblas.so.0", "libopenblas.so"}

// ErrUnavailable: no usable BLAS library (or MEDFLOW_BLAS=off).
var ErrUnavailable = errors.New("blas: no OpenBLAS library")

var (
	loadOnce sync.Once
	loadErr  error
	loaded   string
)

// Load finds and opens the BLAS library once per process; later calls
// return the first result. The error names every library tried.
func Load() error {
	loadOnce.Do(func() { loaded, loadErr = load(os.Getenv(Env)) })
	return loadErr
}

// ThreadsEnv is OpenBLAS's own thread count. Load sets it to 1 unless the
// user did: SgemmBatch splits the work across goroutines itself, each
// running a single-threaded OpenBLAS call. Measured on 2 cores: OpenBLAS's
// own threads ran small products (attention, 197x197x64) at 22 GFLOP/s,
// waking sleeping threads per call, against 60 single-threaded; left
// spinning between calls (its default), they took the core simplego's
// element-wise executors need (tiny-ViT step 245 ms against 200 ms).
const ThreadsEnv = "OPENBLAS_NUM_THREADS"

func load(env string) (string, error) {
	if _, set := os.LookupEnv(ThreadsEnv); !set {
		// Read by OpenBLAS when it is loaded; with cgo, os.Setenv
		// reaches the C environment.
		_ = os.Setenv(ThreadsEnv, "1")
	}
	names := Candidates
	switch {
	case strings.EqualFold(env, "off"):
		return "", fmt.Errorf("%w: %s=off", ErrUnavailable, Env)
	case env != "":
		names = []string{env}
	}
	var tried []string
	for _, name := range names {
		cs := C.CString(name)
		msg := C.medflow_blas_open(cs)
		C.free(unsafe.Pointer(cs))
		if msg == nil {
			return name, nil
		}
		tried = append(tried, C.GoString(msg))
	}
	return "", fmt.Errorf("%w (tried %s: %s)", ErrUnavailable, strings.Join(names, ", "), strings.Join(tried, "; "))
}

// Describe says which library Load opened and with how many threads, or
// why none, for logs and benchmark rows.
func Describe() string {
	if err := Load(); err != nil {
		return "none: " + err.Error()
	}
	s := loaded
	if cfg := strings.TrimSpace(C.GoString(C.medflow_blas_config())); cfg != "" {
		s += " (" + cfg + ")"
	}
	if n := int(C.medflow_blas_threads()); n > 0 {
		s += fmt.Sprintf(", %d threads", n)
	}
	return s
}

// Sgemm sets c (m×n, row-major, leading dimension ldc) to op(a)·op(b),
// where op(a) is a (m×k, leading dimension lda) or, with transA, the
// transpose of a stored k×m; likewise b is k×n or, with transB, n×k.
// c's previous contents are ignored (beta is 0). Load must have
// succeeded; the slices must hold the elements the dimensions address
// (checked: a short slice panics here, not in C).
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if err := Load(); err != nil {
		panic("blas.Sgemm: " + err.Error())
	}
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(what string, s []float32, rows, cols, ld int) {
		if ld < max(cols, 1) || len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("blas.Sgemm: %s holds %d elements, leading dimension %d, for %d×%d", what, len(s), ld, rows, cols))
		}
	}
	need("c", c, m, n, ldc)
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	need("a", a, ar, ac, lda)
	need("b", b, br, bc, ldb)
	C.medflow_sgemm(cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k),
		(*C.float)(unsafe.Pointer(&a[0])), C.int(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.int(ldb),
		(*C.float)(unsafe.Pointer(&c[0])), C.int(ldc))
}

// minParallel is the smallest product (m*n*k) worth splitting across
// goroutines (~30 µs of work single-threaded here).
const minParallel = 1 << 20

// SgemmBatch computes batch products: C_i = op(A_i)·op(B_i) for i <
// batch, with A_i at a[aOff[i]:], B_i at b[bOff[i]:] and C_i at
// c[i*strideC:], each stored as Sgemm says (per-product offsets let a
// caller read operands whose batch axes are not the leading ones in
// place). The work is split across up to GOMAXPROCS goroutines: whole
// products when there are at least as many as goroutines, else row blocks
// of each product. Every element of C is computed by one single-threaded
// OpenBLAS call whose rows depend only on the shapes and GOMAXPROCS, so
// results do not depend on scheduling (they can differ in the last bit
// from an unsplit call, or between machines with other core counts:
// OpenBLAS's blocking depends on a call's rows).
func SgemmBatch(transA, transB bool, m, n, k int, a []float32, lda int, aOff []int, b []float32, ldb int, bOff []int, c []float32, ldc, strideC, batch int) {
	one := func(i, r0, r1 int) { // rows [r0, r1) of product i
		ao := aOff[i] + r0*lda
		if transA {
			ao = aOff[i] + r0 // op(A)'s rows are A's columns
		}
		Sgemm(transA, transB, r1-r0, n, k, a[ao:], lda, b[bOff[i]:], ldb, c[i*strideC+r0*ldc:], ldc)
	}
	p := runtime.GOMAXPROCS(0)
	if p < 2 || batch*m*n*k < minParallel {
		for i := range batch {
			one(i, 0, m)
		}
		return
	}
	var wg sync.WaitGroup
	if batch >= p {
		for w := range p {
			lo, hi := batch*w/p, batch*(w+1)/p
			wg.Go(func() {
				for i := lo; i < hi; i++ {
					one(i, 0, m)
				}
			})
		}
	} else {
		parts := min(p, max(1, m/32)) // at least 32 rows a call
		for i := range batch {
			for w := range parts {
				r0, r1 := m*w/parts, m*(w+1)/parts
				wg.Go(func() { one(i, r0, r1) })
			}
		}
	}
	wg.Wait()
}

// Offsets returns the offsets 0, stride, 2*stride, ... of n products
// stored one after another, for SgemmBatch.
func Offsets(n, stride int) []int {
	off := make([]int, n)
	for i := range off {
		off[i] = i * stride
	}
	return off
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
