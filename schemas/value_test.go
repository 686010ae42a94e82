package schemas

import (
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestValue(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		name string
		typ  arrow.DataType
		json string
		want []any
	}{
		{"int64 with null", arrow.PrimitiveTypes.Int64, `[1, null, -3]`, []any{int64(1), nil, int64(-3)}},
		{"string", arrow.BinaryTypes.String, `["a", ""]`, []any{"a", ""}},
		{"list of int32", arrow.ListOf(arrow.PrimitiveTypes.Int32), `[[1, 2], [], null]`,
			[]any{[]any{int32(1), int32(2)}, []any{}, nil}},
		{"nested list", arrow.ListOf(arrow.ListOf(arrow.PrimitiveTypes.Float64)), `[[[0.5], null]]`,
			[]any{[]any{[]any{0.5}, nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _, err := array.FromJSON(mem, tc.typ, strings.NewReader(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Release()
			got := make([]any, a.Len())
			for i := range got {
				got[i] = Value(a, i)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}
