package train

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/nn"
	"github.com/medflow/medflow/train"
)

// TestCheckpointRoundTrip: save -> load gives identical outputs.
func TestCheckpointRoundTrip(t *testing.T) {
	b, err := nn.Backend()
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const side = 32
	data := &train.Data{Side: side, Images: make([]float32, 8*side*side)}
	for i := range data.Images {
		data.Images[i] = float32(i%13) / 13
	}
	enc := nn.ViTConfig{Image: side, Patch: 8, Width: 32, Depth: 1, Heads: 2, MLPRatio: 2, Pos: "sincos"}
	mae, _ := nn.NewMAE(enc, nn.MAEConfig{Width: 16, Depth: 1, Heads: 2, MaskRatio: 0.5}, 5)
	con, err := nn.NewContrastive(mae, nn.PoolConfig{Queries: 2, Heads: 2, EmbedDim: 8},
		nn.ContrastiveConfig{Loss: "infonce", TemperatureInit: 0.07}, 6)
	if err != nil {
		t.Fatal(err)
	}
	opt := nn.NewAdamW(nn.DefaultAdamW)
	opt.Step = 7
	opt.M["pool/query"] = make([]float32, 2*32)
	opt.V["pool/query"] = make([]float32, 2*32)
	opt.M["pool/query"][3] = 0.5
	codec := Codec{Alloc: mem}
	raw, err := codec.EncodeCheckpoint(&train.Checkpoint{Model: con, Opt: opt, Step: 11})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := codec.DecodeCheckpoint(raw, nn.DefaultAdamW)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Step != 11 || ck.Opt.Step != 7 || ck.Opt.M["pool/query"][3] != 0.5 {
		t.Fatalf("state lost: step %d adam %d", ck.Step, ck.Opt.Step)
	}
	// And through the model table the stages emit.
	rec := ModelRecord(mem, con)
	mr := NewModelReader()
	if err := mr.Add(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	fromTable, err := mr.Model()
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := train.ImageEmbeddings(context.Background(), b, con, data, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*nn.Model{ck.Model, fromTable} {
		got, _, err := train.ImageEmbeddings(context.Background(), b, m, data, 4)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatal("outputs differ after save/load")
		}
	}
}
