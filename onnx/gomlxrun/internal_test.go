package gomlxrun

import (
	"path/filepath"
	"testing"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/nn"
)

// TestWeightsDroppedAfterLoad: once loaded, the model keeps no second
// copy of its float weights in the ONNX proto (the runs of the other tests
// show it still computes the same); the small ones stay.
func TestWeightsDroppedAfterLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.onnx")
	cfg, err := llama.WriteTiny(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	be, err := nn.BackendFor(nn.DefaultBackend)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(path, be, []string{"input_ids", "attention_mask"}, []string{"last_hidden_state"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// The embedding table alone is vocab x dim float32.
	if min := int64(cfg.Vocab * cfg.Dim * 4); m.dropped < min {
		t.Errorf("dropped %d bytes of weights, want at least the embedding table's %d", m.dropped, min)
	}
}
