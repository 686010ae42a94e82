package pipeline

// The external data files of an ONNX model, for its file identity: the
// "location" entries of the external_data of the graph's initializers,
// found by walking the protobuf wire format with reads at offsets, so an
// inline-weight model of gigabytes is skipped over, not read.

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of onnx.proto used here.
const (
	onnxModelGraph         = 7  // ModelProto.graph
	onnxGraphInitializer   = 5  // GraphProto.initializer
	onnxTensorExternalData = 13 // TensorProto.external_data
	onnxEntryKey           = 1  // StringStringEntryProto.key
	onnxEntryValue         = 2  // StringStringEntryProto.value
)

// maxEntryBytes bounds an external_data entry read whole (a key and a
// path or an offset).
const maxEntryBytes = 1 << 16

var errONNXWire = errors.New("not an ONNX protobuf")

// pbWalk calls visit for each field of the message in f's bytes
// [start, end): its number, wire type and, for length-delimited fields,
// the payload's bounds (other fields are skipped).
func pbWalk(f io.ReaderAt, start, end int64, visit func(num protowire.Number, typ protowire.Type, vs, ve int64) error) error {
	var buf [2 * binaryMaxVarint]byte
	for off := start; off < end; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if n == 0 && err != nil {
			return err
		}
		num, typ, tl := protowire.ConsumeTag(buf[:n])
		if tl < 0 {
			return errONNXWire
		}
		off += int64(tl)
		switch typ {
		case protowire.BytesType:
			l, ll := protowire.ConsumeVarint(buf[tl:n])
			if ll < 0 || off+int64(ll)+int64(l) > end {
				return errONNXWire
			}
			vs := off + int64(ll)
			if err := visit(num, typ, vs, vs+int64(l)); err != nil {
				return err
			}
			off = vs + int64(l)
		case protowire.VarintType:
			_, vl := protowire.ConsumeVarint(buf[tl:n])
			if vl < 0 {
				return errONNXWire
			}
			off += int64(vl)
		case protowire.Fixed32Type:
			off += 4
		case protowire.Fixed64Type:
			off += 8
		default:
			return errONNXWire
		}
	}
	return nil
}

const binaryMaxVarint = 10

// onnxExternalData returns the paths of the external data files that the
// ONNX model at path names (relative locations resolved against its
// folder), each once, in the order the model names them. A file that is
// not an ONNX protobuf names none. Initializers of subgraphs and sparse
// initializers are not looked at.
func onnxExternalData(path string) []string {
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
	bytesField := func(want protowire.Number, next func(vs, ve int64) error) func(protowire.Number, protowire.Type, int64, int64) error {
		return func(num protowire.Number, typ protowire.Type, vs, ve int64) error {
			if num != want || typ != protowire.BytesType {
				return nil
			}
			return next(vs, ve)
		}
	}
	entry := func(vs, ve int64) error {
		if ve-vs > maxEntryBytes {
			return nil
		}
		b := make([]byte, ve-vs)
		if _, err := f.ReadAt(b, vs); err != nil {
			return err
		}
		var key, value string
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				return errONNXWire
			}
			b = b[n:]
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errONNXWire
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
	tensor := func(vs, ve int64) error { return pbWalk(f, vs, ve, bytesField(onnxTensorExternalData, entry)) }
	graph := func(vs, ve int64) error { return pbWalk(f, vs, ve, bytesField(onnxGraphInitializer, tensor)) }
	if err := pbWalk(f, 0, st.Size(), bytesField(onnxModelGraph, graph)); err != nil {
		return nil
	}
	return out
}
