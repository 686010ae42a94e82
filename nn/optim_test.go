package nn

import (
	"math"
	"testing"
)

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1, Warmup: 4, Total: 14, MinRatio: 0.1}
	cases := []struct {
		step int64
		want float64
	}{
		{0, 0.25}, {3, 1}, {4, 1},
		{9, 0.1 + 0.9*0.5*(1+math.Cos(math.Pi*5/10))},
		{14, 0.1}, {20, 0.1},
	}
	for _, c := range cases {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LR(%d) = %g, want %g", c.step, got, c.want)
		}
	}
}

func TestClipGlobalNorm(t *testing.T) {
	cases := []struct {
		name    string
		grads   [][]float32
		max     float64
		norm    float64
		clipped float64
		err     bool
	}{
		{"under", [][]float32{{3}, {4}}, 10, 5, 5, false},
		{"over", [][]float32{{3}, {4}}, 1, 5, 1, false},
		{"off", [][]float32{{3}, {4}}, 0, 5, 5, false},
		{"nan", [][]float32{{float32(math.NaN())}}, 1, math.NaN(), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ClipGlobalNorm(c.grads, c.max)
			if (err != nil) != c.err {
				t.Fatalf("err %v", err)
			}
			if c.err {
				return
			}
			if math.Abs(n-c.norm) > 1e-6 || math.Abs(GlobalNorm(c.grads)-c.clipped) > 1e-6 {
				t.Fatalf("norm %g (want %g), after %g (want %g)", n, c.norm, GlobalNorm(c.grads), c.clipped)
			}
		})
	}
}

// TestAdamW checks one step against the formula and the decay exclusion.
func TestAdamW(t *testing.T) {
	cfg := AdamWConfig{Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1}
	params := []*Tensor{
		{Name: "enc/w", Shape: []int{1, 2}, Data: []float32{1, -2}},
		{Name: "enc/b", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "ln/scale", Shape: []int{2}, Data: []float32{1, -2}},
	}
	grads := [][]float32{{0.5, -0.25}, {0.5, -0.25}, {0.5, -0.25}}
	o := NewAdamW(cfg)
	const lr = 0.01
	if err := o.Update(params, grads, lr); err != nil {
		t.Fatal(err)
	}
	for i, p := range params {
		decay := 0.0
		if Decays(p.Name, p.Shape) {
			decay = cfg.WeightDecay
		}
		for j, w0 := range []float64{1, -2} {
			g := float64(grads[i][j])
			m := (1 - cfg.Beta1) * g / (1 - cfg.Beta1)
			v := (1 - cfg.Beta2) * g * g / (1 - cfg.Beta2)
			want := w0 - lr*(m/(math.Sqrt(v)+cfg.Eps)+decay*w0)
			if math.Abs(float64(p.Data[j])-want) > 1e-6 {
				t.Errorf("%s[%d] = %g, want %g", p.Name, j, p.Data[j], want)
			}
		}
	}
	if !Decays("enc/w", []int{1, 2}) || Decays("enc/b", []int{2}) || Decays("encoder/pos", []int{4, 4}) || Decays("decoder/mask_token", []int{4}) {
		t.Fatal("decay selection wrong")
	}
}
