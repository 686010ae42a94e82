// Package llama writes Llama-architecture decoders (Llama-2 and smaller,
// with grouped-query attention) as ONNX models whose output is the last
// hidden state, for use as a text embedder through ONNX Runtime.
//
// The ONNX graph (opset 17, standard operators only; built with onnx/graph):
//
//	inputs  input_ids      int64 [batch, sequence]
//	        attention_mask int64 [batch, sequence]  1 real token, 0 padding (left or right)
//	output  last_hidden_state float32 [batch, sequence, dim]
//
// token embedding (Gather) → Layers × [RMSNorm → q/k/v projections →
// rotary position embeddings (Hugging Face rotate_half convention,
// positions 0..sequence-1 regardless of padding) → grouped-query causal
// self-attention where padding keys are masked with the finite MaskValue →
// output projection + residual → RMSNorm → SwiGLU MLP + residual] → final
// RMSNorm. Outputs at padding positions are finite but meaningless.
// Sequences must not be longer than Config.MaxSeq (the rotary tables'
// length). WriteOptions.Float16 stores float16 weights that the graph casts
// to float32 (compute is float32); WriteOptions.ExternalData stores weights
// in a side file PATH.data.
//
// Implemented: Config (TinyConfig, Llama2_7B), deterministic RandomWeights,
// WriteONNX / WriteTiny, FromHF (streams a Hugging Face checkpoint,
// config.json + *.safetensors in F32/F16/BF16, into ONNX with external data,
// streaming every tensor in 256K-element chunks: Linear weights keep the
// checkpoint's [out, in] layout and the graph transposes them, which ORT
// folds into the MatMul; measured peak ~0.7-0.9× one layer's float32 size
// on a 108 MB checkpoint, garbage included, against ~22× for loading every
// tensor first, and it does not grow with the model), WriteHF (tiny HF
// checkpoints for tests) and ConfigFromModel. The plain-Go reference forward
// pass is in llama/llamaref.
//
// NOT implemented: the LM head / logits, generation and KV caches,
// rope_scaling variants (Llama-3.1 style), biases in projections, tied
// embeddings as separate outputs, native float16 compute (weights are cast
// to float32 at load), and anything GPU specific.
//
// Notes for a CUDA run of a converted model (not done here): the graph uses
// only operators that ONNX Runtime's CUDA execution provider implements.
// It needs libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so
// beside libonnxruntime.so.1 — the onnxruntime-node@1.30.0 tarball does not
// ship them (its install script takes them from the NuGet package
// Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0, built for CUDA 12 + cuDNN 9) —
// the CUDA 12 and cuDNN 9 runtime libraries on the loader path, and the CUDA
// provider appended to the session options. Llama-2-7B needs about 28 GB of
// GPU memory for weights in float32 (Float16 files are still float32 at run
// time, since the Cast of each initializer is folded at load); running it in
// ~14 GB needs a graph that computes in float16 (RMSNorm statistics and the
// softmax kept in float32), which is a follow-up.
package llama
