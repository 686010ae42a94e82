package stages

import (
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages/aggregate"
	"github.com/medflow/medflow/stages/columns"
	"github.com/medflow/medflow/stages/embed"
	evalstages "github.com/medflow/medflow/stages/eval"
	"github.com/medflow/medflow/stages/files"
	"github.com/medflow/medflow/stages/gen"
	imagestage "github.com/medflow/medflow/stages/image"
	"github.com/medflow/medflow/stages/join"
	mimicstages "github.com/medflow/medflow/stages/mimic"
	"github.com/medflow/medflow/stages/stagekit"
	"github.com/medflow/medflow/stages/text"
	trainstages "github.com/medflow/medflow/stages/train"
)

// Deps are what stage kinds need from the outside world.
type Deps = stagekit.Deps

// Register adds every kind to r.
func Register(r *pipeline.Registry, d Deps) error {
	for _, reg := range []func(*pipeline.Registry) error{
		gen.Register,
		gen.RegisterDiscard,
		columns.Register,
		aggregate.Register,
		join.Register,
		evalstages.Register,
		embed.Register,
		trainstages.Register,
		text.Register,
		func(r *pipeline.Registry) error { return files.Register(r, d) },
		func(r *pipeline.Registry) error { return mimicstages.Register(r, d) },
		func(r *pipeline.Registry) error { return imagestage.Register(r, d) },
	} {
		if err := reg(r); err != nil {
			return err
		}
	}
	return nil
}

// NewRegistry returns a registry holding every kind.
func NewRegistry(d Deps) (*pipeline.Registry, error) {
	r := pipeline.NewRegistry()
	return r, Register(r, d)
}
