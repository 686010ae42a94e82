package train

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/medflow/medflow/nn"
)

// benchEncoder is the tiny config: 64×64 images, patch 8, width
// 64, 2 blocks (~133k parameters with its head).
func benchEncoder() nn.ViTConfig {
	return nn.ViTConfig{Image: 64, Patch: 8, Width: 64, Depth: 2, Heads: 4, MLPRatio: 4, Pos: "sincos"}
}

// forwardFLOPs counts the multiply-adds (×2) of one image's encoder pass.
func forwardFLOPs(c nn.ViTConfig) float64 {
	n, d, h := float64(c.Tokens()), float64(c.Width), float64(c.Hidden())
	perBlock := 2*4*n*d*d + 2*2*n*n*d + 2*2*n*d*h
	return 2*n*float64(c.PatchDim())*d + float64(c.Depth)*perBlock
}

func maxRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

// BenchmarkMAEStep times one MAE pretraining step (75% of the patches
// masked: the encoder sees a quarter of the tokens) of the tiny config,
// custom vs stock einsum gradients, in the same run.
func BenchmarkMAEStep(b *testing.B) {
	backend, err := nn.Backend()
	if err != nil {
		b.Fatal(err)
	}
	enc := benchEncoder()
	mae, err := nn.NewMAE(enc, nn.MAEConfig{Width: 32, Depth: 1, Heads: 2, MaskRatio: 0.75}, 1)
	if err != nil {
		b.Fatal(err)
	}
	d, _ := synthData(64, 8, 8, 1)
	// synthData makes 32x32 images; tile them to 64x64.
	big := &Data{Side: 64}
	for i := range 64 {
		img := d.Images[i*1024 : (i+1)*1024]
		for y := range 64 {
			for x := range 64 {
				big.Images = append(big.Images, img[(y%32)*32+x%32])
			}
		}
	}
	for _, bs := range []int{32, 64} {
		for _, stock := range []bool{false, true} {
			name := "custom"
			if stock {
				name = "stock"
			}
			b.Run(fmt.Sprintf("%s/batch%d", name, bs), func(b *testing.B) {
				st, err := nn.NewStep(backend, mae.Params, nil, stock, nn.MAEStep(mae.Config))
				if err != nil {
					b.Fatal(err)
				}
				defer st.Finalize()
				batch := MAEBatcher(big, mae.Config)
				idx := make([]int, bs)
				for i := range idx {
					idx[i] = i % big.Len()
				}
				p := mae.Params.Clone()
				opt := nn.NewAdamW(nn.DefaultAdamW)
				train := st.Trainable(p)
				step := func(s int64) {
					data, err := batch(idx, s, StepRNG(1, s))
					if err != nil {
						b.Fatal(err)
					}
					out, err := st.Run(p, data)
					if err != nil {
						b.Fatal(err)
					}
					if err := opt.Update(train, out.Grads, 1e-4); err != nil {
						b.Fatal(err)
					}
				}
				step(0) // compile
				b.ResetTimer()
				var s int64
				for b.Loop() {
					s++
					step(s)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(bs)/sec, "img/s")
				b.ReportMetric(maxRSSMiB(), "peakRSS_MiB")
			})
		}
	}
}

// BenchmarkTrainStep times one fine-tuning step (encoder + mean pool +
// BCE head, forward + backward + AdamW) with the custom einsum gradients
// and with GoMLX's stock ones, and a forward-only pass, in the same run.
// Metrics: img/s, GFLOP/s (training counted as 3× forward), peak RSS of
// the process so far.
func BenchmarkTrainStep(b *testing.B) {
	backend, err := nn.Backend()
	if err != nil {
		b.Fatal(err)
	}
	enc := benchEncoder()
	mae, err := nn.NewMAE(enc, nn.MAEConfig{Width: 32, Depth: 1, Heads: 2, MaskRatio: 0.75}, 1)
	if err != nil {
		b.Fatal(err)
	}
	cls, err := nn.NewClassifier(mae, "mean", "finetune", 14, 2)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, bs := range []int{32, 64} {
		px := enc.Image * enc.Image
		img := make([]float32, bs*px)
		for i := range img {
			img[i] = float32(rng.NormFloat64())
		}
		lab := make([]float32, bs*14)
		mask := make([]float32, bs*14)
		for i := range lab {
			lab[i], mask[i] = float32(rng.IntN(2)), 1
		}
		data := func() []*tensors.Tensor {
			return []*tensors.Tensor{nn.F32(img, bs, px), nn.F32(lab, bs, 14), nn.F32(mask, bs, 14)}
		}
		for _, stock := range []bool{false, true} {
			name := "custom"
			if stock {
				name = "stock"
			}
			b.Run(fmt.Sprintf("%s/batch%d", name, bs), func(b *testing.B) {
				st, err := nn.NewStep(backend, cls.Params, cls.Trainable(), stock, nn.ClassifierStep(cls.Config))
				if err != nil {
					b.Fatal(err)
				}
				defer st.Finalize()
				opt := nn.NewAdamW(nn.DefaultAdamW)
				p := cls.Params.Clone()
				train := st.Trainable(p)
				if _, err := st.Run(p, data()); err != nil { // compile
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					out, err := st.Run(p, data())
					if err != nil {
						b.Fatal(err)
					}
					if _, err := nn.ClipGlobalNorm(out.Grads, 1); err != nil {
						b.Fatal(err)
					}
					if err := opt.Update(train, out.Grads, 1e-4); err != nil {
						b.Fatal(err)
					}
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(bs)/sec, "img/s")
				b.ReportMetric(3*forwardFLOPs(enc)*float64(bs)/sec/1e9, "GFLOP/s")
				b.ReportMetric(maxRSSMiB(), "peakRSS_MiB")
			})
		}
		b.Run(fmt.Sprintf("forward/batch%d", bs), func(b *testing.B) {
			f, err := nn.NewFunc(backend, cls.Params, false, func(s *nn.Scope, d []*graph.Node) []*graph.Node {
				return []*graph.Node{nn.ClassifierLogits(s, cls.Config, d[0])}
			})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Finalize()
			if _, err := f.Run(cls.Params, data()[:1]); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.Run(cls.Params, data()[:1]); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(bs)/sec, "img/s")
			b.ReportMetric(forwardFLOPs(enc)*float64(bs)/sec/1e9, "GFLOP/s")
		})
	}
}
