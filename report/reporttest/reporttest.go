// Package reporttest runs a small but complete evaluation pipeline for
// tests of the report and of `medflow report`: synthetic predictions of two
// models evaluated by eval.labels and eval.summary, compared by
// eval.compare, and a stand-in training stage that stores a training curve
// artifact (schemas.CurveArtifact) as a training stage does. It returns the
// real run record (runrecord.New) of that run.
package reporttest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/stages/eval"
	"github.com/medflow/medflow/stages/eval/evaltest"
)

// CurveSteps is the number of train rows of the stand-in training curve;
// it also has one validate row per 10 steps.
const CurveSteps = 50

// Run runs the pipeline with a checked allocator (t fails on a leak),
// storing artifacts through arts, and returns the record of the run.
func Run(t testing.TB, arts func(fp string) pipeline.Artifacts) runrecord.Record {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	reg := pipeline.NewRegistry()
	for _, err := range []error{
		eval.Register(reg),
		evaltest.Register(reg, "test.predictions_a", evaltest.Synth(300, 1.5, 1), 128),
		evaltest.Register(reg, "test.predictions_b", evaltest.Synth(300, 2.5, 1), 128),
		reg.Register(pipeline.Definition{Kind: "test.train", Doc: "test kind", Role: pipeline.RoleSource, Version: "1",
			New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return &curveSource{b: b}, nil }}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	spec := pipeline.Spec{Variant: "compare", Stages: []pipeline.StageSpec{
		{Name: "train", Kind: "test.train"},
		{Name: "pred_a", Kind: "test.predictions_a"},
		{Name: "pred_b", Kind: "test.predictions_b"},
		{Name: "labels_a", Kind: eval.KindLabels, Inputs: []string{"pred_a"}, Params: map[string]any{"model": "mae"}},
		{Name: "summary_a", Kind: eval.KindSummary, Inputs: []string{"pred_a"}, Params: map[string]any{"model": "mae", "bootstrap": 100}},
		{Name: "summary_b", Kind: eval.KindSummary, Inputs: []string{"pred_b"}, Params: map[string]any{"model": "contrastive", "bootstrap": 100}},
		{Name: "table1", Kind: eval.KindCompare, Inputs: []string{"summary_a", "summary_b"}},
	}}
	plan, err := reg.Plan(spec, pipeline.PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	run := plan.NewRun(pipeline.RunOptions{SpillDir: t.TempDir(), Artifacts: arts})
	start := time.Now()
	err = run.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return runrecord.New(runrecord.NewID(start), "pipelines.yaml", "test", plan, run, start, time.Now(), err)
}

// curveSource stores a decaying loss curve as an Arrow IPC file artifact
// and emits it.
type curveSource struct{ b *pipeline.BuildContext }

func (c *curveSource) Schema() *arrow.Schema { return schemas.TrainingCurve }

func (c *curveSource) Produce(ctx context.Context, out pipeline.Emitter) error {
	bld := array.NewRecordBuilder(c.b.Alloc, schemas.TrainingCurve)
	defer bld.Release()
	add := func(step int64, split string, loss float64) {
		bld.Field(0).(*array.Int64Builder).Append(step)
		bld.Field(1).(*array.Int32Builder).Append(int32(step / 10))
		bld.Field(2).(*array.StringBuilder).Append(split)
		bld.Field(3).(*array.Float32Builder).Append(float32(loss))
		for f := 4; f < 7; f++ {
			bld.Field(f).(*array.Float32Builder).Append(0)
		}
	}
	for s := int64(1); s <= CurveSteps; s++ {
		add(s, "train", 0.2+2*math.Exp(-float64(s)/8))
		if s%10 == 0 {
			add(s, "validate", 0.3+2*math.Exp(-float64(s)/8))
		}
	}
	rec := bld.NewRecordBatch()
	data, err := formats.Encode(rec, formats.IPC, c.b.Alloc, "")
	if err == nil {
		err = c.b.Artifacts.Put(ctx, schemas.CurveArtifact, data)
	}
	if err != nil {
		rec.Release()
		return err
	}
	return out.Emit(ctx, rec)
}
