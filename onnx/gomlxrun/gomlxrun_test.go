package gomlxrun_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/llama/llamaref"
	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/onnx/gomlxrun"
)

// tinyLlama writes the tiny Llama with RandomWeights(seed) and returns its
// path, config and the default (simplego) backend.
func tinyLlama(t *testing.T, seed int64) (string, llama.Config, backends.Backend) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tiny.onnx")
	cfg, err := llama.WriteTiny(path, seed)
	if err != nil {
		t.Fatal(err)
	}
	be, err := nn.BackendFor(nn.DefaultBackend)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg, be
}

// loadLlama loads path with the Llama contract's names, closed with t.
func loadLlama(t *testing.T, path string, be backends.Backend) *gomlxrun.Model {
	t.Helper()
	m, err := gomlxrun.Load(path, be, []string{"input_ids", "attention_mask"}, []string{"last_hidden_state"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLlamaMatchesReference: the tiny Llama ONNX file run through GoMLX
// (simplego) equals the float64 reference on a padded batch, and a second
// shape compiles and runs too.
func TestLlamaMatchesReference(t *testing.T) {
	path, cfg, be := tinyLlama(t, 1)
	m := loadLlama(t, path, be)
	w := llama.RandomWeights(cfg, 1)
	for _, ids := range [][][]int64{
		{{1, 450, 9045, 2159, 338, 0}, {1, 1939, 29889, 0, 0, 0}},
		{{1, 22}, {1, 0}, {1, 5}},
	} {
		B, S := len(ids), len(ids[0])
		flatIDs, flatMask := make([]int64, 0, B*S), make([]int64, 0, B*S)
		mask := make([][]int64, B)
		for b, row := range ids {
			mask[b] = make([]int64, S)
			for s, id := range row {
				if id != 0 || s == 0 {
					mask[b][s] = 1
				}
			}
			flatIDs, flatMask = append(flatIDs, row...), append(flatMask, mask[b]...)
		}
		out := make([]float32, B*S*cfg.Dim)
		shape := []int64{int64(B), int64(S)}
		if err := m.Run(context.Background(), []gomlxrun.Tensor{{Shape: shape, Data: flatIDs}, {Shape: shape, Data: flatMask}},
			[]gomlxrun.Tensor{{Shape: []int64{int64(B), int64(S), int64(cfg.Dim)}, Data: out}}); err != nil {
			t.Fatal(err)
		}
		want := llamaref.Forward(cfg, w, ids, mask)
		worst := 0.0
		for b := range B {
			for s := range S {
				if mask[b][s] == 0 {
					continue
				}
				for d := range cfg.Dim {
					worst = math.Max(worst, math.Abs(float64(out[(b*S+s)*cfg.Dim+d]-want[b][s][d])))
				}
			}
		}
		if worst > 1e-4 {
			t.Errorf("batch %dx%d: max |GoMLX - reference| = %g", B, S, worst)
		}
	}
	// A caller expecting another output shape gets an error, not garbage.
	err := m.Run(context.Background(), []gomlxrun.Tensor{{Shape: []int64{1, 2}, Data: []int64{1, 2}}, {Shape: []int64{1, 2}, Data: []int64{1, 1}}},
		[]gomlxrun.Tensor{{Shape: []int64{1, 2, 7}, Data: make([]float32, 14)}})
	if !errors.Is(err, gomlxrun.ErrModel) || !strings.Contains(err.Error(), "shape") {
		t.Errorf("wrong output shape: err = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	path, _, be := tinyLlama(t, 1)
	for _, tc := range []struct {
		path         string
		inputs, outs []string
		want         string
	}{
		{path, []string{"pixel_values"}, []string{"last_hidden_state"}, `no input "pixel_values"`},
		{path, []string{"input_ids"}, []string{"embedding"}, `no output "embedding"`},
		{filepath.Join(t.TempDir(), "missing.onnx"), nil, nil, "missing.onnx"},
	} {
		_, err := gomlxrun.Load(tc.path, be, tc.inputs, tc.outs)
		if !errors.Is(err, gomlxrun.ErrModel) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%v, %v): err = %v, want %q", tc.inputs, tc.outs, err, tc.want)
		}
	}
}

// TestExternalData: a model whose weights live in PATH.data (how Llama-2-7B
// is stored: over protobuf's 2 GB) runs and equals the inline model; a
// truncated data file is an error naming the tensor and the file.
func TestExternalData(t *testing.T) {
	cfg := llama.TinyConfig()
	w := llama.RandomWeights(cfg, 3)
	dir := t.TempDir()
	inline, external := filepath.Join(dir, "inline.onnx"), filepath.Join(dir, "external.onnx")
	if err := llama.WriteONNX(inline, cfg, w, llama.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := llama.WriteONNX(external, cfg, w, llama.WriteOptions{ExternalData: true}); err != nil {
		t.Fatal(err)
	}
	be, err := nn.BackendFor(nn.DefaultBackend)
	if err != nil {
		t.Fatal(err)
	}
	run := func(path string) ([]float32, error) {
		m, err := gomlxrun.Load(path, be, []string{"input_ids", "attention_mask"}, []string{"last_hidden_state"})
		if err != nil {
			return nil, err
		}
		defer m.Close()
		out := make([]float32, 4*cfg.Dim)
		err = m.Run(context.Background(), []gomlxrun.Tensor{{Shape: []int64{1, 4}, Data: []int64{1, 450, 9045, 2159}},
			{Shape: []int64{1, 4}, Data: []int64{1, 1, 1, 1}}}, []gomlxrun.Tensor{{Shape: []int64{1, 4, int64(cfg.Dim)}, Data: out}})
		return out, err
	}
	want, err := run(inline)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(external)
	if err != nil {
		t.Fatalf("external data: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("external-data model differs from the inline one")
	}
	st, err := os.Stat(external + ".data")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(external+".data", st.Size()/2); err != nil {
		t.Fatal(err)
	}
	if _, err := run(external); !errors.Is(err, gomlxrun.ErrModel) || !strings.Contains(err.Error(), "external.onnx.data") ||
		!strings.Contains(err.Error(), "tensor") {
		t.Errorf("truncated data file: err = %v", err)
	}
}

// TestPadding: with PadBatchSeq, calls of 5 shapes run on 4 padded shapes
// ([1 64], [2 64], [4 64] twice, [4 128]) and give the unpadded results; rows and tokens added as
// padding never reach the caller.
func TestPadding(t *testing.T) {
	path, cfg, be := tinyLlama(t, 2)
	plain, padded := loadLlama(t, path, be), loadLlama(t, path, be)
	padded.SetPadding(gomlxrun.PadBatchSeq)
	for _, bs := range [][2]int{{1, 3}, {2, 5}, {3, 7}, {4, 64}, {3, 70}} {
		B, S := bs[0], bs[1]
		ids, mask := make([]int64, B*S), make([]int64, B*S)
		for i := range ids {
			ids[i], mask[i] = int64(1+(i*37)%500), 1
		}
		shape := []int64{int64(B), int64(S)}
		run := func(m *gomlxrun.Model) []float32 {
			out := make([]float32, B*S*cfg.Dim)
			if err := m.Run(context.Background(), []gomlxrun.Tensor{{Shape: shape, Data: ids}, {Shape: shape, Data: mask}},
				[]gomlxrun.Tensor{{Shape: []int64{int64(B), int64(S), int64(cfg.Dim)}, Data: out}}); err != nil {
				t.Fatalf("%dx%d: %v", B, S, err)
			}
			return out
		}
		want, got := run(plain), run(padded)
		worst := 0.0
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 1e-5 {
			t.Errorf("%dx%d: padded run differs by %g", B, S, worst)
		}
	}
	if plain.Shapes() != 5 || padded.Shapes() != 4 {
		t.Errorf("shapes compiled: plain %d (want 5), padded %d (want 4)", plain.Shapes(), padded.Shapes())
	}
}

// TestWeightsFreedAfterLoad: once loaded, the model keeps no second copy
// of its float weights in the ONNX proto (the other tests show it still
// computes the same, new shapes included).
func TestWeightsFreedAfterLoad(t *testing.T) {
	path, cfg, be := tinyLlama(t, 1)
	m := loadLlama(t, path, be)
	// The embedding table alone is vocab x dim float32.
	if min := int64(cfg.Vocab * cfg.Dim * 4); m.FreedWeightBytes() < min {
		t.Errorf("freed %d bytes of weights, want at least the embedding table's %d", m.FreedWeightBytes(), min)
	}
}
