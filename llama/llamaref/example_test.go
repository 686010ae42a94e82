package llamaref_test

import (
	"fmt"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/llama/llamaref"
)

func ExampleForward() {
	cfg := llama.Config{Vocab: 100, Dim: 16, Layers: 1, Heads: 2, KVHeads: 1, Hidden: 32, MaxSeq: 8, RopeTheta: 10000, NormEps: 1e-5}
	w := llama.RandomWeights(cfg, 1)
	out := llamaref.Forward(cfg, w, [][]int64{{1, 42, 7, 0}}, [][]int64{{1, 1, 1, 0}})
	fmt.Println(len(out), len(out[0]), len(out[0][0]))
	// Output: 1 4 16
}
