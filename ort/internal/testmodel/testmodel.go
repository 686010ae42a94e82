// Package testmodel writes tiny ONNX models for the ort and embed tests,
// built directly with the generated ONNX protobuf types (onnx/onnxpb).
// Weights are random from a seed. Not for production use.
package testmodel

import (
	"fmt"
	"math/rand/v2"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/medflow/medflow/onnx/onnxpb"
)

// Element types (onnx.TensorProto.DataType).
const (
	Float = int32(onnxpb.TensorProto_FLOAT)
	Int64 = int32(onnxpb.TensorProto_INT64)
	Int32 = int32(onnxpb.TensorProto_INT32)
)

// Dim is a dim of a graph input/output: a name for a dynamic dim, an int
// for a static one.
type Dim any

// IO declares a graph input or output.
type IO struct {
	Name string
	Type int32
	Dims []Dim
}

func valueInfo(io IO) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range io.Dims {
		switch v := d.(type) {
		case string:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}})
		case int:
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}})
		default:
			panic(fmt.Sprintf("testmodel: dim %v", d))
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(io.Name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(io.Type), Shape: shape}}}}
}

// Node is one operator.
type Node struct {
	Op      string
	In, Out []string
	Ints    map[string]int64
}

// Graph is a model to write.
type Graph struct {
	Inputs, Outputs []IO
	Nodes           []Node
	Floats          map[string]Weights
	Int64s          map[string]Ints
}

// Weights is a float initializer.
type Weights struct {
	Dims []int64
	Data []float32
}

// Ints is an int64 initializer.
type Ints struct {
	Dims []int64
	Data []int64
}

// Write serialises g (opset 17, IR 8) to path.
func (g Graph) Write(path string) error {
	gp := &onnxpb.GraphProto{Name: proto.String("testmodel")}
	for _, io := range g.Inputs {
		gp.Input = append(gp.Input, valueInfo(io))
	}
	for _, io := range g.Outputs {
		gp.Output = append(gp.Output, valueInfo(io))
	}
	for i, n := range g.Nodes {
		np := &onnxpb.NodeProto{OpType: proto.String(n.Op), Input: n.In, Output: n.Out, Name: proto.String(fmt.Sprintf("n%d", i))}
		for k, v := range n.Ints {
			np.Attribute = append(np.Attribute, &onnxpb.AttributeProto{Name: proto.String(k), I: proto.Int64(v),
				Type: onnxpb.AttributeProto_INT.Enum()})
		}
		gp.Node = append(gp.Node, np)
	}
	for name, w := range g.Floats {
		gp.Initializer = append(gp.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: w.Dims,
			DataType: proto.Int32(Float), FloatData: w.Data})
	}
	for name, w := range g.Int64s {
		gp.Initializer = append(gp.Initializer, &onnxpb.TensorProto{Name: proto.String(name), Dims: w.Dims,
			DataType: proto.Int32(Int64), Int64Data: w.Data})
	}
	m := &onnxpb.ModelProto{IrVersion: proto.Int64(8), ProducerName: proto.String("medflow-testmodel"),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}}, Graph: gp}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("testmodel: %s: %w", path, err)
	}
	return os.WriteFile(path, b, 0o644)
}

// Random returns n uniform values in [-scale, scale).
func Random(seed uint64, n int, scale float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, n)
	for i := range out {
		out[i] = (r.Float32()*2 - 1) * scale
	}
	return out
}

// MatMul writes y = x·W: input "x" float32 [batch, n], output "y" float32
// [batch, d]; it returns W (row-major [n, d]).
func MatMul(path string, n, d int, seed uint64) ([]float32, error) {
	w := Random(seed, n*d, 1)
	g := Graph{
		Inputs:  []IO{{"x", Float, []Dim{"batch", n}}},
		Outputs: []IO{{"y", Float, []Dim{"batch", d}}},
		Nodes:   []Node{{Op: "MatMul", In: []string{"x", "W"}, Out: []string{"y"}}},
		Floats:  map[string]Weights{"W": {Dims: []int64{int64(n), int64(d)}, Data: w}},
	}
	return w, g.Write(path)
}

// Embedding writes a stand-in for a text encoder with the Llama contract:
// inputs "input_ids", "attention_mask" int64 [batch, seq], output
// "last_hidden_state" float32 [batch, seq, dim] = E[input_ids] * mask.
// It returns E (row-major [vocab, dim]).
func Embedding(path string, vocab, dim int, seed uint64) ([]float32, error) {
	e := Random(seed, vocab*dim, 1)
	g := Graph{
		Inputs:  []IO{{"input_ids", Int64, []Dim{"batch", "seq"}}, {"attention_mask", Int64, []Dim{"batch", "seq"}}},
		Outputs: []IO{{"last_hidden_state", Float, []Dim{"batch", "seq", dim}}},
		Nodes: []Node{
			{Op: "Gather", In: []string{"E", "input_ids"}, Out: []string{"h"}, Ints: map[string]int64{"axis": 0}},
			{Op: "Cast", In: []string{"attention_mask"}, Out: []string{"m"}, Ints: map[string]int64{"to": int64(Float)}},
			{Op: "Unsqueeze", In: []string{"m", "axes"}, Out: []string{"m3"}},
			{Op: "Mul", In: []string{"h", "m3"}, Out: []string{"last_hidden_state"}},
		},
		Floats: map[string]Weights{"E": {Dims: []int64{int64(vocab), int64(dim)}, Data: e}},
		Int64s: map[string]Ints{"axes": {Dims: []int64{1}, Data: []int64{-1}}},
	}
	return e, g.Write(path)
}
