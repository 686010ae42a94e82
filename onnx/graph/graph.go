package graph

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/medflow/medflow/internal/half"
	"io"
	"math"
	"os"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/medflow/medflow/onnx/onnxpb"
)

// Opset is the opset version of the default ONNX domain the models import.
const Opset = 17

// IRVersion is the ONNX IR version written into models (ONNX 1.12).
const IRVersion = 8

// Errors returned by the builder.
var (
	// ErrDuplicateName means a value (input, initializer, node output) name is used twice.
	ErrDuplicateName = errors.New("graph: duplicate value name")
	// ErrShape means data length and dimensions disagree.
	ErrShape = errors.New("graph: data length does not match dimensions")
	// ErrExternalData means writing an initializer to the external data file failed.
	ErrExternalData = errors.New("graph: external data")
)

// DType is an ONNX tensor element type.
type DType = onnxpb.TensorProto_DataType

// Element types used by the builder.
const (
	Float32 = onnxpb.TensorProto_FLOAT
	Float16 = onnxpb.TensorProto_FLOAT16
	Int64   = onnxpb.TensorProto_INT64
	Int32   = onnxpb.TensorProto_INT32
	Bool    = onnxpb.TensorProto_BOOL
)

// Dim is one dimension of a graph input or output: a fixed size or a named
// symbolic size (Param non-empty).
type Dim struct {
	Value int64
	Param string
}

// D is a fixed dimension.
func D(n int64) Dim { return Dim{Value: n} }

// Sym is a symbolic dimension such as "batch".
func Sym(name string) Dim { return Dim{Param: name} }

// Value is the name of a tensor in the graph.
type Value string

// Attr is a node attribute; build it with AttrInt, AttrInts, AttrTensor or
// as an *onnxpb.AttributeProto.
type Attr = *onnxpb.AttributeProto

// AttrInt is an INT attribute.
func AttrInt(name string, v int64) Attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// AttrInts is an INTS attribute.
func AttrInts(name string, v ...int64) Attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// AttrTensor is a TENSOR attribute (for example ConstantOfShape's value).
func AttrTensor(name string, t *onnxpb.TensorProto) Attr {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

// Graph accumulates the inputs, outputs, initializers and nodes of one ONNX
// graph. It is not safe for concurrent use.
type Graph struct {
	name    string
	inputs  []*onnxpb.ValueInfoProto
	outputs []*onnxpb.ValueInfoProto
	inits   []*onnxpb.TensorProto
	nodes   []*onnxpb.NodeProto
	used    map[string]bool
	counter map[string]int
	scope   string

	ext       io.Writer
	extLoc    string
	extOff    int64
	extAlign  int64
	extMinLen int
}

// New returns an empty graph with the given name.
func New(name string) *Graph {
	return &Graph{name: name, used: map[string]bool{}, counter: map[string]int{}}
}

// SetExternalData makes initializers of at least minBytes bytes go to w
// (the file named location, relative to the model file) instead of the
// model proto. Each tensor is written to w when it is added, at an offset
// aligned to align bytes (align <= 1 means no padding); the proto records
// location, offset and length. w must be positioned at offset 0.
func (g *Graph) SetExternalData(w io.Writer, location string, minBytes, align int) {
	g.ext, g.extLoc, g.extMinLen, g.extAlign = w, location, minBytes, int64(align)
}

// ExternalBytes is the number of bytes written to the external data file so far.
func (g *Graph) ExternalBytes() int64 { return g.extOff }

// SetScope sets a prefix ("layer3/") for generated node and value names.
func (g *Graph) SetScope(prefix string) { g.scope = prefix }

// claim marks name used and fails on a duplicate.
func (g *Graph) claim(name string) error {
	if g.used[name] {
		return fmt.Errorf("%w: %q", ErrDuplicateName, name)
	}
	g.used[name] = true
	return nil
}

// Unique returns a new unused name built from base.
func (g *Graph) Unique(base string) string {
	base = g.scope + base
	for {
		n := g.counter[base]
		g.counter[base] = n + 1
		name := base
		if n > 0 {
			name = base + "_" + strconv.Itoa(n)
		}
		if !g.used[name] {
			g.used[name] = true
			return name
		}
	}
}

func valueInfo(name string, dt DType, dims []Dim) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d.Param != "" {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(dt)), Shape: shape,
		}}},
	}
}

// Input declares a graph input.
func (g *Graph) Input(name string, dt DType, dims ...Dim) (Value, error) {
	if err := g.claim(name); err != nil {
		return "", fmt.Errorf("input: %w", err)
	}
	g.inputs = append(g.inputs, valueInfo(name, dt, dims))
	return Value(name), nil
}

// Output declares v as graph output called name (through an Identity node
// when v has another name).
func (g *Graph) Output(v Value, name string, dt DType, dims ...Dim) error {
	if string(v) != name {
		if err := g.claim(name); err != nil {
			return fmt.Errorf("output: %w", err)
		}
		g.nodes = append(g.nodes, &onnxpb.NodeProto{
			Name: proto.String(g.Unique("Identity")), OpType: proto.String("Identity"),
			Input: []string{string(v)}, Output: []string{name},
		})
	}
	g.outputs = append(g.outputs, valueInfo(name, dt, dims))
	return nil
}

// Node adds a node of operator op with nOut outputs and returns their names.
func (g *Graph) Node(op string, inputs []Value, nOut int, attrs ...Attr) []Value {
	n := &onnxpb.NodeProto{Name: proto.String(g.Unique(op)), OpType: proto.String(op), Attribute: attrs}
	for _, in := range inputs {
		n.Input = append(n.Input, string(in))
	}
	outs := make([]Value, nOut)
	for i := range outs {
		outs[i] = Value(g.Unique(op + "_out"))
		n.Output = append(n.Output, string(outs[i]))
	}
	g.nodes = append(g.nodes, n)
	return outs
}

// Op adds a single-output node.
func (g *Graph) Op(op string, inputs []Value, attrs ...Attr) Value {
	return g.Node(op, inputs, 1, attrs...)[0]
}

func numel(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// Tensor builds a TensorProto holding raw little-endian data inline (not
// added to the graph; used for attributes).
func Tensor(name string, dt DType, dims []int64, raw []byte) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw}
}

// Raw adds an initializer from raw little-endian bytes of type dt. With
// external data set and len(raw) >= the threshold, raw is written to the
// side file now; otherwise it is copied. raw is never retained, so callers
// may reuse it.
func (g *Graph) Raw(name string, dt DType, dims []int64, raw []byte) (Value, error) {
	if want := numel(dims) * int64(elemSize(dt)); want != int64(len(raw)) {
		return "", fmt.Errorf("%w: initializer %q dims %v need %d bytes, got %d", ErrShape, name, dims, want, len(raw))
	}
	return g.Stream(name, dt, dims, func(w io.Writer) error {
		_, err := w.Write(raw)
		return err
	})
}

// Stream adds an initializer whose raw little-endian bytes write produces
// (for example in chunks, never holding the whole tensor). With external
// data set and a tensor of at least the threshold size, the bytes go
// straight to the side file; otherwise they are collected inline. The
// number of bytes written must match dt and dims.
func (g *Graph) Stream(name string, dt DType, dims []int64, write func(w io.Writer) error) (Value, error) {
	if err := g.claim(name); err != nil {
		return "", fmt.Errorf("initializer: %w", err)
	}
	size := numel(dims) * int64(elemSize(dt))
	t := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims}
	if g.ext == nil || size < int64(g.extMinLen) || size == 0 {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return "", fmt.Errorf("initializer %q: %w", name, err)
		}
		if int64(buf.Len()) != size {
			return "", fmt.Errorf("%w: initializer %q dims %v need %d bytes, got %d", ErrShape, name, dims, size, buf.Len())
		}
		t.RawData = buf.Bytes()
		g.inits = append(g.inits, t)
		return Value(name), nil
	}
	if g.extAlign > 1 {
		if pad := (g.extAlign - g.extOff%g.extAlign) % g.extAlign; pad > 0 {
			if _, err := g.ext.Write(make([]byte, pad)); err != nil {
				return "", fmt.Errorf("%w: padding before %q in %s: %w", ErrExternalData, name, g.extLoc, err)
			}
			g.extOff += pad
		}
	}
	cw := &countWriter{w: g.ext}
	err := write(cw)
	g.extOff += cw.n
	if err != nil {
		return "", fmt.Errorf("%w: writing %q to %s: %w", ErrExternalData, name, g.extLoc, err)
	}
	if cw.n != size {
		return "", fmt.Errorf("%w: initializer %q dims %v need %d bytes, %d written to %s", ErrShape, name, dims, size, cw.n, g.extLoc)
	}
	t.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	t.ExternalData = []*onnxpb.StringStringEntryProto{
		{Key: proto.String("location"), Value: proto.String(g.extLoc)},
		{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(g.extOff-size, 10))},
		{Key: proto.String("length"), Value: proto.String(strconv.FormatInt(size, 10))},
	}
	g.inits = append(g.inits, t)
	return Value(name), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func elemSize(dt DType) int {
	switch dt {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16, onnxpb.TensorProto_INT16, onnxpb.TensorProto_UINT16:
		return 2
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_UINT64:
		return 8
	case onnxpb.TensorProto_BOOL, onnxpb.TensorProto_INT8, onnxpb.TensorProto_UINT8:
		return 1
	}
	return 0
}

// Float32Bytes encodes data little-endian.
func Float32Bytes(data []float32) []byte { return AppendFloat32Bytes(nil, data) }

// AppendFloat32Bytes appends data encoded little-endian to dst[:0] (reusing
// its capacity) and returns the result.
func AppendFloat32Bytes(dst []byte, data []float32) []byte {
	dst = grow(dst, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
	return dst
}

// Float16Bytes converts data to IEEE half precision (round to nearest even)
// and encodes it little-endian.
func Float16Bytes(data []float32) []byte { return AppendFloat16Bytes(nil, data) }

// AppendFloat16Bytes is Float16Bytes into dst[:0] (reusing its capacity).
func AppendFloat16Bytes(dst []byte, data []float32) []byte {
	dst = grow(dst, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(dst[2*i:], ToFloat16(v))
	}
	return dst
}

func grow(dst []byte, n int) []byte {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]byte, n)
}

// Int64Bytes encodes data little-endian.
func Int64Bytes(data []int64) []byte {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return b
}

// ToFloat16 returns the IEEE 754 half-precision bits nearest to f (ties to
// even; overflow gives ±Inf, NaN stays NaN).
func ToFloat16(f float32) uint16 { return half.F32ToF16(f) }

// Float32 adds a float32 initializer.
func (g *Graph) Float32(name string, dims []int64, data []float32) (Value, error) {
	return g.Raw(name, Float32, dims, Float32Bytes(data))
}

// Float16 adds a float16 initializer converted from float32 data.
func (g *Graph) Float16(name string, dims []int64, data []float32) (Value, error) {
	return g.Raw(name, Float16, dims, Float16Bytes(data))
}

// Int64 adds an int64 initializer.
func (g *Graph) Int64(name string, dims []int64, data []int64) (Value, error) {
	return g.Raw(name, Int64, dims, Int64Bytes(data))
}

// ConstInt64 adds a small inline int64 initializer with a generated name
// (always inline, never external). dims nil means a 1-D tensor.
func (g *Graph) ConstInt64(data ...int64) Value {
	return g.constRaw(Int64, []int64{int64(len(data))}, Int64Bytes(data))
}

// ScalarFloat32 adds an inline float32 scalar initializer.
func (g *Graph) ScalarFloat32(v float32) Value {
	return g.constRaw(Float32, nil, Float32Bytes([]float32{v}))
}

func (g *Graph) constRaw(dt DType, dims []int64, raw []byte) Value {
	name := g.Unique("const")
	g.inits = append(g.inits, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw})
	return Value(name)
}

// Model wraps a finished ModelProto.
type Model struct {
	Proto *onnxpb.ModelProto
}

// Model returns the model holding the graph (opset 17, IR version 8). The
// graph must not be changed afterwards.
func (g *Graph) Model(producer string) *Model {
	return &Model{Proto: &onnxpb.ModelProto{
		IrVersion:       proto.Int64(IRVersion),
		ProducerName:    proto.String(producer),
		ProducerVersion: proto.String("1"),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String(g.name), Node: g.nodes, Initializer: g.inits, Input: g.inputs, Output: g.outputs,
		},
	}}
}

// Marshal encodes the model.
func (m *Model) Marshal() ([]byte, error) {
	b, err := proto.Marshal(m.Proto)
	if err != nil {
		return nil, fmt.Errorf("graph: marshal model: %w", err)
	}
	return b, nil
}

// Write encodes the model to path (written to path+".tmp" then renamed).
func (m *Model) Write(path string) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("graph: write model %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("graph: write model %s: %w", path, err)
	}
	return nil
}
