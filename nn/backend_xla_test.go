//go:build xla

package nn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestXLAMissingPluginNamed: asking for xla:cuda where no PJRT plugin is
// installed fails at once with an error that says how to provide one, and
// downloads nothing (GoMLX would otherwise fetch plugins into ~/.local).
func TestXLAMissingPluginNamed(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", t.TempDir())
	t.Setenv("GOMLX_NO_AUTO_INSTALL", "") // set but empty: must not matter
	_, err := BackendFor("xla:cuda")
	if err == nil {
		t.Skip("a PJRT CUDA plugin is installed on this machine")
	}
	if !errors.Is(err, ErrBackend) || !strings.Contains(err.Error(), "PJRT_PLUGIN_LIBRARY_PATH") ||
		!strings.Contains(err.Error(), "never downloads") {
		t.Fatalf("err = %v, want ErrBackend naming PJRT_PLUGIN_LIBRARY_PATH", err)
	}
	var files []string
	filepath.Walk(home, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) > 0 {
		t.Fatalf("files written under HOME (a download?): %v", files)
	}
}
