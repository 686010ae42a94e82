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

// TestXLACUDADataDir: the CUDA folder given to XLA is found beside a pip
// plugin (site-packages/jax_plugins/xla_cuda13/x.so with the toolkit in
// site-packages/nvidia/cu13), in a PJRT_PLUGIN_LIBRARY_PATH folder's
// nvidia/ subfolders (go-xla's installer layout) and in CUDA_HOME first.
func TestXLACUDADataDir(t *testing.T) {
	mk := func(dirs ...string) string {
		root := t.TempDir()
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	site := mk("jax_plugins/xla_cuda13", "nvidia/cudnn", "nvidia/cu13/nvvm/libdevice")
	goxla := mk("go-xla/nvidia/cuda_nvcc/nvvm/libdevice")
	home := mk("nvvm/libdevice")
	empty := mk("x")
	for _, tc := range []struct {
		name, config, home, path, want string
	}{
		{"pip plugin by path", "xla:" + filepath.Join(site, "jax_plugins/xla_cuda13/xla_cuda_plugin.so"), "", "", filepath.Join(site, "nvidia/cu13")},
		{"go-xla folder", "xla:cuda", "", filepath.Join(goxla, "go-xla/nvidia"), filepath.Join(goxla, "go-xla/nvidia/cuda_nvcc")},
		{"CUDA_HOME first", "xla:cuda", home, filepath.Join(goxla, "go-xla/nvidia"), home},
	} {
		if got := cudaDataDir(tc.config, tc.home, tc.path); got != tc.want {
			t.Errorf("%s: cudaDataDir = %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := os.Stat("/usr/local/cuda/nvvm/libdevice"); err != nil {
		if got := cudaDataDir("xla:cuda", "", empty); got != "" {
			t.Errorf("nothing to find: cudaDataDir = %q", got)
		}
	}
	t.Setenv("XLA_FLAGS", "--xla_gpu_cuda_data_dir=/mine")
	setCUDADataDir("xla:cuda")
	if got := os.Getenv("XLA_FLAGS"); got != "--xla_gpu_cuda_data_dir=/mine" {
		t.Errorf("a user's flag was changed: XLA_FLAGS = %q", got)
	}
	t.Setenv("XLA_FLAGS", "--xla_dump_to=/tmp/d")
	t.Setenv("CUDA_HOME", home)
	setCUDADataDir("xla:cuda")
	if got := os.Getenv("XLA_FLAGS"); got != "--xla_dump_to=/tmp/d --xla_gpu_cuda_data_dir="+home {
		t.Errorf("XLA_FLAGS = %q", got)
	}
}
