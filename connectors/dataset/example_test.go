package dataset_test

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
)

func Example() {
	dir, _ := os.MkdirTemp("", "medflow-dataset-")
	defer os.RemoveAll(dir)
	store, _ := local.New(dir)
	ctx, mem := context.Background(), memory.NewGoAllocator()

	w, _ := dataset.NewWriter(ctx, store, "pairs", schema, mem, dataset.WriterOptions{MaxRowsPerPart: 2})
	for i := range 3 {
		rec := batch(mem, i*2, 2)
		_ = w.Write(rec)
		rec.Release()
	}
	m, err := w.Commit()
	if err != nil {
		panic(err)
	}
	for _, p := range m.Parts {
		fmt.Println(p.Key, p.Rows)
	}

	d, _ := dataset.Open(ctx, store, "pairs")
	r := d.NewReader(ctx, mem, formats.ReaderOptions{})
	defer r.Release()
	var rows int64
	for r.Next() {
		rows += r.RecordBatch().NumRows()
	}
	fmt.Println("rows:", rows)
	// Output:
	// part-00000.parquet 2
	// part-00001.parquet 2
	// part-00002.parquet 2
	// rows: 6
}
