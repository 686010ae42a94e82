package embed

import "github.com/medflow/medflow/pipeline"

// Deps configure the kinds from outside the pipeline file.
type Deps struct {
	// Library is the ONNX Runtime library ("" : $MEDFLOW_ORT_LIB, else
	// .cache/onnxruntime/libonnxruntime.so.1 found from the working dir).
	Library string
}

// Register adds text.embed and image.embed to r with default Deps.
func Register(r *pipeline.Registry) error { return RegisterWith(r, Deps{}) }

// RegisterWith adds text.embed and image.embed to r.
func RegisterWith(r *pipeline.Registry, d Deps) error {
	if err := r.Register(pipeline.Definition{
		Kind: "text.embed", Role: pipeline.RoleTransform, Version: "1",
		Doc:    "pooled last hidden state of an ONNX text encoder (Llama) over token ids, length-bucketed ORT calls",
		Params: textParams(),
		New:    func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newTextEmbed(b, d) },
	}); err != nil {
		return err
	}
	return r.Register(pipeline.Definition{
		Kind: "image.embed", Role: pipeline.RoleTransform, Version: "1",
		Doc:    "embedding of an image tensor column by an ONNX image encoder (pixel_values [batch, C, H, W])",
		Params: imageParams(),
		New:    func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newImageEmbed(b, d) },
	})
}
