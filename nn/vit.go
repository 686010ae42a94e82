package nn

import (
	"fmt"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
)

// ViTConfig sizes the image encoder.
type ViTConfig struct {
	Image    int     `json:"image"`     // side of the square input image
	Patch    int     `json:"patch"`     // side of a patch; must divide Image
	Width    int     `json:"width"`     // token width D
	Depth    int     `json:"depth"`     // number of transformer blocks
	Heads    int     `json:"heads"`     // attention heads; must divide Width
	MLPRatio float64 `json:"mlp_ratio"` // MLP hidden = MLPRatio*Width
	Pos      string  `json:"pos"`       // "sincos" (fixed) or "learned"
	// PixelMean and PixelStd normalise 8-bit input pixels x as
	// (x/255 - PixelMean) / PixelStd (PixelStd 0 means 1); absent from
	// the JSON when 0, so configs written before them are unchanged.
	PixelMean float64 `json:"pixel_mean,omitempty"`
	PixelStd  float64 `json:"pixel_std,omitempty"`
}

// Grid is the number of patches per side.
func (c ViTConfig) Grid() int { return c.Image / c.Patch }

// Tokens is the number of patches.
func (c ViTConfig) Tokens() int { return c.Grid() * c.Grid() }

// PatchDim is the number of pixels per patch.
func (c ViTConfig) PatchDim() int { return c.Patch * c.Patch }

// Hidden is the MLP hidden width.
func (c ViTConfig) Hidden() int { return max(1, int(c.MLPRatio*float64(c.Width)+0.5)) }

// Validate checks the shapes fit together.
func (c ViTConfig) Validate() error {
	switch {
	case c.Image < 1 || c.Patch < 1 || c.Image%c.Patch != 0:
		return fmt.Errorf("%w: patch %d must divide image size %d", ErrConfig, c.Patch, c.Image)
	case c.Width < 4 || c.Heads < 1 || c.Width%c.Heads != 0:
		return fmt.Errorf("%w: heads %d must divide width %d", ErrConfig, c.Heads, c.Width)
	case c.Depth < 1:
		return fmt.Errorf("%w: depth %d < 1", ErrConfig, c.Depth)
	case c.MLPRatio <= 0:
		return fmt.Errorf("%w: mlp_ratio %g <= 0", ErrConfig, c.MLPRatio)
	case c.Pos != "sincos" && c.Pos != "learned":
		return fmt.Errorf("%w: pos %q: want sincos or learned", ErrConfig, c.Pos)
	case c.Pos == "sincos" && c.Width%4 != 0:
		return fmt.Errorf("%w: sincos position embedding needs width %d divisible by 4", ErrConfig, c.Width)
	}
	return nil
}

// InitEncoder adds the encoder's parameters under "encoder/".
func InitEncoder(in *Init, c ViTConfig) {
	InitDense(in, "encoder/patch", c.PatchDim(), c.Width)
	if c.Pos == "learned" {
		in.Normal("encoder/pos", 0.02, c.Tokens(), c.Width)
	}
	for i := range c.Depth {
		InitBlock(in, fmt.Sprintf("encoder/block%d", i), c.Width, c.Hidden())
	}
	InitLayerNorm(in, "encoder/ln", c.Width)
}

// Patchify turns images [B, S*S] (row-major) into patches [B, N, P*P] by
// reshapes and a transpose (no convolution, whose gradient needs Reverse,
// missing on simplego).
func Patchify(c ViTConfig, images *Node) *Node {
	b := images.Shape().Dimensions[0]
	g, p := c.Grid(), c.Patch
	x := Reshape(images, b, g, p, g, p)
	x = TransposeAllAxes(x, 0, 1, 3, 2, 4)
	return Reshape(x, b, g*g, p*p)
}

// Embed returns patch tokens plus position embeddings [B, N, D].
func Embed(s *Scope, c ViTConfig, images *Node) *Node {
	x := Dense(s.In("encoder/patch"), Patchify(c, images))
	var pos *Node
	if c.Pos == "learned" {
		pos = s.Var("encoder/pos")
	} else {
		pos = constF32(s.Graph(), SinCos2D(c.Grid(), c.Width), c.Tokens(), c.Width)
	}
	return Add(x, expandTo(pos, 3))
}

// Select keeps K of the N tokens of x [B,N,D] with a one-hot selection
// sel [B,K,N]: einsum("bkn,bnd->bkd"). A one-hot matmul is used instead of
// Gather so that the gradient is again an einsum (no scatter) on every
// backend; its cost (B·K·N·D) is small next to the blocks.
func Select(s *Scope, x, sel *Node) *Node { return s.einsum("bkn,bnd->bkd", sel, x) }

// Encode runs the transformer blocks and the final LayerNorm over tokens
// [B,T,D].
func Encode(s *Scope, c ViTConfig, tokens *Node) *Node {
	x := tokens
	for i := range c.Depth {
		x = Block(s.In(fmt.Sprintf("encoder/block%d", i)), x, c.Heads)
	}
	return LayerNorm(s.In("encoder/ln"), x)
}

// EncodeImages is Embed then Encode over all patches: [B, N, D].
func EncodeImages(s *Scope, c ViTConfig, images *Node) *Node {
	return Encode(s, c, Embed(s, c, images))
}

// MeanTokens averages tokens [B,N,D] to [B,D].
func MeanTokens(tokens *Node) *Node { return ReduceMean(tokens, 1) }
