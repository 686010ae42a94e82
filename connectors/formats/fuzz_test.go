package formats_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
)

// fuzzSchema is the fixed schema FuzzCSVReader reads with (one column of
// each kind of parser: integer, float, string, bool).
var fuzzSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "report", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// lineRe matches the ways a CSV error says where it is.
var lineRe = regexp.MustCompile(`line \d+`)

// FuzzCSVReader reads random bytes as a CSV object, with the fixed schema
// and with type inference, in small batches. It must never panic, must
// release every buffer (checked allocator), and every error must name the
// store, the key and the line.
//
//	go test ./connectors/formats -run '^$' -fuzz FuzzCSVReader -fuzztime 60s
func FuzzCSVReader(f *testing.F) {
	for _, seed := range []string{
		"id,score,report,ok\n1,0.5,lungs clear,true\n2,,\"quoted, comma\",false\n",
		"id,score,report,ok\n1,2,x\n",
		"id,score,report,ok\n1,2,\"x,true\n",
		"\ufeffid,score,report,ok\n1,1e3,\"multi\nline\",TRUE\n",
		"id;score;report;ok\n1;2;x;true\n",
		"id,score,report,ok\n",
		"",
		"id,score,report,ok\n1,NaN,x,1\n2,inf,y,0\n3,zz,z,maybe\n",
		"id,score,report,ok\r\n1,2,x,true\r\n",
	} {
		f.Add([]byte(seed), uint8(2))
	}
	dir := f.TempDir()
	store, err := local.New(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, batch uint8) {
		const key = "fuzz/in.csv"
		if err := objstore.PutBytes(t.Context(), store, key, data); err != nil {
			t.Fatal(err)
		}
		for _, schema := range []*arrow.Schema{fuzzSchema, nil} {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			rows, err := readAll(t, store, key, schema, int64(batch%16)+1, mem)
			mem.AssertSize(t, 0)
			if err == nil {
				if rows < 0 {
					t.Fatalf("schema %v: %d rows", schema != nil, rows)
				}
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, key) || !strings.Contains(msg, dir) {
				t.Fatalf("schema %v: error does not name the store and key: %v", schema != nil, err)
			}
			if !lineRe.MatchString(msg) {
				t.Fatalf("schema %v: error does not name the line: %v", schema != nil, err)
			}
		}
	})
}

// readAll reads every batch of key, returning the row count or the first
// error, and releases the reader.
func readAll(t *testing.T, store objstore.Store, key string, schema *arrow.Schema, batch int64, mem memory.Allocator) (int64, error) {
	r, err := formats.NewReader(t.Context(), store, key, formats.CSV, mem, formats.ReaderOptions{Schema: schema, BatchSize: batch})
	if err != nil {
		return 0, err
	}
	defer r.Release()
	var rows int64
	for r.Next() {
		b := r.RecordBatch()
		if got := b.NumCols(); got != int64(r.Schema().NumFields()) {
			t.Fatalf("batch has %d columns, schema %d", got, r.Schema().NumFields())
		}
		rows += b.NumRows()
	}
	return rows, r.Err()
}

// partSchema has one column of each layout a part holds: fixed width,
// nullable variable width (offsets), and a list (nested offsets).
var partSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "text", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "vec", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
}, nil)

// partBytes encodes rows of partSchema in format f, as a Writer would.
func partBytes(f *testing.F, format formats.Format, rows int) []byte {
	f.Helper()
	store, err := local.New(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	w, err := formats.NewWriter(context.Background(), store, "part"+format.Ext(), format, partSchema, mem, formats.WriterOptions{})
	if err != nil {
		f.Fatal(err)
	}
	b := array.NewRecordBuilder(mem, partSchema)
	defer b.Release()
	for i := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%5 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", i%17))
		}
		lb := b.Field(2).(*array.ListBuilder)
		lb.Append(true)
		for k := range i % 4 {
			lb.ValueBuilder().(*array.Float32Builder).Append(float32(k))
		}
		if i%50 == 49 {
			rec := b.NewRecordBatch()
			if err := w.Write(rec); err != nil {
				f.Fatal(err)
			}
			rec.Release()
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	data, err := objstore.ReadAll(context.Background(), store, "part"+format.Ext())
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// dataEnd returns where the metadata trailer of a part starts: the
// footer of an IPC file, the FileMetaData of a Parquet file.
func dataEnd(format formats.Format, b []byte) int {
	n := 8 // Parquet: <metadata><uint32 length>"PAR1"
	if format == formats.IPC {
		n = 10 // IPC: <footer><int32 length>"ARROW1"
	}
	if len(b) < n {
		return 0
	}
	return max(0, len(b)-n-int(binary.LittleEndian.Uint32(b[len(b)-n:])))
}

// fuzzPart flips bits of a valid part of format and reads it, touching
// every value of every batch as a downstream stage would: a damaged part
// must give an error naming the store and key, never a panic, a hang or
// a batch that panics its reader. The seeds flip one bit at offsets
// spread over the data (they run as a plain test).
//
// Bits are flipped before the metadata trailer only: arrow-go trusts the
// lengths in an IPC footer and in the Arrow schema a Parquet footer
// carries, and a damaged one can make it allocate terabytes (a fatal
// out-of-memory, which no recover catches). Committed parts are checked
// against their checksums before they are decoded, so that reaches only
// files read without a manifest (see README, Reliability).
func fuzzPart(f *testing.F, format formats.Format) {
	good := partBytes(f, format, 200)
	end := dataEnd(format, good)
	for i := range 40 {
		f.Add(uint32(end*i/40), uint8(1<<(i%8)))
	}
	dir := f.TempDir()
	store, err := local.New(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, off uint32, mask uint8) {
		data := bytes.Clone(good)
		data[int(off)%end] ^= mask
		key := "fuzz/part" + format.Ext()
		if err := objstore.PutBytes(t.Context(), store, key, data); err != nil {
			t.Fatal(err)
		}
		r, err := formats.NewReader(t.Context(), store, key, format, memory.NewGoAllocator(), formats.ReaderOptions{BatchSize: 64})
		if err == nil {
			for r.Next() {
				for _, col := range r.RecordBatch().Columns() {
					for i := range col.Len() {
						_ = col.ValueStr(i)
					}
				}
			}
			err = r.Err()
			r.Release()
		}
		if err != nil && (!strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), dir)) {
			t.Fatalf("error does not name the store and key: %v", err)
		}
	})
}

// FuzzIPCReader: damaged Arrow IPC parts (a cached stage output, say)
// never panic, in the reader or in whoever reads the batches.
//
//	go test ./connectors/formats -run '^$' -fuzz FuzzIPCReader -fuzztime 60s
func FuzzIPCReader(f *testing.F) { fuzzPart(f, formats.IPC) }

// FuzzParquetReader is FuzzIPCReader for Parquet parts.
//
//	go test ./connectors/formats -run '^$' -fuzz FuzzParquetReader -fuzztime 60s
func FuzzParquetReader(f *testing.F) { fuzzPart(f, formats.Parquet) }
