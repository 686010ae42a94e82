package embed

import "github.com/medflow/medflow/pipeline"

// Register adds text.embed and image.embed to r. The ONNX Runtime library
// is found by package ort ($MEDFLOW_ORT_LIB, else
// .cache/onnxruntime/libonnxruntime.so.1 found from the working dir).
func Register(r *pipeline.Registry) error {
	if err := r.Register(pipeline.Definition{
		Kind: "text.embed", Role: pipeline.RoleTransform, Version: "1",
		Doc:    "pooled last hidden state of an ONNX text encoder (Llama) over token ids, length-bucketed ORT calls",
		Params: textParams(),
		New:    newTextEmbed,
	}); err != nil {
		return err
	}
	return r.Register(pipeline.Definition{
		Kind: "image.embed", Role: pipeline.RoleTransform, Version: "1",
		Doc:    "embedding of an image tensor column by an ONNX image encoder (pixel_values [batch, C, H, W])",
		Params: imageParams(),
		New:    newImageEmbed,
	})
}
