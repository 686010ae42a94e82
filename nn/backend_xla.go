//go:build xla

package nn

// Built with -tags xla, the XLA/PJRT backend is compiled in, so that
// GOMLX_BACKEND=xla:cuda (with a PJRT CUDA plugin installed, and
// GOMLX_NO_AUTO_INSTALL=1 to forbid downloads) runs the same graphs on a GPU.
import _ "github.com/gomlx/gomlx/backends/xla"
