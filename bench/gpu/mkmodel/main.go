// Command mkmodel writes the Llama ONNX model the GPU embed benchmark
// runs: converted from a Hugging Face checkpoint (-hf DIR, e.g. a local
// Llama-2-7b-hf download; never fetched by this tool) or, without one, a
// random-weight model of the given shape (the throughput of a random model
// equals the real one's: same graph, same shapes).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/medflow/medflow/llama"
)

func main() {
	out := flag.String("out", "", "output .onnx path (weights of large models go to OUT.data)")
	hf := flag.String("hf", "", "Hugging Face Llama checkpoint folder (config.json + *.safetensors)")
	fp16 := flag.Bool("fp16", false, "store weights as float16 (compute stays float32)")
	preset := flag.String("preset", "tiny", "random-weight shape: tiny, small (dim 1024, 8 layers) or 7b")
	seed := flag.Int64("seed", 1, "random weight seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "mkmodel: -out is required")
		os.Exit(2)
	}
	cfg, err := write(*out, *hf, *preset, *seed, *fp16)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(cfg)
	fmt.Println(string(b))
}

func write(out, hf, preset string, seed int64, fp16 bool) (llama.Config, error) {
	opt := llama.WriteOptions{Float16: fp16}
	if hf != "" {
		return llama.FromHF(hf, out, opt)
	}
	var cfg llama.Config
	switch preset {
	case "tiny":
		cfg = llama.TinyConfig()
	case "small":
		cfg = llama.Config{Vocab: 32000, Dim: 1024, Layers: 8, Heads: 16, KVHeads: 16, Hidden: llama.HiddenFor(1024),
			MaxSeq: 4096, RopeTheta: 10000, NormEps: 1e-5}
	case "7b":
		cfg = llama.Llama2_7B()
	default:
		return cfg, fmt.Errorf("preset %q: want tiny, small or 7b", preset)
	}
	opt.ExternalData = preset != "tiny"
	return cfg, llama.WriteONNX(out, cfg, llama.RandomWeights(cfg, seed), opt)
}
