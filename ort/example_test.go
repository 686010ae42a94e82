package ort_test

import (
	"context"
	"fmt"

	"github.com/medflow/medflow/ort"
)

// A contract check needs no library: compare what a pipeline feeds with
// what a model declares (at load time Load does this with ORT's view of
// the model file).
func ExampleContract_Check() {
	want := ort.Contract{
		Inputs:  []ort.Spec{{Name: "input_ids", DType: ort.Int64, Rank: 2, Doc: "[batch, seq]"}},
		Outputs: []ort.Spec{{Name: "last_hidden_state", DType: ort.Float32, Rank: 3, Dims: []int64{-1, -1, 4096}}},
	}
	inputs := []ort.Info{{Name: "input_ids", DType: ort.Int32, Dims: []int64{-1, -1}}}
	outputs := []ort.Info{{Name: "last_hidden_state", DType: ort.Float32, Dims: []int64{-1, -1, 4096}}}
	fmt.Println(want.Check("llama.onnx", inputs, outputs))
	// Output:
	// ort: model does not match the expected contract: llama.onnx: input "input_ids" int64 [batch, seq]: model has "input_ids" int32 [?, ?] (element type int32, want int64); the model has inputs ["input_ids" int32 [?, ?]] and outputs ["last_hidden_state" float32 [?, ?, 4096]]
}

// Load a model, run it on a [2, 3] batch and read the [2, 3, dim] output.
// (Compiled, not run: it needs a model file and the ORT library.)
func ExampleLoad() {
	m, err := ort.Load("model.onnx", ort.Contract{
		Inputs: []ort.Spec{
			{Name: "input_ids", DType: ort.Int64, Rank: 2},
			{Name: "attention_mask", DType: ort.Int64, Rank: 2},
		},
		Outputs: []ort.Spec{{Name: "last_hidden_state", DType: ort.Float32, Rank: 3}},
	}, ort.Options{IntraOpThreads: 2, Sessions: 1, Concurrency: 2})
	if err != nil {
		fmt.Println(err) // wraps ErrNoLibrary, ErrContract, ErrLoad, ...
		return
	}
	defer m.Close()
	shape := []int64{2, 3}
	out := make([]ort.Tensor, 1) // nil Data: ORT allocates
	err = m.Run(context.Background(), []ort.Tensor{
		{Shape: shape, Data: []int64{1, 450, 263, 1, 29871, 0}},
		{Shape: shape, Data: []int64{1, 1, 1, 1, 1, 0}},
	}, out)
	fmt.Println(out[0].Shape, err)
}
