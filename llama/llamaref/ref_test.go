package llamaref_test

import (
	"math"
	"testing"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/llama/llamaref"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestRMSNorm(t *testing.T) {
	tests := []struct {
		name string
		x    []float64
		w    []float32
		eps  float64
		want []float64
	}{
		// mean(x²) = (9+16)/2 = 12.5; x/sqrt(12.5) = [0.848528, 1.131371].
		{"3-4", []float64{3, 4}, []float32{1, 2}, 0, []float64{3 / math.Sqrt(12.5), 8 / math.Sqrt(12.5)}},
		// all ones: rms 1, eps 1 -> divide by sqrt(2).
		{"eps", []float64{1, 1, 1, 1}, []float32{1, 1, 1, 1}, 1, []float64{1 / math.Sqrt2, 1 / math.Sqrt2, 1 / math.Sqrt2, 1 / math.Sqrt2}},
		{"zeros", []float64{0, 0}, []float32{5, 5}, 1e-5, []float64{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := llamaref.RMSNorm(tc.x, tc.w, tc.eps)
			for i := range got {
				if !near(got[i], tc.want[i], 1e-12) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestRope(t *testing.T) {
	c1, s1 := math.Cos(1), math.Sin(1)
	// hd=4, theta=100: angles at pos 1 are [1, 0.1, 1, 0.1] (i mod 2 pairs with i+2).
	c01, s01 := math.Cos(0.1), math.Sin(0.1)
	tests := []struct {
		name  string
		x     []float64
		pos   int
		theta float64
		want  []float64
	}{
		{"pos0 identity", []float64{1, 2, 3, 4}, 0, 10000, []float64{1, 2, 3, 4}},
		{"hd2 rotation", []float64{1, 0}, 1, 10000, []float64{c1, s1}},
		{"hd2 y", []float64{0, 1}, 1, 10000, []float64{-s1, c1}},
		{"hd4 rotate_half pairs i with i+hd/2", []float64{1, 2, 3, 4}, 1, 100,
			[]float64{1*c1 - 3*s1, 2*c01 - 4*s01, 3*c1 + 1*s1, 4*c01 + 2*s01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := llamaref.Rope(tc.x, tc.pos, tc.theta)
			for i := range got {
				if !near(got[i], tc.want[i], 1e-12) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestAttention(t *testing.T) {
	all := func(i, j int) bool { return true }
	causal := func(i, j int) bool { return j <= i }
	none := func(i, j int) bool { return false }
	// q·k = 0 for every pair: uniform weights.
	q0 := [][]float64{{0, 0}, {0, 0}}
	k := [][]float64{{1, 0}, {0, 1}}
	v := [][]float64{{2, 4}, {6, 8}}
	// q=[2,0], scale 1/sqrt(2): scores [sqrt2, 0]; weights e^√2/(e^√2+1).
	p := math.Exp(math.Sqrt2) / (math.Exp(math.Sqrt2) + 1)
	tests := []struct {
		name    string
		q       [][]float64
		allowed func(i, j int) bool
		want    [][]float64
	}{
		{"uniform", q0, all, [][]float64{{4, 6}, {4, 6}}},
		{"causal", q0, causal, [][]float64{{2, 4}, {4, 6}}},
		{"all masked is uniform and finite", q0, none, [][]float64{{4, 6}, {4, 6}}},
		{"scores", [][]float64{{2, 0}, {2, 0}}, all, [][]float64{{2*p + 6*(1-p), 4*p + 8*(1-p)}, {2*p + 6*(1-p), 4*p + 8*(1-p)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := llamaref.Attention(tc.q, k, v, tc.allowed)
			for i := range got {
				for d := range got[i] {
					if !near(got[i][d], tc.want[i][d], 1e-12) {
						t.Fatalf("got %v, want %v", got, tc.want)
					}
				}
			}
		})
	}
}

func smallConfig() llama.Config {
	return llama.Config{Vocab: 50, Dim: 16, Layers: 2, Heads: 4, KVHeads: 2, Hidden: 24, MaxSeq: 16, RopeTheta: 10000, NormEps: 1e-5}
}

func rowsEqual(t *testing.T, a, b []float32, tol float64, what string) {
	t.Helper()
	for i := range a {
		if !near(float64(a[i]), float64(b[i]), tol) {
			t.Fatalf("%s: [%d] %g vs %g", what, i, a[i], b[i])
		}
	}
}

// GQA with KV heads shared by groups equals multi-head attention whose K/V
// projections repeat each KV head for its group of query heads.
func TestForwardGQAEqualsRepeatedKV(t *testing.T) {
	cfg := smallConfig()
	w := llama.RandomWeights(cfg, 3)
	mha := cfg
	mha.KVHeads = cfg.Heads
	wm := llama.Weights{}
	for k, v := range w {
		wm[k] = v
	}
	hd, rep := cfg.HeadDim(), cfg.Heads/cfg.KVHeads
	for l := 0; l < cfg.Layers; l++ {
		for _, s := range []string{llama.KProj, llama.VProj} {
			src := w[llama.LayerName(l, s)]
			var data []float32
			for h := 0; h < cfg.Heads; h++ {
				kv := h / rep
				data = append(data, src.Data[kv*hd*cfg.Dim:(kv+1)*hd*cfg.Dim]...)
			}
			wm[llama.LayerName(l, s)] = llama.Tensor{Shape: []int{cfg.Heads * hd, cfg.Dim}, Data: data}
		}
	}
	ids := [][]int64{{1, 5, 9, 3, 44}}
	mask := [][]int64{{1, 1, 1, 1, 1}}
	a := llamaref.Forward(cfg, w, ids, mask)
	b := llamaref.Forward(mha, wm, ids, mask)
	for s := range a[0] {
		rowsEqual(t, a[0][s], b[0][s], 1e-6, "gqa vs repeated kv")
	}
}

// Causality and right padding: outputs at position i depend only on tokens
// 0..i, so appending tokens (real or padding) leaves earlier outputs alone;
// changing a padded token changes no real output.
func TestForwardCausalAndPadding(t *testing.T) {
	cfg := smallConfig()
	w := llama.RandomWeights(cfg, 4)
	short := llamaref.Forward(cfg, w, [][]int64{{2, 7, 11}}, [][]int64{{1, 1, 1}})
	long := llamaref.Forward(cfg, w,
		[][]int64{{2, 7, 11, 30, 31}, {2, 7, 11, 0, 0}, {2, 7, 11, 49, 12}},
		[][]int64{{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}, {1, 1, 1, 0, 0}})
	for b := range long {
		for s := 0; s < 3; s++ {
			rowsEqual(t, short[0][s], long[b][s], 1e-6, "prefix")
		}
	}
	// A masked key in the middle is ignored: [a, PAD(x), b] with any x gives the same at b.
	m1 := llamaref.Forward(cfg, w, [][]int64{{2, 9, 11}, {2, 40, 11}}, [][]int64{{1, 0, 1}, {1, 0, 1}})
	rowsEqual(t, m1[0][2], m1[1][2], 1e-6, "masked middle key")
	// ...but it is not ignored when unmasked.
	u := llamaref.Forward(cfg, w, [][]int64{{2, 9, 11}, {2, 40, 11}}, [][]int64{{1, 1, 1}, {1, 1, 1}})
	if near(float64(u[0][2][0]), float64(u[1][2][0]), 1e-9) {
		t.Error("unmasked middle token had no effect")
	}
	for _, row := range llamaref.Forward(cfg, w, [][]int64{{0, 0, 5}}, [][]int64{{0, 0, 1}})[0] {
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("non-finite output %v with left padding", v)
			}
		}
	}
}

func TestForwardPanicsOnBadInput(t *testing.T) {
	cfg := smallConfig()
	w := llama.RandomWeights(cfg, 1)
	tests := []struct {
		name      string
		ids, mask [][]int64
	}{
		{"id out of range", [][]int64{{50}}, [][]int64{{1}}},
		{"ragged mask", [][]int64{{1, 2}}, [][]int64{{1}}},
		{"rows", [][]int64{{1}}, nil},
		{"too long", [][]int64{make([]int64, 17)}, [][]int64{make([]int64, 17)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			llamaref.Forward(cfg, w, tc.ids, tc.mask)
		})
	}
}
