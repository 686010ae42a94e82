package formats_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
)

func TestEncodeDecodeIPC(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	md := arrow.NewMetadata([]string{"rule"}, []string{"ties count half"})
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, &md)
	batch := func(vals ...int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		b.Field(0).(*array.Int64Builder).AppendValues(vals, nil)
		return b.NewRecordBatch()
	}
	one, two := batch(1, 2), batch(3)
	defer one.Release()
	defer two.Release()

	file, err := formats.Encode(one, formats.IPC, mem, "")
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer // two batches, stream format
	w := ipc.NewWriter(&stream, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := w.Write(one); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(two); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want []int64
	}{{"file", file, []int64{1, 2}}, {"stream of two batches", stream.Bytes(), []int64{1, 2, 3}}} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := formats.DecodeIPC(tc.data, mem)
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			got := rec.Column(0).(*array.Int64).Int64Values()
			if !slices.Equal(got, tc.want) || !rec.Schema().Equal(schema) || rec.Schema().Metadata().FindKey("rule") < 0 {
				t.Errorf("decoded %v with schema %s, want %v with the metadata", got, rec.Schema(), tc.want)
			}
		})
	}
	for _, f := range []formats.Format{formats.Parquet, formats.CSV} {
		data, err := formats.Encode(one, f, mem, "")
		if err != nil || len(data) == 0 {
			t.Errorf("Encode %s: %d bytes, %v", f, len(data), err)
		}
	}
	if _, err := formats.Encode(one, formats.Format("json"), mem, ""); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("Encode json: %v, want an unknown-format error", err)
	}
	if _, err := formats.DecodeIPC([]byte("not arrow"), mem); err == nil {
		t.Error("DecodeIPC of junk succeeded")
	}
}
