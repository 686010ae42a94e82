package gen

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/medflow/medflow/pipeline"
)

// RegisterDiscard adds the discard sink to r.
func RegisterDiscard(r *pipeline.Registry) error {
	return r.Register(pipeline.Definition{
		Kind: "discard", Role: pipeline.RoleSink, Version: "1", MinInputs: 1, MaxInputs: -1,
		Doc: "drop every batch (benchmarks, dry runs); the engine still counts rows",
		New: func(*pipeline.BuildContext) (pipeline.Stage, error) { return Discard{}, nil },
	})
}

// Discard is the discard sink.
type Discard struct{}

func (Discard) Schema() *arrow.Schema                            { return nil }
func (Discard) Consume(context.Context, arrow.RecordBatch) error { return nil }
func (Discard) Close(context.Context) error                      { return nil }
func (Discard) Abort()                                           {}
