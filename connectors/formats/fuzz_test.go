package formats_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
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
