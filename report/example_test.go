package report_test

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/internal/runrecord"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/report"
)

// Build the report of a recorded run; stages without evaluation or curve
// artifacts appear in the DAG and the stage table only.
func ExampleBuild() {
	rec := runrecord.Record{ID: "20260101T000000.000Z-abcdef", Variant: "demo", Status: "succeeded", Stages: []runrecord.Stage{
		{Name: "read", Kind: "files.read", Fingerprint: "f1", Decision: "compute", State: "done", RowsOut: 10},
		{Name: "write", Kind: "files.write", Inputs: []string{"read"}, Fingerprint: "f2", Decision: "compute", State: "done", RowsIn: 10},
	}}
	r, err := report.Build(context.Background(), report.Input{Record: rec,
		Artifacts: func(string) pipeline.Artifacts { return pipeline.NewMemArtifacts() }}, memory.DefaultAllocator)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Release()
	fmt.Print(report.Mermaid(rec))
	fmt.Println(slices.Sorted(maps.Keys(r.Files())))
	// Output:
	// flowchart LR
	//   n0["read<br/>files.read<br/>compute"]
	//   n1["write<br/>files.write<br/>compute"]
	//   n0 --> n1
	// [plots/dag.svg report.html report.md]
}
