package mimic_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/medflow/medflow/mimic/mimictest"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages/mimic"
)

// show prints study, view and report text of the rows it receives.
type show struct{}

func (show) Schema() *arrow.Schema       { return nil }
func (show) Close(context.Context) error { return nil }
func (show) Abort()                      {}
func (show) Consume(_ context.Context, b arrow.RecordBatch) error {
	s := b.Schema()
	study := b.Column(s.FieldIndices("study_id")[0]).(*array.Int64)
	view := b.Column(s.FieldIndices("view")[0]).(*array.String)
	text := b.Column(s.FieldIndices("report_text")[0]).(*array.String)
	for i := range int(b.NumRows()) {
		fmt.Println(study.Value(i), view.Value(i), text.Value(i))
	}
	return nil
}

func Example() {
	dir, _ := os.MkdirTemp("", "mimic-example")
	defer os.RemoveAll(dir)
	tree, _ := mimictest.Generate(mimictest.Config{Studies: 3, Images: 4, Reports: true, Gzip: true})
	if err := tree.WriteDir(dir); err != nil {
		panic(err)
	}

	reg := pipeline.NewRegistry()
	if err := mimic.Register(reg, deps()); err != nil {
		panic(err)
	}
	reg.MustRegister(pipeline.Definition{Kind: "show", Doc: "test kind", Role: pipeline.RoleSink,
		New: func(*pipeline.BuildContext) (pipeline.Stage, error) { return show{}, nil }})
	plan, err := reg.Plan(pipeline.Spec{Variant: "example", Stages: []pipeline.StageSpec{
		{Name: "index", Kind: "mimic.index", Params: map[string]any{"root": dir, "uncertain": "ignore"}},
		{Name: "reports", Kind: "report.sections", Inputs: []string{"index"}, Params: map[string]any{"root": dir}},
		{Name: "show", Kind: "show", Inputs: []string{"reports"}},
	}}, pipeline.PlanOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	if err := plan.NewRun(pipeline.RunOptions{}).Execute(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// 50000011 PA The lungs are clear. There is no pleural effusion or pneumothorax. Heart size is normal. No acute cardiopulmonary process.
	// 50000011 PA The lungs are clear. There is no pleural effusion or pneumothorax. Heart size is normal. No acute cardiopulmonary process.
	// 50000048 PA Right IJ catheter tip in the mid SVC. No pneumothorax.
	// 50000085 AP Mild pulmonary vascular congestion. Small left effusion.
}
