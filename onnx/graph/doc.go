// Package graph is a small builder for ONNX models on top of the generated
// protobuf types in onnx/onnxpb.
//
// Implemented:
//   - graph inputs and outputs with an element type and fixed or symbolic
//     dimensions ([Graph.Input], [Graph.Output]);
//   - initializers of type float32, float16 and int64, stored inline
//     (raw_data) or, after [Graph.SetExternalData], streamed to a side file as
//     they are added, so that the model proto only references offsets;
//   - nodes with int, ints and tensor attributes and unique generated names
//     ([Graph.Node], [Graph.Op]) plus helpers for the standard operators
//     the Llama writer uses (MatMul, Add, Mul, Sqrt, Reciprocal, ReduceMean,
//     Gather, Reshape, Transpose, Concat, Slice, Softmax, Where, Cast,
//     Unsqueeze, Shape, Sigmoid, Neg, Trilu, And, ConstantOfShape); other
//     operators go through [Graph.Op] with an [Attr] built directly;
//   - models with opset 17 of the default domain and IR version 8
//     ([Graph.Model], [Model.Marshal], [Model.Write]).
//
// NOT implemented: shape inference, type checking or any validation that a
// node's inputs suit its operator (ONNX Runtime reports those when it loads
// the model), sub-graphs (If, Loop), sparse tensors, custom domains, and
// reading models back into a Graph (use proto.Unmarshal on onnxpb.ModelProto).
// The per-operator attribute conventions follow opset 17 (for example
// ReduceMean takes axes as an attribute, Unsqueeze and Slice take them as
// inputs).
package graph
