package graph_test

import (
	"fmt"

	"github.com/medflow/medflow/onnx/graph"
)

// Build y = softmax(x·W) with a symbolic batch dimension.
func Example() {
	g := graph.New("tiny")
	x, _ := g.Input("x", graph.Float32, graph.Sym("batch"), graph.D(2))
	w, _ := g.Float32("W", []int64{2, 3}, []float32{1, 0, 0, 0, 1, 0})
	y := g.Softmax(g.MatMul(x, w), -1)
	_ = g.Output(y, "y", graph.Float32, graph.Sym("batch"), graph.D(3))
	m := g.Model("example")
	for _, n := range m.Proto.GetGraph().GetNode() {
		fmt.Println(n.GetOpType(), n.GetInput(), "->", n.GetOutput())
	}
	// Output:
	// MatMul [x W] -> [MatMul_out]
	// Softmax [MatMul_out] -> [Softmax_out]
	// Identity [Softmax_out] -> [y]
}
