package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/internal/storetest"
	"github.com/medflow/medflow/connectors/objstore"
)

var (
	meta   = arrow.MetadataFrom(map[string]string{"medflow.stage": "test"})
	schema = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "study", Type: arrow.BinaryTypes.String},
	}, &meta)
)

func batch(mem memory.Allocator, start, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := start; i < start+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("s%d", i))
	}
	return b.NewRecordBatch()
}

// write writes batches of 100 rows totalling rows, without committing.
func write(t *testing.T, w *dataset.Writer, mem memory.Allocator, rows int) {
	t.Helper()
	for i := 0; i < rows; i += 100 {
		rec := batch(mem, i, min(100, rows-i))
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readIDs reads the whole dataset and returns the ids in order.
func readIDs(t *testing.T, d *dataset.Dataset, mem memory.Allocator) []int64 {
	t.Helper()
	r := d.NewReader(t.Context(), mem, formats.ReaderOptions{BatchSize: 64})
	defer r.Release()
	var ids []int64
	for r.Next() {
		ids = append(ids, r.RecordBatch().Column(0).(*array.Int64).Int64Values()...)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestCommitAndRead(t *testing.T) {
	tests := []struct {
		format  formats.Format
		rows    int
		perPart int64
		parts   int
	}{
		{formats.Parquet, 1000, 300, 4},
		{formats.IPC, 1000, 500, 2},
		{formats.Parquet, 0, 100, 0},
	}
	for name, store := range storetest.Stores(t) {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%s/%d", name, tc.format, tc.rows), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				ctx := t.Context()
				prefix := fmt.Sprintf("ds/%s-%d", tc.format, tc.rows)
				w, err := dataset.NewWriter(ctx, store, prefix, schema, mem, dataset.WriterOptions{Format: tc.format, MaxRowsPerPart: tc.perPart})
				if err != nil {
					t.Fatal(err)
				}
				write(t, w, mem, tc.rows)
				if _, err := dataset.Open(ctx, store, prefix); !errors.Is(err, dataset.ErrNotCommitted) {
					t.Fatalf("open before commit: %v", err)
				}
				m, err := w.Commit()
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Parts) != tc.parts || m.Rows != int64(tc.rows) {
					t.Fatalf("manifest: %d parts %d rows", len(m.Parts), m.Rows)
				}
				d, err := dataset.Open(ctx, store, prefix)
				if err != nil {
					t.Fatal(err)
				}
				if !d.Schema().Equal(schema) || d.Manifest().SchemaFingerprint != m.SchemaFingerprint {
					t.Fatalf("schema %v fingerprint %s", d.Schema(), d.Manifest().SchemaFingerprint)
				}
				for epoch := range 2 {
					ids := readIDs(t, d, mem)
					if len(ids) != tc.rows {
						t.Fatalf("epoch %d: %d rows", epoch, len(ids))
					}
					for i, id := range ids {
						if id != int64(i) {
							t.Fatalf("epoch %d: row %d has id %d: parts out of order", epoch, i, id)
						}
					}
				}
			})
		}
	}
}

func TestLeftoversAndOverwrite(t *testing.T) {
	for name, store := range storetest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := t.Context()
			// A crashed run: parts, no manifest (its context ends, as its
			// process would).
			crashCtx, crash := context.WithCancel(ctx)
			crashed, err := dataset.NewWriter(crashCtx, store, "out", schema, mem, dataset.WriterOptions{MaxRowsPerPart: 100})
			if err != nil {
				t.Fatal(err)
			}
			write(t, crashed, mem, 500)
			crash()
			if _, err := dataset.Open(ctx, store, "out"); !errors.Is(err, dataset.ErrNotCommitted) {
				t.Fatalf("crashed run visible: %v", err)
			}
			// The rerun writes fewer parts; its commit deletes the leftover
			// part-00002..4.
			w, err := dataset.NewWriter(ctx, store, "out", schema, mem, dataset.WriterOptions{MaxRowsPerPart: 100})
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, mem, 200)
			if _, err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			infos, _ := store.List(ctx, "out/")
			if len(infos) != 3 {
				t.Fatalf("want 2 parts + manifest in the store, got %d", len(infos))
			}
			d, err := dataset.Open(ctx, store, "out")
			if err != nil {
				t.Fatal(err)
			}
			if ids := readIDs(t, d, mem); len(ids) != 200 {
				t.Fatalf("read %d rows, want 200: leftover parts were read", len(ids))
			}
			// Re-writing a committed dataset needs Overwrite.
			if _, err := dataset.NewWriter(ctx, store, "out", schema, mem, dataset.WriterOptions{}); !errors.Is(err, dataset.ErrExists) {
				t.Fatalf("second writer: %v", err)
			}
			w, err = dataset.NewWriter(ctx, store, "out", schema, mem, dataset.WriterOptions{Overwrite: true})
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, mem, 300)
			if d, err = dataset.Open(ctx, store, "out"); err != nil {
				t.Fatalf("the committed dataset went away while being overwritten: %v", err)
			}
			if ids := readIDs(t, d, mem); len(ids) != 200 {
				t.Fatalf("read %d rows while being overwritten, want the committed 200", len(ids))
			}
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			if ids := readIDs(t, d, mem); len(ids) != 200 {
				t.Fatalf("read %d rows after an aborted overwrite, want the committed 200", len(ids))
			}
		})
	}
}

func TestChangedPartDetected(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	store := storetest.Local(t)
	ctx := t.Context()
	w, err := dataset.NewWriter(ctx, store, "", schema, mem, dataset.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, mem, 10)
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := objstore.PutBytes(ctx, store, dataset.PartName(0, formats.Parquet), []byte("clobbered")); err != nil {
		t.Fatal(err)
	}
	d, err := dataset.Open(ctx, store, "")
	if err != nil {
		t.Fatal(err)
	}
	r := d.NewReader(ctx, mem, formats.ReaderOptions{})
	defer r.Release()
	for r.Next() {
	}
	if r.Err() == nil {
		t.Fatal("reading a clobbered part succeeded")
	}
}
