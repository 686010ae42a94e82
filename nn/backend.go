package nn

import (
	"fmt"
	"os"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego" // the pure-Go default backend
)

// BackendEnv is the environment variable naming the GoMLX backend
// ("go:parallelism=-1", "xla:cuda", ...), GoMLX's own GOMLX_BACKEND.
const BackendEnv = backends.ConfigEnvVar

// FastKernelsEnv switches medflow's float32 element-wise and reduction
// executors for simplego off ("off"); see package nn/blas.
const FastKernelsEnv = "MEDFLOW_FAST_KERNELS"

// DefaultBackend is used when GOMLX_BACKEND is unset: simplego running
// the ops of a graph one at a time (each matmul still uses all cores) with
// an unbounded worker pool. Measured with GoMLX v0.26.0 on 2 cores:
//   - the default config deadlocks with these graphs (workers waiting for
//     sub-workers); parallelism=-1 or ops_sequential avoid it;
//   - the parallel op scheduler (the default when one graph runs alone)
//     races: executeNode reads the use counts of an input without the lock
//     another op holds while updating them, so an op may take an input
//     buffer over (in-place Div) while another still reads it (go test
//     -race reports it; results can silently differ). ops_sequential does
//     not race and was as fast or faster here.
const DefaultBackend = "go:ops_sequential,parallelism=-1"

// backendHint adds advice to a backend creation error (the xla build
// explains a missing PJRT plugin).
var backendHint = func(config string, err error) string { return "" }

// backendPrepare runs before a backend is created (the xla build sets the
// CUDA data folder that go-xla would otherwise set wrong).
var backendPrepare = func(config string) {}

var (
	backendMu    sync.Mutex
	backendCache = map[string]backends.Backend{}
)

// Backend returns the backend named by $GOMLX_BACKEND (default
// DefaultBackend), created once per process and configuration. Only the
// simplego backend ("go") is compiled in unless the binary is built with
// -tags xla, which adds GoMLX's XLA/PJRT backend ("xla:cuda", "xla:cpu").
func Backend() (backends.Backend, error) {
	cfg := os.Getenv(BackendEnv)
	if cfg == "" {
		cfg = DefaultBackend
	}
	return BackendFor(cfg)
}

// BackendAttrs are log attributes saying what computes on b: its name
// and, for simplego, what runs its matrix products and element-wise ops.
func BackendAttrs(b backends.Backend) []any {
	attrs := []any{"backend", b.Name()}
	if _, ok := b.(*simplego.Backend); ok {
		attrs = append(attrs, "matmul", MatmulKernels(), "kernels", FastKernels())
	}
	return attrs
}

// BackendFor returns the backend for config, created once per process.
func BackendFor(config string) (b backends.Backend, err error) {
	backendMu.Lock()
	defer backendMu.Unlock()
	if b := backendCache[config]; b != nil {
		return b, nil
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("%w %q: %v (compiled in: %v; the xla backend needs a build with -tags xla)",
				ErrBackend, config, r, backends.List())
		}
	}()
	backendPrepare(config)
	b, err = newQuiet(config)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v%s", ErrBackend, config, err, backendHint(config, err))
	}
	backendCache[config] = b
	return b, nil
}

// newQuiet creates the backend with os.Stdout pointed at /dev/null:
// simplego prints "SimpleGo backend: parallelism set to N" on stdout, which
// would corrupt the output of commands that write data to stdout. The swap
// happens once per configuration, at the first training or prediction.
func newQuiet(config string) (backends.Backend, error) {
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		saved := os.Stdout
		os.Stdout = null
		defer func() {
			os.Stdout = saved
			null.Close()
		}()
	}
	return backends.NewWithConfig(config)
}
