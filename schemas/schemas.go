package schemas

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ErrMismatch is wrapped by every schema check failure.
var ErrMismatch = errors.New("schema mismatch")

// String renders a schema on one line: "a: int64, b: utf8?" (? = nullable).
func String(s *arrow.Schema) string {
	if s == nil {
		return "(none)"
	}
	parts := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		parts[i] = f.Name + ": " + f.Type.String()
		if f.Nullable {
			parts[i] += "?"
		}
	}
	return strings.Join(parts, ", ")
}

// Value returns element i of a as a Go value: nil for null, []any for
// lists (recursively), else what GetOneForMarshal gives (int64, float64,
// string, bool, ...).
func Value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	if l, ok := a.(array.ListLike); ok {
		start, end := l.ValueOffsets(i)
		vals := l.ListValues()
		out := make([]any, 0, end-start)
		for k := start; k < end; k++ {
			out = append(out, Value(vals, int(k)))
		}
		return out
	}
	switch v := a.GetOneForMarshal(i).(type) {
	case string: // copied: the value outlives the batch (pooled buffers)
		return strings.Clone(v)
	case []byte:
		return slices.Clone(v)
	default:
		return v
	}
}

// Require checks that s has every field of want with an identical type.
// Extra fields in s are fine. The error lists every missing or mistyped
// field.
func Require(s *arrow.Schema, want ...arrow.Field) error {
	var probs []string
	for _, w := range want {
		idx := s.FieldIndices(w.Name)
		if len(idx) == 0 {
			probs = append(probs, fmt.Sprintf("missing column %q (%s)", w.Name, w.Type))
			continue
		}
		if got := s.Field(idx[0]).Type; !arrow.TypeEqual(got, w.Type) {
			probs = append(probs, fmt.Sprintf("column %q is %s, want %s", w.Name, got, w.Type))
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s (input has: %s)", ErrMismatch, strings.Join(probs, "; "), String(s))
	}
	return nil
}

// AppendColumns returns in with add after its columns, keeping in's
// metadata: the output schema of a stage that adds columns to its input.
// A column in already has is a mismatch.
func AppendColumns(in *arrow.Schema, add ...arrow.Field) (*arrow.Schema, error) {
	for _, f := range add {
		if len(in.FieldIndices(f.Name)) > 0 {
			return nil, fmt.Errorf("%w: input already has a column %q", ErrMismatch, f.Name)
		}
	}
	md := in.Metadata()
	return arrow.NewSchema(append(in.Fields(), add...), &md), nil
}

// Column returns the index of the named column, which must have one of the
// given type IDs (any type when none are given).
func Column(s *arrow.Schema, name string, ids ...arrow.Type) (int, error) {
	idx := s.FieldIndices(name)
	if len(idx) == 0 {
		return -1, fmt.Errorf("%w: missing column %q (input has: %s)", ErrMismatch, name, String(s))
	}
	t := s.Field(idx[0]).Type
	if len(ids) == 0 {
		return idx[0], nil
	}
	for _, id := range ids {
		if t.ID() == id {
			return idx[0], nil
		}
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = strings.ToLower(id.String())
	}
	return -1, fmt.Errorf("%w: column %q is %s, want one of %s", ErrMismatch, name, t, strings.Join(names, ", "))
}

var typeNames = map[string]arrow.DataType{
	"bool": arrow.FixedWidthTypes.Boolean, "int8": arrow.PrimitiveTypes.Int8, "int16": arrow.PrimitiveTypes.Int16,
	"int32": arrow.PrimitiveTypes.Int32, "int64": arrow.PrimitiveTypes.Int64, "uint8": arrow.PrimitiveTypes.Uint8,
	"uint16": arrow.PrimitiveTypes.Uint16, "uint32": arrow.PrimitiveTypes.Uint32, "uint64": arrow.PrimitiveTypes.Uint64,
	"float32": arrow.PrimitiveTypes.Float32, "float64": arrow.PrimitiveTypes.Float64, "utf8": arrow.BinaryTypes.String,
	"string": arrow.BinaryTypes.String, "binary": arrow.BinaryTypes.Binary,
	"timestamp": arrow.FixedWidthTypes.Timestamp_us, "date32": arrow.FixedWidthTypes.Date32,
}

// TypeNames lists the type names ParseColumns accepts.
func TypeNames() []string {
	return []string{"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
		"float32", "float64", "utf8", "string", "binary", "timestamp", "date32"}
}

// ParseColumns builds a schema from "name:type" specs, e.g.
// ["id:int64", "label:utf8?"]; a trailing "?" makes the column nullable.
func ParseColumns(specs []string) (*arrow.Schema, error) {
	if len(specs) == 0 {
		return nil, errors.New("no columns")
	}
	fields := make([]arrow.Field, 0, len(specs))
	seen := map[string]bool{}
	for _, s := range specs {
		name, typ, ok := strings.Cut(s, ":")
		name, typ = strings.TrimSpace(name), strings.TrimSpace(typ)
		nullable := strings.HasSuffix(typ, "?")
		typ = strings.TrimSuffix(typ, "?")
		dt, known := typeNames[typ]
		switch {
		case !ok || name == "":
			return nil, fmt.Errorf("column %q: want \"name:type\"", s)
		case !known:
			return nil, fmt.Errorf("column %q: unknown type %q (known: %s)", name, typ, strings.Join(TypeNames(), ", "))
		case seen[name]:
			return nil, fmt.Errorf("column %q: declared twice", name)
		}
		seen[name] = true
		fields = append(fields, arrow.Field{Name: name, Type: dt, Nullable: nullable})
	}
	return arrow.NewSchema(fields, nil), nil
}
