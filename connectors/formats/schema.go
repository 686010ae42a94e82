package formats

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// cleanSchema drops the keys Parquet adds to top-level field and schema
// metadata.
func cleanSchema(sc *arrow.Schema) *arrow.Schema {
	fields := sc.Fields()
	for i := range fields {
		fields[i].Metadata = dropKeys(fields[i].Metadata)
	}
	md := dropKeys(sc.Metadata())
	return arrow.NewSchema(fields, &md)
}

func dropKeys(md arrow.Metadata) arrow.Metadata {
	var keys, vals []string
	for i, k := range md.Keys() {
		if !strings.HasPrefix(k, "PARQUET:") && k != "ARROW:schema" {
			keys, vals = append(keys, k), append(vals, md.Values()[i])
		}
	}
	return arrow.NewMetadata(keys, vals)
}

func typesEqual(a, b *arrow.Schema) bool {
	for i, f := range a.Fields() {
		if !arrow.TypeEqual(f.Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}

// sameLayout reports whether two schemas have the same fields with the
// same physical layout, differing at most in names and metadata of nested
// fields, so that data of one can be re-labelled with the other.
func sameLayout(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i, f := range a.Fields() {
		if f.Name != b.Field(i).Name || !layoutEqual(f.Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}

func layoutEqual(a, b arrow.DataType) bool {
	if a.ID() != b.ID() {
		return false
	}
	na, okA := a.(arrow.NestedType)
	nb, okB := b.(arrow.NestedType)
	if !okA || !okB {
		return okA == okB && arrow.TypeEqual(a, b)
	}
	fa, fb := na.Fields(), nb.Fields()
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if !layoutEqual(fa[i].Type, fb[i].Type) {
			return false
		}
	}
	return true
}

// relabel returns arr's data viewed as type t (same layout, see
// sameLayout). The caller releases the result.
func relabel(arr arrow.Array, t arrow.DataType) arrow.Array {
	d := relabelData(arr.Data(), t)
	defer d.Release()
	return array.MakeFromData(d)
}

func relabelData(d arrow.ArrayData, t arrow.DataType) arrow.ArrayData {
	var children []arrow.ArrayData
	if nt, ok := t.(arrow.NestedType); ok {
		for i, c := range d.Children() {
			children = append(children, relabelData(c, nt.Fields()[i].Type))
		}
	}
	out := array.NewData(t, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
	for _, c := range children {
		c.Release()
	}
	return out
}
