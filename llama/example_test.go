package llama_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/medflow/medflow/llama"
)

func ExampleWriteTiny() {
	dir, _ := os.MkdirTemp("", "llama")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.onnx")
	cfg, err := llama.WriteTiny(path, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, _ := llama.ConfigFromModel(path)
	fmt.Println(cfg == back, cfg.Vocab, cfg.Dim, cfg.Layers, cfg.Heads, cfg.KVHeads)
	// Output: true 32000 64 2 4 2
}
