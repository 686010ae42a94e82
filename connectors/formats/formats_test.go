package formats_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/internal/storetest"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
)

func stores(t *testing.T) map[string]objstore.Store { return storetest.Stores(t) }

var (
	flatSchema = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "report", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	nestedSchema = arrow.NewSchema(append(flatSchema.Fields(),
		arrow.Field{Name: "embedding", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
		arrow.Field{Name: "image", Type: arrow.BinaryTypes.Binary, Nullable: true},
	), nil)
)

// makeBatch builds n deterministic rows starting at id start.
func makeBatch(mem memory.Allocator, schema *arrow.Schema, start, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := start; i < start+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%7 == 3 {
			b.Field(1).AppendNull()
			b.Field(2).AppendNull()
		} else {
			b.Field(1).(*array.Float64Builder).Append(float64(i) / 8)
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("report %d: lungs clear, ünïcødé, \"quoted\", comma", i))
		}
		b.Field(3).(*array.BooleanBuilder).Append(i%2 == 0)
		if schema.NumFields() > 4 {
			lb := b.Field(4).(*array.ListBuilder)
			lb.Append(true)
			for j := range 3 {
				lb.ValueBuilder().(*array.Float32Builder).Append(float32(i*10 + j))
			}
			b.Field(5).(*array.BinaryBuilder).Append([]byte{byte(i), 0, 255})
		}
	}
	return b.NewRecordBatch()
}

// collect concatenates every batch of r into one.
func collect(t *testing.T, mem memory.Allocator, r array.RecordReader) arrow.RecordBatch {
	t.Helper()
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	cols := make([]arrow.Array, r.Schema().NumFields())
	var rows int64
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, rec := range recs {
			parts[j] = rec.Column(i)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			t.Fatal(err)
		}
		defer col.Release()
		cols[i] = col
		rows = int64(col.Len())
	}
	return array.NewRecordBatch(r.Schema(), cols, rows)
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		format formats.Format
		schema *arrow.Schema
		opts   formats.WriterOptions
	}{
		{formats.IPC, nestedSchema, formats.WriterOptions{}},
		{formats.IPC, nestedSchema, formats.WriterOptions{Compression: formats.Zstd}},
		{formats.Parquet, nestedSchema, formats.WriterOptions{}},
		{formats.Parquet, nestedSchema, formats.WriterOptions{Compression: formats.Snappy}},
		{formats.CSV, flatSchema, formats.WriterOptions{}},
	}
	for name, store := range stores(t) {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%s/%s", name, tc.format, tc.opts.Compression), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				ctx := t.Context()
				key := "rt/data-" + string(tc.opts.Compression) + tc.format.Ext()
				w, err := formats.NewWriter(ctx, store, key, tc.format, tc.schema, mem, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Abort() // no-op after Close; removes the temp file on failure
				want := makeBatch(mem, tc.schema, 0, 2500)
				defer want.Release()
				for off := int64(0); off < want.NumRows(); off += 1000 {
					part := want.NewSlice(off, min(off+1000, want.NumRows()))
					err := w.Write(part)
					part.Release()
					if err != nil {
						t.Fatal(err)
					}
				}
				if _, err := store.Stat(ctx, key); !errors.Is(err, objstore.ErrNotFound) {
					t.Fatalf("object visible before Close: %v", err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if w.Rows() != 2500 || w.Size() <= 0 {
					t.Fatalf("rows %d size %d", w.Rows(), w.Size())
				}
				r, err := formats.NewReader(ctx, store, key, tc.format, mem, formats.ReaderOptions{BatchSize: 700, Schema: tc.schema})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Release()
				got := collect(t, mem, r)
				defer got.Release()
				if tc.format != formats.CSV && !got.Schema().Equal(want.Schema()) {
					t.Fatalf("schema differs:\ngot  %v\nwant %v", got.Schema(), want.Schema())
				}
				if !array.RecordEqual(got, want) {
					t.Fatalf("round trip differs:\ngot  %v\nwant %v", got.Schema(), want.Schema())
				}
			})
		}
	}
}

func TestCSVInference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	csv := "id,score,name,flag\n1,0.5,a b,true\n2,1.5,ü,false\n3,,c,true\n"
	if err := objstore.PutBytes(t.Context(), s, "x.csv", []byte(csv)); err != nil {
		t.Fatal(err)
	}
	r, err := formats.NewReader(t.Context(), s, "x.csv", formats.CSV, mem, formats.ReaderOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if r.Schema() == nil || r.Schema().NumFields() != 4 {
		t.Fatalf("inferred schema not available before Next: %v", r.Schema())
	}
	got := collect(t, mem, r)
	defer got.Release()
	wantTypes := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String, arrow.FixedWidthTypes.Boolean}
	for i, f := range got.Schema().Fields() {
		if !arrow.TypeEqual(f.Type, wantTypes[i]) {
			t.Errorf("column %s inferred as %s, want %s", f.Name, f.Type, wantTypes[i])
		}
	}
	if got.NumRows() != 3 || !got.Column(1).IsNull(2) {
		t.Errorf("rows %d, null score %v", got.NumRows(), got.Column(1).IsNull(2))
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			for _, f := range []formats.Format{formats.IPC, formats.Parquet, formats.CSV} {
				w, err := formats.NewWriter(t.Context(), store, "aborted"+f.Ext(), f, flatSchema, mem, formats.WriterOptions{})
				if err != nil {
					t.Fatal(err)
				}
				rec := makeBatch(mem, flatSchema, 0, 10)
				if err := w.Write(rec); err != nil {
					t.Fatal(err)
				}
				rec.Release()
				if err := w.Abort(); err != nil {
					t.Fatal(err)
				}
			}
			if infos, err := store.List(t.Context(), ""); err != nil || len(infos) != 0 {
				t.Fatalf("after abort: %v %v", infos, err)
			}
		})
	}
}

func TestErrorsNameStoreAndKey(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := t.Context()
			if err := objstore.PutBytes(ctx, store, "bad/garbage.parquet", []byte("this is not parquet at all")); err != nil {
				t.Fatal(err)
			}
			if err := objstore.PutBytes(ctx, store, "bad/garbage.arrow", []byte("nor arrow")); err != nil {
				t.Fatal(err)
			}
			if err := objstore.PutBytes(ctx, store, "bad/ragged.csv", []byte("id,score,report,ok\n1,2,x,true\nnot-a-number,1,y,false\n")); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				key    string
				format formats.Format
				want   error
			}{
				{"bad/garbage.parquet", formats.Parquet, nil},
				{"bad/garbage.arrow", formats.IPC, nil},
				{"bad/ragged.csv", formats.CSV, nil},
				{"bad/missing.parquet", formats.Parquet, objstore.ErrNotFound},
				{"bad/missing.csv", formats.CSV, objstore.ErrNotFound},
			}
			for _, tc := range tests {
				r, err := formats.NewReader(ctx, store, tc.key, tc.format, mem, formats.ReaderOptions{Schema: flatSchema})
				if err == nil {
					for r.Next() {
					}
					err = r.Err()
					r.Release()
				}
				if err == nil {
					t.Errorf("%s: no error", tc.key)
					continue
				}
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Errorf("%s: got %v want %v", tc.key, err, tc.want)
				}
				if msg := err.Error(); !strings.Contains(msg, store.String()) || !strings.Contains(msg, tc.key) {
					t.Errorf("%s: error %q does not name store and key", tc.key, msg)
				}
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	tests := map[string]formats.Format{"a/b.parquet": formats.Parquet, "x.ARROW": formats.IPC, "y.feather": formats.IPC, "z.csv": formats.CSV, "n.txt": ""}
	for key, want := range tests {
		got, err := formats.FormatOf(key)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
}

// A bad CSV value must stop the reader: the batch holding it (where the
// value would be null) is never handed out.
func TestCSVBadValueStops(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	csv := "id,score\n1,0.5\n2,1.5\n3,oops\n4,2.5\n"
	if err := objstore.PutBytes(t.Context(), s, "bad.csv", []byte(csv)); err != nil {
		t.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "score", Type: arrow.PrimitiveTypes.Float64}}, nil)
	r, err := formats.NewReader(t.Context(), s, "bad.csv", formats.CSV, mem, formats.ReaderOptions{BatchSize: 2, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var rows int64
	for r.Next() {
		rows += r.RecordBatch().NumRows()
	}
	if rows != 2 {
		t.Errorf("handed out %d rows, want only the 2 of the good first batch", rows)
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "bad.csv") || !strings.Contains(err.Error(), "oops") {
		t.Errorf("err %v: want it to name the key and the bad value", err)
	}
}
