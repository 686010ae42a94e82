package badinput_test

import (
	"github.com/medflow/medflow/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medflow/medflow/onnx/graph"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
)

const embedDim = 4

// wrongInputModel writes an ONNX encoder with text.embed's output
// (last_hidden_state float32 [batch, seq, D]) but an input named "ids"
// instead of "input_ids".
func wrongInputModel(t *testing.T) string {
	t.Helper()
	g := graph.New("wrong-input")
	ids, err := g.Input("ids", graph.Int64, graph.Sym("batch"), graph.Sym("seq"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Input("attention_mask", graph.Int64, graph.Sym("batch"), graph.Sym("seq")); err != nil {
		t.Fatal(err)
	}
	w, err := g.Float32("W", []int64{1, embedDim}, []float32{0.5, -1, 2, 0.25})
	if err != nil {
		t.Fatal(err)
	}
	y := g.MatMul(g.Unsqueeze(g.Cast(ids, graph.Float32), 2), w)
	if err := g.Output(y, "last_hidden_state", graph.Float32, graph.Sym("batch"), graph.Sym("seq"), graph.D(embedDim)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wrong-input.onnx")
	if err := g.Model("medflow-badinput").Write(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBadModels runs the front end plus text.embed with broken ONNX
// models: the run must stop with an error naming the stage and the model
// file (and, for a contract violation, the expected input).
func TestBadModels(t *testing.T) {
	testenv.ORTLibrary(t)
	var sum summary
	for _, tc := range []struct {
		kind  string
		model func(t *testing.T, e *env) string
		want  []string
	}{
		{kind: "ONNX model that is not a protobuf", model: func(t *testing.T, e *env) string {
			p := filepath.Join(t.TempDir(), "junk.onnx")
			if err := os.WriteFile(p, []byte("\x08\x07\xff\xffdefinitely not an ONNX model"), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, want: []string{"junk.onnx", `stage "embed"`}},
		{kind: "zero-byte ONNX model", model: func(t *testing.T, e *env) string {
			p := filepath.Join(t.TempDir(), "empty.onnx")
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, want: []string{"empty.onnx", `stage "embed"`}},
		{kind: "ONNX model with the wrong input name", model: func(t *testing.T, e *env) string { return wrongInputModel(t) },
			want: []string{"wrong-input.onnx", `stage "embed"`, "input_ids"}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			e := newEnv(t, "mimic")
			reg := caseRegistry(t, e)
			model := tc.model(t, e)
			specs := append(e.frontEnd(nil),
				pt.Stage("embed", "text.embed", []string{"tokenize"}, map[string]any{"model": model, "dim": embedDim}),
				pt.Stage("embeddings", "test.collect", []string{"embed"}, nil))
			_, err := pt.Run(t, reg, pipeline.PlanOptions{Logger: quiet}, specs...)
			if err == nil {
				t.Fatalf("the run succeeded with %s", model)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			sum.add(tc.kind, "error: "+firstLine(strings.ReplaceAll(err.Error(), filepath.Dir(model), "<tmp>")))
		})
	}
	sum.log(t, "bad-input model cases")
}
