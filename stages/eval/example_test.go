package eval

import (
	"context"
	"fmt"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/pipeline/pipelinetest"
)

// Evaluate predictions per label and as a summary; each stage emits its
// table and stores it, with its plots, as artifacts.
func ExampleRegister() {
	reg := pipeline.NewRegistry()
	if err := Register(reg); err != nil {
		fmt.Println(err)
		return
	}
	registerPredictions(reg, "demo.predictions", handImages(), 4) // cxrschema.Predictions rows
	var res pipelinetest.Result
	pipelinetest.Register(reg, &res)
	plan, err := reg.Plan(pipeline.Spec{Variant: "demo", Stages: []pipeline.StageSpec{
		{Name: "pred", Kind: "demo.predictions"},
		{Name: "labels", Kind: KindLabels, Inputs: []string{"pred"}},
		{Name: "summary", Kind: KindSummary, Inputs: []string{"pred"}, Params: map[string]any{"bootstrap": 200}},
		{Name: "show", Kind: "test.collect", Inputs: []string{"summary"}},
	}}, pipeline.PlanOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	arts := map[string]*pipeline.MemArtifacts{}
	run := plan.NewRun(pipeline.RunOptions{Artifacts: func(fp string) pipeline.Artifacts {
		arts[fp] = pipeline.NewMemArtifacts()
		return arts[fp]
	}})
	if err := run.Execute(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("model %v: %v studies, mean AUC %.4f over %v labels, exact match %v (all-negative %v)\n",
		res.Column("show", "model")[0], res.Column("show", "n_studies")[0], res.Column("show", "mean_auc")[0],
		res.Column("show", "labels_in_mean")[0], res.Column("show", "exact_match")[0], res.Column("show", "exact_match_all_negative")[0])
	for _, n := range plan.Nodes {
		if n.Spec.Kind == KindLabels {
			names, _ := arts[n.Fingerprint].List(context.Background())
			fmt.Println(names)
		}
	}
	// Output:
	// model demo: 4 studies, mean AUC 0.9375 over 2 labels, exact match 0.5 (all-negative 0.25)
	// [labels.arrow labels.parquet predictions.arrow predictions.parquet roc.png roc.svg]
}
