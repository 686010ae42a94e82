package graph_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/medflow/medflow/onnx/graph"
	"github.com/medflow/medflow/onnx/onnxpb"
	"github.com/medflow/medflow/safetensors"
)

func TestModelRoundTrip(t *testing.T) {
	g := graph.New("rt")
	x, err := g.Input("x", graph.Float32, graph.Sym("batch"), graph.D(3))
	if err != nil {
		t.Fatal(err)
	}
	w, err := g.Float32("w", []int64{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := g.Int64("idx", []int64{2}, []int64{7, -1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := g.Float16("h", []int64{2}, []float32{0.5, -2})
	if err != nil {
		t.Fatal(err)
	}
	y := g.Softmax(g.MatMul(x, w), -1)
	_ = g.Gather(h, idx, 0)
	if err := g.Output(y, "y", graph.Float32, graph.Sym("batch"), graph.D(2)); err != nil {
		t.Fatal(err)
	}
	b, err := g.Model("test").Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.GetIrVersion() != graph.IRVersion || m.GetOpsetImport()[0].GetVersion() != graph.Opset {
		t.Errorf("ir %d opset %d", m.GetIrVersion(), m.GetOpsetImport()[0].GetVersion())
	}
	gp := m.GetGraph()
	in := gp.GetInput()[0]
	dims := in.GetType().GetTensorType().GetShape().GetDim()
	if in.GetName() != "x" || dims[0].GetDimParam() != "batch" || dims[1].GetDimValue() != 3 ||
		in.GetType().GetTensorType().GetElemType() != int32(graph.Float32) {
		t.Errorf("input %v", in)
	}
	if gp.GetOutput()[0].GetName() != "y" {
		t.Errorf("output %v", gp.GetOutput()[0])
	}
	inits := map[string]*onnxpb.TensorProto{}
	for _, t := range gp.GetInitializer() {
		inits[t.GetName()] = t
	}
	tests := []struct {
		name  string
		dtype graph.DType
		raw   []byte
	}{
		{"w", graph.Float32, graph.Float32Bytes([]float32{1, 2, 3, 4, 5, 6})},
		{"idx", graph.Int64, graph.Int64Bytes([]int64{7, -1})},
		{"h", graph.Float16, graph.Float16Bytes([]float32{0.5, -2})},
	}
	for _, tc := range tests {
		it := inits[tc.name]
		if it == nil || it.GetDataType() != int32(tc.dtype) || !bytes.Equal(it.GetRawData(), tc.raw) {
			t.Errorf("initializer %s = %v", tc.name, it)
		}
	}
	ops := map[string]int{}
	names := map[string]bool{}
	for _, n := range gp.GetNode() {
		ops[n.GetOpType()]++
		if names[n.GetName()] {
			t.Errorf("duplicate node name %s", n.GetName())
		}
		names[n.GetName()] = true
		if n.GetOpType() == "Softmax" && n.GetAttribute()[0].GetI() != -1 {
			t.Errorf("softmax axis %v", n.GetAttribute())
		}
	}
	for _, op := range []string{"MatMul", "Softmax", "Gather", "Identity"} {
		if ops[op] != 1 {
			t.Errorf("%d %s nodes", ops[op], op)
		}
	}
}

func TestDuplicateNames(t *testing.T) {
	g := graph.New("dup")
	if _, err := g.Input("a", graph.Float32, graph.D(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Float32("a", []int64{1}, []float32{1}); !errors.Is(err, graph.ErrDuplicateName) {
		t.Errorf("got %v, want ErrDuplicateName", err)
	}
	if _, err := g.Float32("b", []int64{2}, []float32{1}); !errors.Is(err, graph.ErrShape) {
		t.Errorf("got %v, want ErrShape", err)
	}
	// Generated names never collide with user names.
	if _, err := g.Float32("Add_out", []int64{1}, []float32{1}); err != nil {
		t.Fatal(err)
	}
	if v := g.Add("a", "a"); v == "Add_out" {
		t.Errorf("generated name %s collides", v)
	}
}

func TestExternalData(t *testing.T) {
	var ext bytes.Buffer
	g := graph.New("ext")
	g.SetExternalData(&ext, "m.onnx.data", 16, 64)
	tensors := []struct {
		name string
		data []float32
	}{
		{"small", []float32{1, 2}},           // 8 bytes: stays inline
		{"a", []float32{1, 2, 3, 4, 5}},      // 20 bytes
		{"b", make([]float32, 100)},          // 400 bytes
		{"c", []float32{-1, 0.5, 3, 9, 1e9}}, // 20 bytes
	}
	for i := range tensors[2].data {
		tensors[2].data[i] = float32(i)
	}
	for _, tc := range tensors {
		if _, err := g.Float32(tc.name, []int64{int64(len(tc.data))}, tc.data); err != nil {
			t.Fatal(err)
		}
	}
	if g.ExternalBytes() != int64(ext.Len()) {
		t.Errorf("ExternalBytes %d, buffer %d", g.ExternalBytes(), ext.Len())
	}
	m := g.Model("test").Proto
	for i, it := range m.GetGraph().GetInitializer() {
		tc := tensors[i]
		raw := graph.Float32Bytes(tc.data)
		if tc.name == "small" {
			if it.GetDataLocation() != onnxpb.TensorProto_DEFAULT || !bytes.Equal(it.GetRawData(), raw) {
				t.Errorf("%s: want inline", tc.name)
			}
			continue
		}
		kv := map[string]string{}
		for _, e := range it.GetExternalData() {
			kv[e.GetKey()] = e.GetValue()
		}
		off, _ := strconv.ParseInt(kv["offset"], 10, 64)
		n, _ := strconv.ParseInt(kv["length"], 10, 64)
		if it.GetDataLocation() != onnxpb.TensorProto_EXTERNAL || kv["location"] != "m.onnx.data" || len(it.GetRawData()) != 0 {
			t.Errorf("%s: %v", tc.name, it)
		}
		if off%64 != 0 || n != int64(len(raw)) || !bytes.Equal(ext.Bytes()[off:off+n], raw) {
			t.Errorf("%s: offset %d length %d do not hold its data", tc.name, off, n)
		}
	}
}

func TestWrite(t *testing.T) {
	g := graph.New("w")
	x, _ := g.Input("x", graph.Float32, graph.D(2))
	if err := g.Output(g.Neg(x), "y", graph.Float32, graph.D(2)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.onnx")
	m := g.Model("t")
	if err := m.Write(p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.Marshal()
	if !bytes.Equal(b, want) {
		t.Error("file differs from Marshal")
	}
	if err := m.Write(filepath.Join(t.TempDir(), "no", "such", "dir.onnx")); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

// TestToFloat16 checks float32->float16 against the independent decoder in
// package safetensors: every finite half value round-trips, and values
// halfway between neighbours round to even.
func TestToFloat16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := safetensors.F16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			if got := graph.ToFloat16(f); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, got)
			}
			continue
		}
		if got := graph.ToFloat16(f); got != uint16(h) {
			t.Fatalf("%#04x (%g) -> %#04x", h, f, got)
		}
		// Midpoint to the next value up (same sign) rounds to the even one.
		if h&0x7fff >= 0x7bff {
			continue
		}
		next := safetensors.F16ToF32(uint16(h + 1))
		mid := float32((float64(f) + float64(next)) / 2)
		want := uint16(h)
		if h&1 == 1 {
			want = uint16(h + 1)
		}
		if got := graph.ToFloat16(mid); got != want {
			t.Fatalf("midpoint of %#04x and %#04x (%g) -> %#04x, want %#04x", h, h+1, mid, got, want)
		}
	}
	if got := graph.ToFloat16(1e6); got != 0x7c00 {
		t.Errorf("overflow -> %#04x", got)
	}
	if b := graph.Float16Bytes([]float32{1}); binary.LittleEndian.Uint16(b) != graph.ToFloat16(1) {
		t.Error("Float16Bytes")
	}
}

func TestStream(t *testing.T) {
	data := make([]float32, 300)
	for i := range data {
		data[i] = float32(i) / 3
	}
	raw := graph.Float32Bytes(data)
	chunked := func(w io.Writer) error {
		for i := 0; i < len(raw); i += 256 {
			if _, err := w.Write(raw[i:min(i+256, len(raw))]); err != nil {
				return err
			}
		}
		return nil
	}
	tests := []struct {
		name     string
		external bool
		write    func(w io.Writer) error
		wantErr  error
	}{
		{"external chunks", true, chunked, nil},
		{"inline chunks", false, chunked, nil},
		{"short external", true, func(w io.Writer) error { _, err := w.Write(raw[:100]); return err }, graph.ErrShape},
		{"short inline", false, func(w io.Writer) error { _, err := w.Write(raw[:100]); return err }, graph.ErrShape},
		{"writer error", true, func(w io.Writer) error { return errors.New("disk full") }, graph.ErrExternalData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ext bytes.Buffer
			g := graph.New("s")
			if tc.external {
				g.SetExternalData(&ext, "d", 1, 1)
			}
			_, err := g.Stream("x", graph.Float32, []int64{3, 100}, tc.write)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), `"x"`) {
					t.Errorf("error %q does not name the initializer", err)
				}
				return
			}
			it := g.Model("t").Proto.GetGraph().GetInitializer()[0]
			got := it.GetRawData()
			if tc.external {
				got = ext.Bytes()
			}
			if !bytes.Equal(got, raw) {
				t.Error("stored bytes differ")
			}
		})
	}
}
