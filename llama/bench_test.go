package llama_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/safetensors"
)

// benchConfig is a ~108 MB BF16 checkpoint (54M parameters).
var benchConfig = llama.Config{Vocab: 32000, Dim: 512, Layers: 12, Heads: 8, KVHeads: 4, Hidden: llama.HiddenFor(512), MaxSeq: 2048, RopeTheta: 10000, NormEps: 1e-5}

// writeBenchHF writes a random BF16 checkpoint tensor by tensor (never
// holding more than one) and returns its size in bytes.
func writeBenchHF(b *testing.B, dir string, cfg llama.Config) int64 {
	b.Helper()
	if err := llama.WriteHFConfig(dir, cfg, safetensors.BF16); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, "model.safetensors")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var decl []safetensors.Decl
	for _, pr := range cfg.Params() {
		decl = append(decl, safetensors.Decl{Name: pr.Name, DType: safetensors.BF16, Shape: pr.Shape})
	}
	w, err := safetensors.NewWriter(f, decl, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, pr := range cfg.Params() {
		n := 1
		for _, d := range pr.Shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(rng.NormFloat64() * 0.02)
		}
		if err := w.WriteFloat32(pr.Name, data); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// heapPeak samples runtime.MemStats.HeapInuse every millisecond while f
// runs and returns the largest value seen minus the value before f.
func heapPeak(f func() error) (uint64, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	err := f()
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	return peak - base, err
}

// BenchmarkFromHFMemory converts a 108 MB BF16 checkpoint (dim 512, 12
// layers) and reports the peak extra heap (HeapInuse) during conversion,
// also as a multiple of the largest tensor's and of one layer's float32
// size. Reference in the same run: "load-all" reads every tensor into
// Weights and then calls WriteONNX (the non-streaming way).
func BenchmarkFromHFMemory(b *testing.B) {
	cfg := benchConfig
	dir := b.TempDir()
	hf := filepath.Join(dir, "hf")
	size := writeBenchHF(b, hf, cfg)
	largest, layer := 0, 0
	for _, p := range cfg.Params() {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		largest = max(largest, 4*n)
	}
	for _, p := range cfg.LayerParams(0) {
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		layer += 4 * n
	}
	convs := []struct {
		name string
		run  func(out string, opt llama.WriteOptions) error
	}{
		{"stream", func(out string, opt llama.WriteOptions) error {
			_, err := llama.FromHF(hf, out, opt)
			return err
		}},
		{"load-all", func(out string, opt llama.WriteOptions) error {
			r, err := safetensors.Open(filepath.Join(hf, "model.safetensors"))
			if err != nil {
				return err
			}
			defer r.Close()
			w := llama.Weights{}
			for _, info := range r.Tensors() {
				_, data, err := r.ReadFloat32(info.Name)
				if err != nil {
					return err
				}
				w[info.Name] = llama.Tensor{Shape: info.Shape, Data: data}
			}
			opt.ExternalData = true
			return llama.WriteONNX(out, cfg, w, opt)
		}},
	}
	for _, conv := range convs {
		for _, f16 := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/float16=%v", conv.name, f16), func(b *testing.B) {
				b.SetBytes(size)
				out := filepath.Join(dir, "model.onnx")
				var worst uint64
				for range b.N {
					peak, err := heapPeak(func() error { return conv.run(out, llama.WriteOptions{Float16: f16}) })
					if err != nil {
						b.Fatal(err)
					}
					worst = max(worst, peak)
				}
				b.ReportMetric(float64(worst)/(1<<20), "peak-MiB")
				b.ReportMetric(float64(worst)/float64(largest), "x-largest-tensor")
				b.ReportMetric(float64(worst)/float64(layer), "x-layer")
			})
		}
	}
}
