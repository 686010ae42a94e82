package pipeline_test

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
)

var numbers = arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)

// count emits 1..to in one batch.
type count struct {
	to    int64
	alloc memory.Allocator
}

func (c *count) Schema() *arrow.Schema { return numbers }
func (c *count) Produce(ctx context.Context, out pipeline.Emitter) error {
	b := array.NewInt64Builder(c.alloc)
	defer b.Release()
	for i := int64(1); i <= c.to; i++ {
		b.Append(i)
	}
	col := b.NewArray()
	defer col.Release()
	return out.Emit(ctx, array.NewRecordBatch(numbers, []arrow.Array{col}, c.to))
}

// sum prints the sum of its input when the run ends.
type sum struct{ total int64 }

func (s *sum) Schema() *arrow.Schema { return nil }
func (s *sum) Consume(_ context.Context, b arrow.RecordBatch) error {
	for _, v := range b.Column(0).(*array.Int64).Int64Values() {
		s.total += v
	}
	return nil
}
func (s *sum) Close(context.Context) error { fmt.Println("sum:", s.total); return nil }
func (s *sum) Abort()                      {}

func Example() {
	reg := pipeline.NewRegistry()
	reg.MustRegister(pipeline.Definition{
		Kind: "count", Role: pipeline.RoleSource, Doc: "emits 1..to",
		Params: []pipeline.Param{{Name: "to", Type: pipeline.Int, Required: true, Range: "[1,)", Doc: "last number emitted"}},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &count{to: int64(b.Params.Int("to")), alloc: b.Alloc}, nil
		},
	})
	reg.MustRegister(pipeline.Definition{
		Kind: "sum", Role: pipeline.RoleSink, Doc: "prints the sum of its input",
		New: func(*pipeline.BuildContext) (pipeline.Stage, error) { return &sum{}, nil },
	})

	spec := pipeline.Spec{Variant: "example", Stages: []pipeline.StageSpec{
		{Name: "numbers", Kind: "count", Params: map[string]any{"to": 100}},
		{Name: "total", Kind: "sum", Inputs: []string{"numbers"}},
	}}
	plan, err := reg.Plan(spec, pipeline.PlanOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := plan.NewRun(pipeline.RunOptions{}).Execute(context.Background()); err != nil {
		fmt.Println(err)
	}
	plan.WriteMermaid(os.Stdout)

	// A typo is caught at plan time, naming variant, stage and key.
	spec.Stages[1].Inputs = []string{"numbrs"}
	_, err = reg.Plan(spec, pipeline.PlanOptions{})
	fmt.Println(err)
	// Output:
	// sum: 5050
	// flowchart LR
	//   s0[("numbers<br/>count")]
	//   s1[/"total<br/>sum"/]
	//   s0 --> s1
	// variant "example": stage "total": key "inputs": missing input "numbrs" (did you mean "numbers"?)
}
