package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable that overrides the library path.
const LibraryEnv = "MEDFLOW_ORT_LIB"

// DefaultLibrary is where `make onnxruntime-lib` puts the library, relative
// to the repository root.
const DefaultLibrary = ".cache/onnxruntime/libonnxruntime.so.1"

// CUDA provider libraries that must lie beside the ORT library for provider cuda.
var cudaProviderFiles = []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"}

// FindLibrary resolves the ONNX Runtime library path: explicit if not empty,
// else $MEDFLOW_ORT_LIB, else DefaultLibrary under the working directory or
// its nearest parent that has it. The error wraps ErrNoLibrary and names
// every path tried.
func FindLibrary(explicit string) (string, error) {
	var tried []string
	check := func(p, from string) (string, bool) {
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		st, err := os.Stat(abs)
		if err == nil && st.Mode().IsRegular() {
			return abs, true
		}
		tried = append(tried, fmt.Sprintf("%s (%s)", abs, from))
		return "", false
	}
	fail := func() (string, error) {
		return "", fmt.Errorf("%w: tried %s; run `make onnxruntime-lib` (fetches onnxruntime-node@1.30.0 into .cache/onnxruntime/) or set %s",
			ErrNoLibrary, strings.Join(tried, ", "), LibraryEnv)
	}
	if explicit != "" {
		if p, ok := check(explicit, "options"); ok {
			return p, nil
		}
		return fail()
	}
	if env := os.Getenv(LibraryEnv); env != "" {
		if p, ok := check(env, "$"+LibraryEnv); ok {
			return p, nil
		}
		return fail()
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("%w: working directory: %v", ErrNoLibrary, err)
	}
	for dir := wd; ; {
		if p, ok := check(filepath.Join(dir, DefaultLibrary), "default"); ok {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return fail()
}

// env is the process-wide ONNX Runtime environment.
var env struct {
	mu  sync.Mutex
	lib string // set once initialised
}

// Init finds the library (see FindLibrary) and initialises the ONNX Runtime
// environment once per process; later calls with the same library (or "")
// return its path. Safe for concurrent use. A failed attempt is not
// remembered, so a fixed setup can retry.
func Init(library string) (string, error) {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.lib != "" {
		if library == "" {
			return env.lib, nil
		}
		want, err := FindLibrary(library)
		if err != nil {
			return "", err
		}
		if !sameFile(want, env.lib) {
			return "", fmt.Errorf("%w: ONNX Runtime is already initialised with %s in this process; cannot switch to %s",
				ErrOptions, env.lib, want)
		}
		return env.lib, nil
	}
	path, err := FindLibrary(library)
	if err != nil {
		return "", err
	}
	onnx.SetSharedLibraryPath(path)
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		return "", fmt.Errorf("%w: %s: %v (want ONNX Runtime 1.30, C API 24, for this platform)", ErrNoLibrary, path, err)
	}
	env.lib = path
	return path, nil
}

// Library returns the path of the initialised library ("" before Init).
func Library() string {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.lib
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return os.SameFile(sa, sb)
}

// checkCUDAProvider reports which CUDA provider libraries are missing beside lib.
func checkCUDAProvider(lib string) error {
	dir := filepath.Dir(lib)
	var missing []string
	for _, f := range cudaProviderFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%w: %s: %v", ErrNoCUDAProvider, filepath.Join(dir, f), err)
			}
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s in %s (beside %s); they come from an onnxruntime-gpu 1.30 build "+
			"(NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0, runtimes/linux-x64/native/; see bench/gpu/README.md), "+
			"the npm onnxruntime-node tarball ships none (its skipped postinstall would fetch them from NuGet)",
			ErrNoCUDAProvider, strings.Join(missing, " and "), dir, filepath.Base(lib))
	}
	return nil
}
