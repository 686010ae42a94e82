package gomlxrun

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gomlx/onnx-gomlx/onnx"
)

// inlineExternalData reads the initializers that modelPath stores as ONNX
// external data (location/offset/length entries, the location relative to
// the model's folder) into their raw_data, which is the only form
// onnx-gomlx v0.3.4 loads ("stored as external data, which is not
// implemented"). A location outside the model's folder, a missing file or
// a short read is an error naming the tensor and the file.
func inlineExternalData(om *onnx.Model, modelPath string) error {
	if om.Proto.Graph == nil {
		return nil
	}
	dir := filepath.Dir(modelPath)
	files := map[string]*os.File{}
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	for _, t := range om.Proto.Graph.Initializer {
		if len(t.ExternalData) == 0 {
			continue
		}
		var loc string
		offset, length := int64(0), int64(-1)
		for _, kv := range t.ExternalData {
			var err error
			switch kv.Key {
			case "location":
				loc = kv.Value
			case "offset":
				offset, err = strconv.ParseInt(kv.Value, 10, 64)
			case "length":
				length, err = strconv.ParseInt(kv.Value, 10, 64)
			}
			if err != nil {
				return fmt.Errorf("tensor %q: external data %s=%q: %v", t.Name, kv.Key, kv.Value, err)
			}
		}
		if loc == "" || filepath.IsAbs(loc) || strings.HasPrefix(filepath.Clean(loc), "..") {
			return fmt.Errorf("tensor %q: external data location %q is not a file beside the model", t.Name, loc)
		}
		f, ok := files[loc]
		if !ok {
			var err error
			if f, err = os.Open(filepath.Join(dir, loc)); err != nil {
				return fmt.Errorf("tensor %q: external data: %w", t.Name, err)
			}
			files[loc] = f
		}
		if length < 0 {
			st, err := f.Stat()
			if err != nil {
				return fmt.Errorf("tensor %q: external data: %w", t.Name, err)
			}
			length = st.Size() - offset
		}
		buf := make([]byte, length)
		if _, err := f.ReadAt(buf, offset); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("tensor %q: external data %s at offset %d, %d bytes: %w", t.Name, filepath.Join(dir, loc), offset, length, err)
		}
		t.RawData, t.ExternalData, t.DataLocation = buf, nil, 0
	}
	return nil
}

// ONNX TensorProto data types of weights (FLOAT, FLOAT16, DOUBLE, BFLOAT16).
var weightTypes = map[int32]bool{1: true, 10: true, 11: true, 16: true}

// dropWeights frees the ONNX copy of the float weights once
// VariablesToContext has copied them into GoMLX tensors: without it the
// host holds every weight twice for the model's lifetime (4 GB more for a
// 2-layer 7B-width Llama on the H200, 27 GB for Llama-2-7B in float32).
// onnx-gomlx reads an initializer's values again only to fold small
// integer constants (shapes, axes) and to copy model initializers into
// sub-graphs (If, Loop, Scan), so float tensors of 64 KiB and more are
// dropped, and nothing is when the graph has a sub-graph.
func dropWeights(om *onnx.Model) (dropped int64) {
	g := om.Proto.Graph
	if g == nil {
		return 0
	}
	for _, n := range g.Node {
		for _, a := range n.Attribute {
			if a.G != nil || len(a.Graphs) > 0 {
				return 0
			}
		}
	}
	for _, t := range g.Initializer {
		if !weightTypes[t.DataType] {
			continue
		}
		if n := int64(len(t.RawData)); n >= 64<<10 {
			t.RawData, dropped = nil, dropped+n
		}
		if n := int64(4 * len(t.FloatData)); n >= 64<<10 {
			t.FloatData, dropped = nil, dropped+n
		}
	}
	return dropped
}
