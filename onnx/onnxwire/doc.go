// Package onnxwire reads what medflow needs from an ONNX model file
// without loading its weights, by walking the protobuf wire format with
// reads at offsets (an inline-weight model of gigabytes is skipped over,
// not read):
//   - Signature: the top-level graph's inputs and outputs (name, element
//     type, dims), as ONNX Runtime reports them for a session, for
//     checking a model against a contract before any session is built;
//   - ExternalData: the external data files its initializers name, for
//     the model's file identity in stage fingerprints.
//
// Not implemented: subgraphs (If/Loop bodies), sparse initializers, and
// types other than dense tensors beyond saying that they are not tensors.
// Nothing here runs or validates a model: ONNX Runtime does that.
package onnxwire
