package ort_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/onnx/onnxpb"
	"github.com/medflow/medflow/ort"
	"github.com/medflow/medflow/ort/internal/testmodel"
)

// oldStyleModel writes y = x + w where w is an initializer that the graph
// also lists as an input (IR 3 style, overridable weights) and x has a
// symbolic and a fixed dim; y's shape is declared when shapeY.
func oldStyleModel(t *testing.T, path string, shapeY bool) {
	t.Helper()
	f := onnxpb.TensorProto_FLOAT
	vi := func(name string, dims ...*onnxpb.TensorShapeProto_Dimension) *onnxpb.ValueInfoProto {
		tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(f))}
		if dims != nil {
			tt.Shape = &onnxpb.TensorShapeProto{Dim: dims}
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
	}
	sym := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}}
	three := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 3}}
	y := vi("y")
	if shapeY {
		y = vi("y", sym, three)
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("old"),
			Input:       []*onnxpb.ValueInfoProto{vi("x", sym, three), vi("w", three)},
			Output:      []*onnxpb.ValueInfoProto{y},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), DataType: proto.Int32(int32(f)), Dims: []int64{3}, FloatData: []float32{1, 2, 3}}},
			Node:        []*onnxpb.NodeProto{{OpType: proto.String("Add"), Input: []string{"x", "w"}, Output: []string{"y"}}},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSignatureMatchesSession: the inputs and outputs Load reads from the
// file (without a session) are the ones an ONNX Runtime session reports,
// on an inline-weight model, the tiny Llama with float16 weights in
// external data, an old-style model whose initializer is also a graph
// input, and one whose output declares no shape.
func TestSignatureMatchesSession(t *testing.T) {
	requireORT(t)
	if _, err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		name  string
		write func(path string) error
	}{
		{"embedding", func(p string) error { _, err := testmodel.Embedding(p, 50, 8, 1); return err }},
		{"llama-external-f16", func(p string) error {
			cfg := llama.TinyConfig()
			return llama.WriteONNX(p, cfg, llama.RandomWeights(cfg, 1), llama.WriteOptions{Float16: true, ExternalData: true})
		}},
		{"initializer-input", func(p string) error { oldStyleModel(t, p, true); return nil }},
		// No declared shape: ONNX Runtime infers one, so Load asks a session.
		{"undeclared-shape", func(p string) error { oldStyleModel(t, p, false); return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".onnx")
			if err := tc.write(path); err != nil {
				t.Fatal(err)
			}
			in, out, err := ort.Signature(path)
			if err != nil {
				t.Fatal(err)
			}
			sin, sout, err := ort.SessionInfo(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, sin) || !reflect.DeepEqual(out, sout) {
				t.Errorf("from the file: inputs %v, outputs %v\nfrom a session: inputs %v, outputs %v", in, out, sin, sout)
			}
			if len(in) == 0 || len(out) == 0 {
				t.Errorf("no inputs or outputs: %v %v", in, out)
			}
		})
	}
}
