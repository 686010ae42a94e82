package onnxwire_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/onnx/onnxwire"
)

// TestSignature: the tiny Llama's declared inputs and outputs, with and
// without external data; a truncated model and a file that is not ONNX
// fail with ErrWire naming the file.
func TestSignature(t *testing.T) {
	dir := t.TempDir()
	cfg := llama.TinyConfig()
	want := struct{ in, out []onnxwire.Value }{
		in: []onnxwire.Value{
			{Name: "input_ids", Tensor: true, ElemType: 7, Dims: []int64{-1, -1}},
			{Name: "attention_mask", Tensor: true, ElemType: 7, Dims: []int64{-1, -1}},
		},
		out: []onnxwire.Value{{Name: "last_hidden_state", Tensor: true, ElemType: 1, Dims: []int64{-1, -1, int64(cfg.Dim)}}},
	}
	for _, ext := range []bool{false, true} {
		path := filepath.Join(dir, map[bool]string{false: "inline.onnx", true: "external.onnx"}[ext])
		if err := llama.WriteONNX(path, cfg, llama.RandomWeights(cfg, 1), llama.WriteOptions{ExternalData: ext}); err != nil {
			t.Fatal(err)
		}
		in, out, err := onnxwire.Signature(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in, want.in) || !reflect.DeepEqual(out, want.out) {
			t.Errorf("%s: inputs %+v outputs %+v, want %+v %+v", path, in, out, want.in, want.out)
		}
		if got := onnxwire.ExternalData(path); ext != (len(got) == 1 && got[0] == path+".data") {
			t.Errorf("%s: external data %v", path, got)
		}
		if ext {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for name, body := range map[string][]byte{"truncated.onnx": b[:len(b)/2], "text.onnx": []byte("not a model\n")} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, body, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := onnxwire.Signature(p); !errors.Is(err, onnxwire.ErrWire) {
				t.Errorf("%s: err = %v, want ErrWire", name, err)
			}
		}
	}
}
