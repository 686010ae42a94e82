// Package llamaref is a plain-Go reference forward pass of the Llama
// architecture that package llama writes as ONNX, used by tests to check the
// ONNX graph (run by ONNX Runtime) and the text.embed stage.
//
// Implemented: token embedding, RMSNorm, rotary position embeddings (Hugging
// Face rotate_half convention, positions 0..seq-1), grouped-query causal
// self-attention with key padding masked by the additive llama.MaskValue
// (a query whose keys are all masked averages all values, as the ONNX graph
// does), SwiGLU MLP, final RMSNorm; all arithmetic in float64.
//
// NOT implemented: the LM head, KV caches, batching tricks or any speed: it
// is O(layers·batch·seq²·dim) with no parallelism and meant for tiny models.
package llamaref
