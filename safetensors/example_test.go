package safetensors_test

import (
	"bytes"
	"fmt"

	"github.com/medflow/medflow/safetensors"
)

func Example() {
	var buf bytes.Buffer
	w, _ := safetensors.NewWriter(&buf, []safetensors.Decl{
		{Name: "model.norm.weight", DType: safetensors.BF16, Shape: []int{4}},
	}, nil)
	_ = w.WriteFloat32("model.norm.weight", []float32{1, 0.5, -2, 3})
	_ = w.Close()

	r, err := safetensors.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "example.safetensors")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, info := range r.Tensors() {
		_, data, _ := r.ReadFloat32(info.Name)
		fmt.Println(info.Name, info.DType, info.Shape, data)
	}
	// Output:
	// model.norm.weight BF16 [4] [1 0.5 -2 3]
}
