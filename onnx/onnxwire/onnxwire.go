package onnxwire

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/medflow/medflow/onnx/onnxpb"
)

// Field numbers of onnx.proto used here.
const (
	onnxModelGraph         = 7  // ModelProto.graph
	onnxGraphInitializer   = 5  // GraphProto.initializer
	onnxGraphInput         = 11 // GraphProto.input
	onnxGraphOutput        = 12 // GraphProto.output
	onnxTensorName         = 8  // TensorProto.name
	onnxTensorExternalData = 13 // TensorProto.external_data
	onnxEntryKey           = 1  // StringStringEntryProto.key
	onnxEntryValue         = 2  // StringStringEntryProto.value
)

// maxEntryBytes bounds an external_data entry or a tensor name read
// whole (a key and a path or an offset).
const maxEntryBytes = 1 << 16

// maxValueInfoBytes bounds a graph input or output read whole.
const maxValueInfoBytes = 1 << 20

// ErrWire: the file is not an ONNX protobuf (or is truncated).
var ErrWire = errors.New("onnxwire: not an ONNX protobuf")

// Walk calls visit for each field of the message in f's bytes
// [start, end): its number, wire type and, for length-delimited fields,
// the payload's bounds (other fields are skipped).
func Walk(f io.ReaderAt, start, end int64, visit func(num protowire.Number, typ protowire.Type, vs, ve int64) error) error {
	var buf [2 * binaryMaxVarint]byte
	for off := start; off < end; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if n == 0 && err != nil {
			return err
		}
		num, typ, tl := protowire.ConsumeTag(buf[:n])
		if tl < 0 {
			return ErrWire
		}
		off += int64(tl)
		switch typ {
		case protowire.BytesType:
			l, ll := protowire.ConsumeVarint(buf[tl:n])
			if ll < 0 || off+int64(ll)+int64(l) > end {
				return ErrWire
			}
			vs := off + int64(ll)
			if err := visit(num, typ, vs, vs+int64(l)); err != nil {
				return err
			}
			off = vs + int64(l)
		case protowire.VarintType:
			_, vl := protowire.ConsumeVarint(buf[tl:n])
			if vl < 0 {
				return ErrWire
			}
			off += int64(vl)
		case protowire.Fixed32Type:
			off += 4
		case protowire.Fixed64Type:
			off += 8
		default:
			return ErrWire
		}
	}
	return nil
}

const binaryMaxVarint = 10

// ExternalData returns the paths of the external data files that the
// ONNX model at path names (relative locations resolved against its
// folder), each once, in the order the model names them. A file that is
// not an ONNX protobuf names none. Initializers of subgraphs and sparse
// initializers are not looked at.
func ExternalData(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	entry := func(vs, ve int64) error {
		if ve-vs > maxEntryBytes {
			return nil
		}
		b, err := read(f, vs, ve)
		if err != nil {
			return err
		}
		var key, value string
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return ErrWire
			}
			b = b[n:]
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ErrWire
			}
			if typ == protowire.BytesType {
				v, _ := protowire.ConsumeBytes(b)
				switch num {
				case onnxEntryKey:
					key = string(v)
				case onnxEntryValue:
					value = string(v)
				}
			}
			b = b[n:]
		}
		if key == "location" && value != "" {
			p := value
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
		return nil
	}
	tensor := func(vs, ve int64) error { return Walk(f, vs, ve, bytesField(onnxTensorExternalData, entry)) }
	graph := func(vs, ve int64) error { return Walk(f, vs, ve, bytesField(onnxGraphInitializer, tensor)) }
	if err := Walk(f, 0, st.Size(), bytesField(onnxModelGraph, graph)); err != nil {
		return nil
	}
	return out
}

// read returns f's bytes [vs, ve).
func read(f io.ReaderAt, vs, ve int64) ([]byte, error) {
	b := make([]byte, ve-vs)
	if _, err := f.ReadAt(b, vs); err != nil {
		return nil, err
	}
	return b, nil
}

// bytesField adapts next to a Walk visitor that sees only the
// length-delimited fields numbered want.
func bytesField(want protowire.Number, next func(vs, ve int64) error) func(protowire.Number, protowire.Type, int64, int64) error {
	return func(num protowire.Number, typ protowire.Type, vs, ve int64) error {
		if num != want || typ != protowire.BytesType {
			return nil
		}
		return next(vs, ve)
	}
}

// Value is a graph input or output as the model declares it.
type Value struct {
	Name string
	// Tensor: a dense tensor (not a sequence, map, optional or sparse
	// tensor).
	Tensor bool
	// ElemType is onnx.TensorProto.DataType (1 float, 7 int64, ...; ONNX
	// Runtime's element type enum has the same numbers); 0 when not a
	// tensor.
	ElemType int32
	// Dims: -1 where a dim is symbolic or unknown; nil when the model
	// declares no shape.
	Dims []int64
}

// Signature returns the top-level graph's inputs and outputs, in the
// model's order, the way ONNX Runtime reports them for a session: inputs
// that are also initializers (overridable weights of old models) are
// left out. It reads the declarations only, walking past the weights, so
// it costs microseconds where a session that reports them loads every
// weight (for Llama-2-7B, 13 GB).
func Signature(path string) (inputs, outputs []Value, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	var ins, outs []*onnxpb.ValueInfoProto
	weights := map[string]bool{}
	valueInfo := func(dst *[]*onnxpb.ValueInfoProto) func(vs, ve int64) error {
		return func(vs, ve int64) error {
			if ve-vs > maxValueInfoBytes {
				return fmt.Errorf("%w: a graph input or output of %d bytes", ErrWire, ve-vs)
			}
			b, err := read(f, vs, ve)
			if err != nil {
				return err
			}
			v := &onnxpb.ValueInfoProto{}
			if err := proto.Unmarshal(b, v); err != nil {
				return fmt.Errorf("%w: %v", ErrWire, err)
			}
			*dst = append(*dst, v)
			return nil
		}
	}
	name := func(vs, ve int64) error {
		if ve-vs > maxEntryBytes {
			return nil
		}
		b, err := read(f, vs, ve)
		weights[string(b)] = true
		return err
	}
	input, output := valueInfo(&ins), valueInfo(&outs)
	graph := func(vs, ve int64) error {
		return Walk(f, vs, ve, func(num protowire.Number, typ protowire.Type, vs, ve int64) error {
			switch {
			case typ != protowire.BytesType:
			case num == onnxGraphInput:
				return input(vs, ve)
			case num == onnxGraphOutput:
				return output(vs, ve)
			case num == onnxGraphInitializer:
				return Walk(f, vs, ve, bytesField(onnxTensorName, name))
			}
			return nil
		})
	}
	if err := Walk(f, 0, st.Size(), bytesField(onnxModelGraph, graph)); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range ins {
		if !weights[v.GetName()] {
			inputs = append(inputs, value(v))
		}
	}
	for _, v := range outs {
		outputs = append(outputs, value(v))
	}
	return inputs, outputs, nil
}

func value(v *onnxpb.ValueInfoProto) Value {
	out := Value{Name: v.GetName()}
	t := v.GetType().GetTensorType()
	if t == nil {
		return out
	}
	out.Tensor, out.ElemType = true, t.GetElemType()
	if sh := t.GetShape(); sh != nil {
		out.Dims = make([]int64, len(sh.GetDim()))
		for i, d := range sh.GetDim() {
			out.Dims[i] = -1
			if _, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
				out.Dims[i] = d.GetDimValue()
			}
		}
	}
	return out
}
