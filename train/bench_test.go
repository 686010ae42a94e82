package train

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
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

// cpuSeconds is the process's user + system CPU time so far: per step it
// shows the work a step costs even when other processes share the cores
// (wall-clock img/s does not).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
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
// in-graph optimizer with custom or stock einsum gradients and the
// host-optimizer path, in the same run.
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
		for _, way := range stepWays {
			b.Run(fmt.Sprintf("%s/batch%d", way.name, bs), func(b *testing.B) {
				batch := MAEBatcher(mae.Config)
				in := big.like(bs, true)
				for i := range bs {
					in.putRow(i, big, i%big.Len())
				}
				run := way.build(b, backend, mae, nn.MAEStep(mae.Config))
				defer run(nil)
				step := func(s int64) {
					data, err := batch(in, s, StepRNG(1, s))
					if err != nil {
						b.Fatal(err)
					}
					run(data)
				}
				step(0) // compile
				b.ResetTimer()
				cpu0 := cpuSeconds()
				var s int64
				for b.Loop() {
					s++
					step(s)
				}
				sec := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(bs)/sec, "img/s")
				b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N)*1e3, "cpu-ms/op")
				b.ReportMetric(maxRSSMiB(), "peakRSS_MiB")
			})
		}
	}
}

// stepWay is one way of running a training step in the benchmarks:
// "custom" is what train.Run does (nn.TrainStep: the custom einsum
// gradients, clipping and AdamW in the graph), "stock" the same with
// GoMLX's own matmul gradients, "hostopt" the previous path (nn.Step's
// gradients downloaded, ClipGlobalNorm and AdamW.Update in Go).
type stepWay struct {
	name string
	// build returns run: run(data) does one step (and finalizes data),
	// run(nil) frees the step.
	build func(b *testing.B, backend backends.Backend, m *nn.Model, fn nn.LossFn) func(data []*tensors.Tensor)
}

var stepWays = []stepWay{
	{"custom", inGraphWay(false)},
	// custom with simplego's own pure-Go kernels (no OpenBLAS, no
	// medflow float32 executors), in the same run.
	{"purego", func(b *testing.B, backend backends.Backend, m *nn.Model, fn nn.LossFn) func([]*tensors.Tensor) {
		restore := nn.SetFastKernels(false)
		run := inGraphWay(false)(b, backend, m, fn)
		return func(data []*tensors.Tensor) {
			run(data)
			if data == nil {
				restore()
			}
		}
	}},
	{"stock", inGraphWay(true)},
	{"hostopt", func(b *testing.B, backend backends.Backend, m *nn.Model, fn nn.LossFn) func([]*tensors.Tensor) {
		p := m.Params.Clone()
		st, err := nn.NewStep(backend, p, m.Trainable(), false, fn)
		if err != nil {
			b.Fatal(err)
		}
		opt := nn.NewAdamW(nn.DefaultAdamW)
		train := st.Trainable(p)
		return func(data []*tensors.Tensor) {
			if data == nil {
				st.Finalize()
				return
			}
			out, err := st.Run(p, data)
			finalize(data)
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
	}},
}

func inGraphWay(stock bool) func(b *testing.B, backend backends.Backend, m *nn.Model, fn nn.LossFn) func([]*tensors.Tensor) {
	return func(b *testing.B, backend backends.Backend, m *nn.Model, fn nn.LossFn) func([]*tensors.Tensor) {
		ts, err := nn.NewTrainStep(backend, m.Params, m.Trainable(), stock, nn.DefaultAdamW, 1, fn)
		if err != nil {
			b.Fatal(err)
		}
		if err := ts.Load(m.Params, nn.NewAdamW(nn.DefaultAdamW)); err != nil {
			b.Fatal(err)
		}
		return func(data []*tensors.Tensor) {
			if data == nil {
				ts.Finalize()
				return
			}
			_, _, err := ts.Run(data, 1e-4)
			finalize(data)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func finalize(data []*tensors.Tensor) {
	for _, d := range data {
		_ = d.FinalizeAll()
	}
}

// BenchmarkTrainStep times one fine-tuning step (encoder + mean pool +
// BCE head, forward + backward + clip + AdamW) in the ways of stepWays
// and a forward-only pass, in the same run.
// Metrics: img/s, GFLOP/s (training counted as 3× forward), peak RSS of
// the process so far.
func BenchmarkTrainStep(b *testing.B) {
	backend, err := nn.Backend()
	if err != nil {
		b.Fatal(err)
	}
	enc := benchEncoder()
	cls := benchClassifier(b, enc)
	for _, bs := range []int{32, 64} {
		data := classifierBatch(enc, bs)
		for _, way := range stepWays {
			b.Run(fmt.Sprintf("%s/batch%d", way.name, bs), func(b *testing.B) {
				benchClassifierStep(b, backend, way, cls, data)
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

// BenchmarkTrainStepViTS16 is BenchmarkTrainStep's custom step at ViT-S/16
// size (224 px, patch 16, width 384, 12 blocks, 6 heads), batch 8: slow
// on 2 cores (tens of seconds a step); run it with -benchtime 1x.
func BenchmarkTrainStepViTS16(b *testing.B) {
	backend, err := nn.Backend()
	if err != nil {
		b.Fatal(err)
	}
	enc := nn.ViTConfig{Image: 224, Patch: 16, Width: 384, Depth: 12, Heads: 6, MLPRatio: 4, Pos: "sincos"}
	cls := benchClassifier(b, enc)
	b.Run("custom/batch8", func(b *testing.B) {
		benchClassifierStep(b, backend, stepWays[0], cls, classifierBatch(enc, 8))
	})
}

// benchClassifier is a mean-pool fine-tuning classifier (14 labels) on a
// fresh MAE encoder of config enc.
func benchClassifier(b *testing.B, enc nn.ViTConfig) *nn.Model {
	mae, err := nn.NewMAE(enc, nn.MAEConfig{Width: 32, Depth: 1, Heads: 2, MaskRatio: 0.75}, 1)
	if err != nil {
		b.Fatal(err)
	}
	cls, err := nn.NewClassifier(mae, "mean", "finetune", 14, 2)
	if err != nil {
		b.Fatal(err)
	}
	return cls
}

// classifierBatch returns a function making one fixed batch of bs random
// images, labels and a full mask.
func classifierBatch(enc nn.ViTConfig, bs int) func() []*tensors.Tensor {
	rng := rand.New(rand.NewPCG(1, 1))
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
	return func() []*tensors.Tensor {
		return []*tensors.Tensor{nn.F32(img, bs, px), nn.F32(lab, bs, 14), nn.F32(mask, bs, 14)}
	}
}

// benchClassifierStep times way's step of cls on data (img/s, GFLOP/s with
// training counted as 3x forward, peak RSS so far).
func benchClassifierStep(b *testing.B, backend backends.Backend, way stepWay, cls *nn.Model, data func() []*tensors.Tensor) {
	run := way.build(b, backend, cls, nn.ClassifierStep(cls.Config))
	defer run(nil)
	first := data()
	bs := first[0].Shape().Dimensions[0]
	run(first) // compile
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		run(data())
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(bs)/sec, "img/s")
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N)*1e3, "cpu-ms/op")
	b.ReportMetric(3*forwardFLOPs(cls.Config.Encoder)*float64(bs)/sec/1e9, "GFLOP/s")
	b.ReportMetric(maxRSSMiB(), "peakRSS_MiB")
}

// BenchmarkStreamBatches: the streamed loop's input side alone (blocks
// through the shuffle buffer, batch assembly with uint8 normalisation)
// for 224 px images from an in-memory split: images/s the data path can
// feed a step, to compare with the steps' img/s.
func BenchmarkStreamBatches(b *testing.B) {
	const n, side, batch = 1024, 224, 64
	d := &Data{Side: side, Pixels: make([]uint8, n*side*side), NumLabels: 14,
		Labels: make([]float32, n*14), Mask: make([]float32, n*14), PixelLUT: new([256]float32)}
	for i := range d.Pixels {
		d.Pixels[i] = uint8(i * 7)
	}
	for _, k := range []int{256, 4096} {
		b.Run(fmt.Sprintf("shuffle%d", k), func(b *testing.B) {
			rows := 0
			for epoch := int64(0); b.Loop(); epoch++ {
				s := startStream(context.Background(), streamSpec{src: d, rng: EpochRNG(1, epoch), k: k, batch: batch})
				for {
					bt, err := s.next()
					if err != nil {
						b.Fatal(err)
					}
					if bt == nil {
						break
					}
					rows += bt.Len()
					s.recycle(bt)
				}
				s.stop()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
