package formats_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
)

// TestCSVErrorsNameTheLine: every CSV failure names the key and the line
// (a value that does not parse is located to its line and column), and the
// inputs that made arrow/csv's inferring reader panic are handled.
func TestCSVErrorsNameTheLine(t *testing.T) {
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		data   string
		schema *arrow.Schema // nil: infer
		rows   int64         // rows read before the error (or in all)
		want   []string      // substrings of the error; none: no error
		is     error
	}{
		{name: "bad float, schema", data: "id,score,report,ok\n1,2,x,true\n2,zz,y,false\n", schema: fuzzSchema,
			want: []string{"line 3 (data row 2)", `column "score"`, `"zz"`}},
		{name: "bad bool in 2nd batch, schema", data: "id,score,report,ok\n1,2,x,true\n1,2,x,true\n1,2,\"a\nb\",true\n1,2,x,maybe\n",
			schema: fuzzSchema, rows: 2, want: []string{"line 6 (data row 4)", `column "ok"`, "maybe"}},
		{name: "bad int, inferred", data: "id,score\n1,2\n2,zz\n", want: []string{"line 3 (data row 2)", `column "score"`}},
		{name: "missing field", data: "id,score,report,ok\n1,2,x\n", schema: fuzzSchema, want: []string{"line 2", "wrong number of fields"}},
		{name: "missing field, inferred", data: "id,score,report,ok\n1,2,x\n", want: []string{"line 2", "wrong number of fields"}},
		{name: "header mismatch", data: "a,b\n1,2\n", schema: fuzzSchema, want: []string{"header (line 1)"}},
		{name: "empty, schema", data: "", schema: fuzzSchema, want: []string{"line 1", "empty"}, is: formats.ErrCSVHeader},
		{name: "empty, inferred", data: "", want: []string{"line 1", "empty"}, is: formats.ErrCSVHeader},
		{name: "header only, inferred", data: "id,score\n"},
		{name: "header only, schema", data: "id,score,report,ok\n", schema: fuzzSchema},
		{name: "good, inferred", data: "id,score\n1,2\n3,4\n5,6\n", rows: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "t/" + strings.ReplaceAll(tc.name, " ", "_") + ".csv"
			if err := objstore.PutBytes(t.Context(), store, key, []byte(tc.data)); err != nil {
				t.Fatal(err)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rows, err := readAll(t, store, key, tc.schema, 2, mem)
			if rows != tc.rows {
				t.Errorf("%d rows, want %d", rows, tc.rows)
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, key) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error is not %v: %v", tc.is, err)
			}
		})
	}
}
