package ort_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/ort"
)

// TestCUDAMatchesCPU runs the tiny Llama on CUDA and on the CPU and
// compares the hidden states. It needs a GPU machine with the CUDA
// provider libraries beside the ORT library (bench/gpu/run.sh sets it up);
// it runs only with MEDFLOW_TEST_CUDA=1.
func TestCUDAMatchesCPU(t *testing.T) {
	if os.Getenv("MEDFLOW_TEST_CUDA") != "1" {
		t.Skip("skipping: set MEDFLOW_TEST_CUDA=1 on a GPU machine (see bench/gpu/README.md)")
	}
	requireORT(t)
	path := filepath.Join(t.TempDir(), "tiny.onnx")
	cfg, err := llama.WriteTiny(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	const batch, seq = 3, 37
	ids, mask := make([]int64, batch*seq), make([]int64, batch*seq)
	for i := range ids {
		ids[i] = int64(1 + (i*7919)%(cfg.Vocab-1))
		if i%seq < seq-(i/seq)*5 {
			mask[i] = 1
		}
	}
	shape := []int64{batch, seq}
	in := []ort.Tensor{{Shape: shape, Data: ids}, {Shape: shape, Data: mask}}
	var outs [2][]float32
	for i, o := range []ort.Options{{Provider: ort.ProviderCPU}, {Provider: ort.ProviderCUDA}} {
		m, err := ort.Load(path, contract(cfg.Dim), o)
		if err != nil {
			t.Fatalf("%s: %v", o.Provider, err)
		}
		out := make([]ort.Tensor, 1)
		if err := m.Run(context.Background(), in, out); err != nil {
			t.Fatalf("%s: %v", o.Provider, err)
		}
		outs[i] = out[0].Data.([]float32)
		m.Close()
	}
	worst := 0.0
	for i := range outs[0] {
		if mask[i/cfg.Dim] == 0 {
			continue
		}
		worst = max(worst, float64(abs32(outs[0][i]-outs[1][i])))
	}
	t.Logf("largest |CPU - CUDA| over real tokens: %g", worst)
	if worst > 1e-3 {
		t.Fatalf("CUDA differs from CPU by %g", worst)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
