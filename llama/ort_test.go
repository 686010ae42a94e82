package llama_test

import (
	"fmt"
	"github.com/medflow/medflow/internal/testenv"
	"math"
	"path/filepath"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/llama/llamaref"
	"github.com/medflow/medflow/safetensors"
)

var ortInit struct {
	once sync.Once
	err  error
}

// needORT initialises ONNX Runtime once for the test binary. Without the
// library it fails the test when MEDFLOW_REQUIRE_ORT=1, else skips loudly.
func needORT(t *testing.T) {
	t.Helper()
	lib := testenv.ORTLibrary(t)
	ortInit.once.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortInit.err = ort.InitializeEnvironment()
	})
	if ortInit.err != nil {
		t.Fatalf("initialise ONNX Runtime from %s: %v", lib, ortInit.err)
	}
}

// runORT runs the model at path on ids/mask and returns last_hidden_state.
func runORT(t *testing.T, path string, ids, mask [][]int64) ([]float32, []int64) {
	t.Helper()
	sess, err := ort.NewDynamicAdvancedSession(path,
		[]string{llama.InputIDs, llama.AttentionMask}, []string{llama.LastHiddenState}, nil)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	defer sess.Destroy()
	b, s := len(ids), len(ids[0])
	var flatIDs, flatMask []int64
	for i := range ids {
		flatIDs = append(flatIDs, ids[i]...)
		flatMask = append(flatMask, mask[i]...)
	}
	idT, err := ort.NewTensor(ort.NewShape(int64(b), int64(s)), flatIDs)
	if err != nil {
		t.Fatal(err)
	}
	defer idT.Destroy()
	maskT, err := ort.NewTensor(ort.NewShape(int64(b), int64(s)), flatMask)
	if err != nil {
		t.Fatal(err)
	}
	defer maskT.Destroy()
	outs := []ort.Value{nil}
	if err := sess.Run([]ort.Value{idT, maskT}, outs); err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	defer outs[0].Destroy()
	ot, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("output is %T, want *Tensor[float32]", outs[0])
	}
	return append([]float32(nil), ot.GetData()...), ot.GetShape()
}

// batch is a test batch: full row, right padding, left padding, one token.
func batch(vocab int64) (ids, mask [][]int64) {
	ids = [][]int64{
		{1, 450, 4799, 29871, 13, 31999, 2},
		{1, 17, 23, 99, 0, 0, 0},
		{0, 0, 1, 3000, 12000, 25000, 7},
		{1, 0, 0, 0, 0, 0, 0},
	}
	mask = [][]int64{
		{1, 1, 1, 1, 1, 1, 1},
		{1, 1, 1, 1, 0, 0, 0},
		{0, 0, 1, 1, 1, 1, 1},
		{1, 0, 0, 0, 0, 0, 0},
	}
	for _, r := range ids {
		for i := range r {
			r[i] %= vocab
		}
	}
	return ids, mask
}

// maxDiff compares ORT output with the reference on real (mask 1) positions
// and checks every output value (pads included) is finite.
func maxDiff(t *testing.T, got []float32, shape []int64, want [][][]float32, mask [][]int64) float64 {
	t.Helper()
	b, s, d := len(want), len(want[0]), len(want[0][0])
	if len(shape) != 3 || shape[0] != int64(b) || shape[1] != int64(s) || shape[2] != int64(d) {
		t.Fatalf("output shape %v, want [%d %d %d]", shape, b, s, d)
	}
	var worst float64
	for i := 0; i < b; i++ {
		for j := 0; j < s; j++ {
			for k := 0; k < d; k++ {
				g := float64(got[(i*s+j)*d+k])
				if math.IsNaN(g) || math.IsInf(g, 0) {
					t.Fatalf("output [%d,%d,%d] = %v (mask %d)", i, j, k, g, mask[i][j])
				}
				if mask[i][j] == 0 {
					continue
				}
				worst = math.Max(worst, math.Abs(g-float64(want[i][j][k])))
			}
		}
	}
	return worst
}

// roundF16 rounds every weight to float16, as WriteOptions.Float16 stores them.
func roundF16(w llama.Weights) llama.Weights {
	out := llama.Weights{}
	for k, t := range w {
		d := make([]float32, len(t.Data))
		for i, v := range t.Data {
			d[i] = safetensors.F16ToF32(safetensors.F32ToF16(v))
		}
		out[k] = llama.Tensor{Shape: t.Shape, Data: d}
	}
	return out
}

// TestORTMatchesReference runs the tiny model through ONNX Runtime and
// compares with llamaref. Tolerances: fp32 weights 1e-4 max abs; fp16
// weights 1e-4 against the reference on the same fp16-rounded weights (the
// graph computes in fp32) and 0.05 against the unrounded fp32 weights.
func TestORTMatchesReference(t *testing.T) {
	needORT(t)
	cfg := llama.TinyConfig()
	w := llama.RandomWeights(cfg, 7)
	ids, mask := batch(int64(cfg.Vocab))
	ref := llamaref.Forward(cfg, w, ids, mask)
	ref16 := llamaref.Forward(cfg, roundF16(w), ids, mask)
	dir := t.TempDir()
	cases := []struct {
		name string
		opt  llama.WriteOptions
		want [][][]float32
		tol  float64
	}{
		{"fp32 inline", llama.WriteOptions{}, ref, 1e-4},
		{"fp32 external", llama.WriteOptions{ExternalData: true}, ref, 1e-4},
		{"fp16 external vs fp16-rounded ref", llama.WriteOptions{Float16: true, ExternalData: true}, ref16, 1e-4},
		{"fp16 external vs fp32 ref", llama.WriteOptions{Float16: true, ExternalData: true}, ref, 0.05},
		{"fp16 inline", llama.WriteOptions{Float16: true}, ref16, 1e-4},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("m%d.onnx", i))
			if err := llama.WriteONNX(path, cfg, w, tc.opt); err != nil {
				t.Fatal(err)
			}
			got, shape := runORT(t, path, ids, mask)
			d := maxDiff(t, got, shape, tc.want, mask)
			t.Logf("max abs diff %.3g (tolerance %g)", d, tc.tol)
			if d > tc.tol {
				t.Errorf("max abs diff %g > %g", d, tc.tol)
			}
		})
	}
}

// TestORTFromHF converts a BF16 Hugging Face checkpoint (non-default rope
// theta and eps, longer sequences) and checks ORT against the reference on
// the stored (bf16, then fp16-rounded) weights: tolerance 1e-4.
func TestORTFromHF(t *testing.T) {
	needORT(t)
	cfg := llama.Config{Vocab: 1000, Dim: 64, Layers: 3, Heads: 8, KVHeads: 2, Hidden: llama.HiddenFor(64), MaxSeq: 128, RopeTheta: 500000, NormEps: 1e-6}
	w := llama.RandomWeights(cfg, 21)
	dir := t.TempDir()
	hf := filepath.Join(dir, "hf")
	if err := llama.WriteHFDType(hf, cfg, w, safetensors.BF16); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []llama.WriteOptions{{}, {Float16: true}} {
		t.Run(fmt.Sprintf("float16=%v", opt.Float16), func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("m%v.onnx", opt.Float16))
			if _, err := llama.FromHF(hf, out, opt); err != nil {
				t.Fatal(err)
			}
			stored := roundWeights(w, bf16)
			if opt.Float16 {
				stored = roundWeights(stored, f16)
			}
			const seq = 100
			ids, mask := make([][]int64, 2), make([][]int64, 2)
			for b := range ids {
				ids[b], mask[b] = make([]int64, seq), make([]int64, seq)
				for s := range ids[b] {
					ids[b][s] = int64((s*37 + b*101 + 5) % cfg.Vocab)
					if b == 0 || s < seq-23 {
						mask[b][s] = 1
					}
				}
			}
			want := llamaref.Forward(cfg, stored, ids, mask)
			got, shape := runORT(t, out, ids, mask)
			d := maxDiff(t, got, shape, want, mask)
			t.Logf("max abs diff %.3g (tolerance 1e-4)", d)
			if d > 1e-4 {
				t.Errorf("max abs diff %g > 1e-4", d)
			}
		})
	}
}

// TestORTMultiHead covers plain multi-head attention (KVHeads == Heads, as
// Llama-2-7B) and a single KV head (multi-query), fp32, tolerance 1e-4.
func TestORTMultiHead(t *testing.T) {
	needORT(t)
	for _, kv := range []int{4, 1} {
		t.Run(fmt.Sprintf("kv_heads=%d", kv), func(t *testing.T) {
			cfg := llama.Config{Vocab: 500, Dim: 48, Layers: 2, Heads: 4, KVHeads: kv, Hidden: 128, MaxSeq: 32, RopeTheta: 10000, NormEps: 1e-5}
			w := llama.RandomWeights(cfg, int64(kv))
			path := filepath.Join(t.TempDir(), "m.onnx")
			if err := llama.WriteONNX(path, cfg, w, llama.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			ids, mask := batch(int64(cfg.Vocab))
			got, shape := runORT(t, path, ids, mask)
			d := maxDiff(t, got, shape, llamaref.Forward(cfg, w, ids, mask), mask)
			t.Logf("max abs diff %.3g (tolerance 1e-4)", d)
			if d > 1e-4 {
				t.Errorf("max abs diff %g > 1e-4", d)
			}
		})
	}
}
