package ort

import (
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"
)

// DType is a tensor element type.
type DType int

// Element types the package can feed and read.
const (
	Unknown DType = iota
	Float32
	Float64
	Float16
	Int64
	Int32
	Int8
	Uint8
	Bool
	Other // a type this package does not feed (strings, bfloat16, ...)
)

func (d DType) String() string {
	return [...]string{"unknown", "float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool", "other"}[d]
}

func dtypeOf(t onnx.TensorElementDataType) DType {
	switch t {
	case onnx.TensorElementDataTypeFloat:
		return Float32
	case onnx.TensorElementDataTypeDouble:
		return Float64
	case onnx.TensorElementDataTypeFloat16:
		return Float16
	case onnx.TensorElementDataTypeInt64:
		return Int64
	case onnx.TensorElementDataTypeInt32:
		return Int32
	case onnx.TensorElementDataTypeInt8:
		return Int8
	case onnx.TensorElementDataTypeUint8:
		return Uint8
	case onnx.TensorElementDataTypeBool:
		return Bool
	case onnx.TensorElementDataTypeUndefined:
		return Unknown
	}
	return Other
}

// Tensor is a dense row-major tensor in Go memory. Data is one of
// []float32, []float64, []int64, []int32, []int8, []uint8 or []bool with at
// least the product of Shape elements.
type Tensor struct {
	Shape []int64
	Data  any
}

// DType returns the element type of t.Data (Unknown for nil or others).
func (t Tensor) DType() DType {
	switch t.Data.(type) {
	case []float32:
		return Float32
	case []float64:
		return Float64
	case []int64:
		return Int64
	case []int32:
		return Int32
	case []int8:
		return Int8
	case []uint8:
		return Uint8
	case []bool:
		return Bool
	}
	return Unknown
}

// Elems is the product of the shape's dims.
func Elems(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// value wraps t's memory as an ORT value without copying.
func (t Tensor) value() (onnx.Value, error) {
	s := onnx.NewShape(t.Shape...)
	switch d := t.Data.(type) {
	case []float32:
		return onnx.NewTensor(s, d)
	case []float64:
		return onnx.NewTensor(s, d)
	case []int64:
		return onnx.NewTensor(s, d)
	case []int32:
		return onnx.NewTensor(s, d)
	case []int8:
		return onnx.NewTensor(s, d)
	case []uint8:
		return onnx.NewTensor(s, d)
	case []bool:
		return onnx.NewTensor(s, d)
	}
	return nil, fmt.Errorf("unsupported data %T", t.Data)
}

// fromValue copies an ORT-allocated output into a Tensor.
func fromValue(v onnx.Value) (Tensor, error) {
	shape := []int64(v.GetShape())
	switch x := v.(type) {
	case *onnx.Tensor[float32]:
		return Tensor{Shape: shape, Data: x.GetData()}, nil
	case *onnx.Tensor[float64]:
		return Tensor{Shape: shape, Data: x.GetData()}, nil
	case *onnx.Tensor[int64]:
		return Tensor{Shape: shape, Data: x.GetData()}, nil
	case *onnx.Tensor[int32]:
		return Tensor{Shape: shape, Data: x.GetData()}, nil
	case *onnx.Tensor[int8]:
		return Tensor{Shape: shape, Data: x.GetData()}, nil
	case *onnx.Tensor[uint8]:
		return Tensor{Shape: shape, Data: x.GetData()}, nil
	case *onnx.Tensor[bool]:
		return Tensor{Shape: shape, Data: x.GetData()}, nil
	}
	return Tensor{}, fmt.Errorf("unsupported output value %T", v)
}
