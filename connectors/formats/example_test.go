package formats_test

import (
	"context"
	"fmt"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
)

func Example() {
	dir, _ := os.MkdirTemp("", "medflow-formats-")
	defer os.RemoveAll(dir)
	store, _ := local.New(dir)
	ctx, mem := context.Background(), memory.NewGoAllocator()

	schema := arrow.NewSchema([]arrow.Field{{Name: "study", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"s1", "s2", "s3"}, nil)
	rec := b.NewRecordBatch()
	b.Release()

	w, _ := formats.NewWriter(ctx, store, "studies.parquet", formats.Parquet, schema, mem, formats.WriterOptions{})
	_ = w.Write(rec)
	rec.Release()
	if err := w.Close(); err != nil { // the object appears here, complete
		panic(err)
	}

	r, _ := formats.NewReader(ctx, store, "studies.parquet", formats.Parquet, mem, formats.ReaderOptions{})
	defer r.Release()
	for r.Next() {
		fmt.Println(r.RecordBatch().NumRows(), r.RecordBatch().Column(0))
	}
	// Output: 3 ["s1" "s2" "s3"]
}
