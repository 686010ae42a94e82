package train_test

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/pipeline"
	trainstages "github.com/medflow/medflow/stages/train"
	"github.com/medflow/medflow/train"
)

// Example pretrains a tiny MAE on random images, checkpointing into an
// in-memory artifact store (as Arrow IPC files, the codec of the training
// stages).
func Example() {
	backend, err := nn.Backend()
	if err != nil {
		panic(err)
	}
	const n, side = 8, 16
	data := &train.Data{Side: side, Images: make([]float32, n*side*side)}
	for i := range data.Images {
		data.Images[i] = float32(i%7) / 7
	}
	model, err := nn.NewMAE(nn.ViTConfig{Image: side, Patch: 4, Width: 16, Depth: 1, Heads: 2, MLPRatio: 2, Pos: "sincos"},
		nn.MAEConfig{Width: 8, Depth: 1, Heads: 2, MaskRatio: 0.75}, 1)
	if err != nil {
		panic(err)
	}
	store := pipeline.NewMemArtifacts()
	res, err := train.Run(context.Background(), train.Config{Epochs: 2, BatchSize: 4, LR: 1e-3, Adam: nn.DefaultAdamW,
		ClipNorm: 1, Seed: 1}, train.Job{Name: "mae", Model: model, Data: data, Loss: nn.MAEStep(model.Config),
		Batch: train.MAEBatcher(model.Config), Backend: backend, Store: store,
		Codec: trainstages.Codec{Alloc: memory.DefaultAllocator}})
	if err != nil {
		panic(err)
	}
	names, _ := store.List(context.Background())
	fmt.Println(res.Steps, len(res.Curve), names)
	// Output: 4 4 [checkpoints/step-000004.arrow curve.arrow]
}
