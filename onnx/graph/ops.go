package graph

import "github.com/medflow/medflow/onnx/onnxpb"

// Helpers for standard operators (opset 17 conventions).

// MatMul is numpy-style matrix product.
func (g *Graph) MatMul(a, b Value) Value { return g.Op("MatMul", []Value{a, b}) }

// Add is elementwise a+b with broadcasting.
func (g *Graph) Add(a, b Value) Value { return g.Op("Add", []Value{a, b}) }

// Mul is elementwise a*b with broadcasting.
func (g *Graph) Mul(a, b Value) Value { return g.Op("Mul", []Value{a, b}) }

// Sqrt is elementwise square root.
func (g *Graph) Sqrt(x Value) Value { return g.Op("Sqrt", []Value{x}) }

// Reciprocal is elementwise 1/x.
func (g *Graph) Reciprocal(x Value) Value { return g.Op("Reciprocal", []Value{x}) }

// Neg is elementwise -x.
func (g *Graph) Neg(x Value) Value { return g.Op("Neg", []Value{x}) }

// Sigmoid is elementwise 1/(1+exp(-x)).
func (g *Graph) Sigmoid(x Value) Value { return g.Op("Sigmoid", []Value{x}) }

// ReduceMean averages over axes (attribute form, opset <= 17).
func (g *Graph) ReduceMean(x Value, keepdims bool, axes ...int64) Value {
	k := int64(0)
	if keepdims {
		k = 1
	}
	return g.Op("ReduceMean", []Value{x}, AttrInts("axes", axes...), AttrInt("keepdims", k))
}

// Gather takes slices of data along axis at indices.
func (g *Graph) Gather(data, indices Value, axis int64) Value {
	return g.Op("Gather", []Value{data, indices}, AttrInt("axis", axis))
}

// Reshape reshapes x to the given shape (0 copies the input dimension, -1 is inferred).
func (g *Graph) Reshape(x Value, shape ...int64) Value {
	return g.Op("Reshape", []Value{x, g.ConstInt64(shape...)})
}

// Transpose permutes the axes of x.
func (g *Graph) Transpose(x Value, perm ...int64) Value {
	return g.Op("Transpose", []Value{x}, AttrInts("perm", perm...))
}

// Concat joins xs along axis.
func (g *Graph) Concat(axis int64, xs ...Value) Value {
	return g.Op("Concat", xs, AttrInt("axis", axis))
}

// Slice takes x[starts:ends] along axes (constant bounds).
func (g *Graph) Slice(x Value, starts, ends, axes []int64) Value {
	return g.Op("Slice", []Value{x, g.ConstInt64(starts...), g.ConstInt64(ends...), g.ConstInt64(axes...)})
}

// SliceDyn is Slice with computed starts/ends/axes tensors.
func (g *Graph) SliceDyn(x, starts, ends, axes Value) Value {
	return g.Op("Slice", []Value{x, starts, ends, axes})
}

// Softmax normalizes over axis.
func (g *Graph) Softmax(x Value, axis int64) Value {
	return g.Op("Softmax", []Value{x}, AttrInt("axis", axis))
}

// Where picks a where cond is true, else b.
func (g *Graph) Where(cond, a, b Value) Value { return g.Op("Where", []Value{cond, a, b}) }

// Cast converts x to element type to.
func (g *Graph) Cast(x Value, to DType) Value {
	return g.Op("Cast", []Value{x}, AttrInt("to", int64(to)))
}

// Unsqueeze inserts size-1 axes.
func (g *Graph) Unsqueeze(x Value, axes ...int64) Value {
	return g.Op("Unsqueeze", []Value{x, g.ConstInt64(axes...)})
}

// Shape returns the shape of x as a 1-D int64 tensor.
func (g *Graph) Shape(x Value) Value { return g.Op("Shape", []Value{x}) }

// And is elementwise logical and.
func (g *Graph) And(a, b Value) Value { return g.Op("And", []Value{a, b}) }

// Trilu keeps the lower (upper=false) or upper triangle of the last two axes.
func (g *Graph) Trilu(x Value, upper bool) Value {
	u := int64(0)
	if upper {
		u = 1
	}
	return g.Op("Trilu", []Value{x}, AttrInt("upper", u))
}

// ConstantOfShape makes a tensor of the computed shape filled with value
// (a one-element tensor, e.g. Tensor("v", Float32, []int64{1}, Float32Bytes([]float32{1}))).
func (g *Graph) ConstantOfShape(shape Value, value *onnxpb.TensorProto) Value {
	return g.Op("ConstantOfShape", []Value{shape}, AttrTensor("value", value))
}
