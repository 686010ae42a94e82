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
