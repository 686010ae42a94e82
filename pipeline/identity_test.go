package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/llama"
	"github.com/medflow/medflow/pipeline"
)

// An ONNX model's weights in its external data file (model.onnx.data) are
// part of the fingerprint of a stage whose path param names the model:
// new weights beside an unchanged graph recompute it, and the plan's
// CHANGED column names the param.
func TestFingerprintONNXExternalData(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.onnx")
	cfg := llama.TinyConfig()
	if err := llama.WriteONNX(model, cfg, llama.RandomWeights(cfg, 1), llama.WriteOptions{ExternalData: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(model + ".data"); err != nil {
		t.Fatalf("no external data file: %v", err)
	}
	reg := pipeline.NewRegistry()
	reg.MustRegister(pipeline.Definition{Kind: "src", Doc: "test kind", Role: pipeline.RoleSource,
		Params: []pipeline.Param{{Name: "model", Type: pipeline.String, Format: pipeline.FormatPath, Doc: "model (test param)"}},
		New:    func(*pipeline.BuildContext) (pipeline.Stage, error) { return src{}, nil }})
	plan := func() *pipeline.Node {
		t.Helper()
		p, err := reg.Plan(pipeline.Spec{Variant: "v", Stages: []pipeline.StageSpec{
			{Name: "s", Kind: "src", Params: map[string]any{"model": model}}}}, pipeline.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Node("s")
	}
	before := plan()
	if again := plan(); again.Fingerprint != before.Fingerprint {
		t.Fatal("the fingerprint of an unchanged model differs between two plans")
	}
	// Same size, same graph file; one weight byte of the data file flipped.
	data, err := os.ReadFile(model + ".data")
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(model+".data", data, 0o644); err != nil {
		t.Fatal(err)
	}
	after := plan()
	if after.Fingerprint == before.Fingerprint {
		t.Fatal("changing model.onnx.data left the fingerprint as it was")
	}
	if ch := pipeline.Changes(before.FingerprintParts(), after.FingerprintParts()); !slices.Equal(ch, []string{"file params.model"}) {
		t.Fatalf("changes %q, want [file params.model]", ch)
	}
}

// src is a source that emits nothing.
type src struct{}

func (src) Schema() *arrow.Schema                           { return numbers }
func (src) Produce(context.Context, pipeline.Emitter) error { return nil }

// A model without external data, or a file that is no ONNX protobuf,
// names no data file.
func TestFileIdentityONNXWithoutData(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "inline.onnx")
	if _, err := llama.WriteTiny(model, 1); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.onnx")
	if err := os.WriteFile(junk, []byte("\xff\xff\xff\xff not a protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{model, junk} {
		if id := pipeline.FileIdentity(p); strings.Contains(id, "data") || !strings.HasPrefix(id, "size=") {
			t.Errorf("%s: identity %q", p, id)
		}
	}
}
