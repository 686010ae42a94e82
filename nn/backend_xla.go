//go:build xla

package nn

// Built with -tags xla, the XLA/PJRT backend is compiled in, so that
// GOMLX_BACKEND=xla:cuda runs the same graphs on a GPU through a PJRT CUDA
// plugin found on the machine (PJRT_PLUGIN_LIBRARY_PATH, or the standard
// install folders). medflow never downloads a plugin: GoMLX's auto-install
// is switched off here, whatever GOMLX_NO_AUTO_INSTALL says.
import (
	"strings"

	"github.com/gomlx/gomlx/backends/xla"
)

func init() {
	xla.EnableAutoInstall(false)
	backendHint = xlaHint
}

// xlaHint explains a missing PJRT plugin.
func xlaHint(config string, err error) string {
	if !strings.HasPrefix(config, "xla") || !strings.Contains(err.Error(), "no plugins found") {
		return ""
	}
	return "; no PJRT plugin was found (medflow never downloads one): set PJRT_PLUGIN_LIBRARY_PATH to the folder " +
		"holding the plugin, e.g. pjrt_c_api_cuda_plugin.so from the jax-cuda13-plugin wheel (jax_plugins/xla_cuda13/) for xla:cuda"
}
