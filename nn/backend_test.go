//go:build !xla

package nn

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestXLANotCompiledIn: without -tags xla, asking for the XLA backend is a
// clear error that says how to get it, not a panic.
func TestXLANotCompiledIn(t *testing.T) {
	_, err := BackendFor("xla:cuda")
	if !errors.Is(err, ErrBackend) || !strings.Contains(err.Error(), "-tags xla") {
		t.Fatalf("err = %v, want ErrBackend saying the build needs -tags xla", err)
	}
}

// TestBackendAttrs: the training log names simplego and what runs its
// matmuls and element-wise ops (OpenBLAS or pure Go, by build).
func TestBackendAttrs(t *testing.T) {
	b, err := BackendFor(DefaultBackend)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(BackendAttrs(b))
	for _, want := range []string{"backend SimpleGo", "matmul " + MatmulKernels(), "kernels " + FastKernels()} {
		if !strings.Contains(got, want) {
			t.Errorf("BackendAttrs = %s, want %q in it", got, want)
		}
	}
}
