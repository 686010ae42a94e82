//go:build !xla

package nn

import (
	"errors"
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
