package embed_test

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages/embed"
)

// idsSource declares a text.tokenize-like output; it is only planned here.
type idsSource struct{}

func (idsSource) Schema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "study_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "input_ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32), Nullable: true},
	}, nil)
}
func (idsSource) Produce(context.Context, pipeline.Emitter) error { return nil }

// Planning text.embed needs neither the model nor ONNX Runtime (both are
// opened when the first batch arrives): the output schema comes from the
// params, dim included.
func Example() {
	r := pipeline.NewRegistry()
	if err := embed.Register(r); err != nil {
		panic(err)
	}
	r.MustRegister(pipeline.Definition{Kind: "ids", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(*pipeline.BuildContext) (pipeline.Stage, error) { return idsSource{}, nil }})
	plan, err := r.Plan(pipeline.Spec{Variant: "example", Stages: []pipeline.StageSpec{
		{Name: "reports", Kind: "ids"},
		{Name: "embed", Kind: "text.embed", Inputs: []string{"reports"}, Params: map[string]any{
			"model": ".cache/models/llama-2-7b.onnx", "dim": 4096, "pooling": "mean", "normalize": true}},
	}}, pipeline.PlanOptions{})
	if err != nil {
		panic(err)
	}
	for _, n := range plan.Nodes {
		if n.Spec.Name == "embed" {
			fmt.Println(n.Stage.Schema())
		}
	}
	// Output:
	// schema:
	//   fields: 3
	//     - study_id: type=int64
	//     - input_ids: type=list<item: int32, nullable>, nullable
	//     - embedding: type=fixed_size_list<item: float32>[4096]
}
