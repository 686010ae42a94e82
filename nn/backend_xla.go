//go:build xla

package nn

// Built with -tags xla, the XLA/PJRT backend is compiled in, so that
// GOMLX_BACKEND=xla:cuda runs the same graphs on a GPU through a PJRT CUDA
// plugin found on the machine (PJRT_PLUGIN_LIBRARY_PATH, or the standard
// install folders, for a file named pjrt_c_api_cuda_plugin.so), or
// GOMLX_BACKEND=xla:/abs/path/to/plugin.so for a plugin of another name
// (jax's wheel ships jax_plugins/xla_cuda13/xla_cuda_plugin.so; that is
// how bench/gpu/check.sh ran on an H200). medflow never downloads a
// plugin: GoMLX's auto-install is switched off here, whatever
// GOMLX_NO_AUTO_INSTALL says.
import (
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends/xla"
)

func init() {
	xla.EnableAutoInstall(false)
	backendHint = xlaHint
	backendPrepare = setCUDADataDir
}

// setCUDADataDir works around go-xla v0.1.4 (pkg/pjrt/cuda_linux.go): once
// a CUDA plugin loads, it writes --xla_gpu_cuda_data_dir=<a developer's
// home folder> into XLA_FLAGS unless that flag is already there, and XLA
// looks for libdevice and ptxas under that folder. So before a CUDA
// backend is created, medflow sets the flag itself, unless the user did,
// to the first folder with nvvm/libdevice found by cudaDataDir.
func setCUDADataDir(config string) {
	flags := os.Getenv("XLA_FLAGS")
	if !strings.HasPrefix(config, "xla") || !strings.Contains(strings.ToLower(config), "cuda") ||
		strings.Contains(flags, "--xla_gpu_cuda_data_dir") {
		return
	}
	if dir := cudaDataDir(config, os.Getenv("CUDA_HOME"), os.Getenv("PJRT_PLUGIN_LIBRARY_PATH")); dir != "" {
		_ = os.Setenv("XLA_FLAGS", strings.TrimSpace(flags+" --xla_gpu_cuda_data_dir="+dir))
	}
}

// cudaDataDir returns the first folder holding nvvm/libdevice among
// cudaHome, the folders around the plugin (the folder of an absolute path
// in config, or those of pluginPath, and up to two parents of each: the
// folder itself and its nvidia/* subfolders, since pip wheels put the
// toolkit in site-packages/nvidia/cu13 or nvidia/cuda_nvcc) and
// /usr/local/cuda; "" when none has it.
func cudaDataDir(config, cudaHome, pluginPath string) string {
	var roots []string
	if p := strings.TrimPrefix(strings.SplitN(config, ",", 2)[0], "xla:"); filepath.IsAbs(p) {
		roots = append(roots, filepath.Dir(p))
	}
	for _, p := range filepath.SplitList(pluginPath) {
		if p != "" {
			roots = append(roots, p)
		}
	}
	cands := []string{cudaHome}
	for _, r := range roots {
		for range 3 {
			cands = append(cands, r)
			sub, _ := filepath.Glob(filepath.Join(r, "nvidia", "*"))
			cands = append(cands, sub...)
			r = filepath.Dir(r)
		}
	}
	cands = append(cands, "/usr/local/cuda")
	for _, c := range cands {
		if c == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(c, "nvvm", "libdevice")); err == nil && st.IsDir() {
			return c
		}
	}
	return ""
}

// xlaHint explains a missing PJRT plugin.
func xlaHint(config string, err error) string {
	if !strings.HasPrefix(config, "xla") || !strings.Contains(err.Error(), "no plugins found") {
		return ""
	}
	return "; no PJRT plugin was found (medflow never downloads one): set PJRT_PLUGIN_LIBRARY_PATH to a folder " +
		"holding pjrt_c_api_cuda_plugin.so, or name the plugin file itself, e.g. " +
		"GOMLX_BACKEND=xla:<site-packages>/jax_plugins/xla_cuda13/xla_cuda_plugin.so (the jax-cuda13-plugin wheel)"
}
