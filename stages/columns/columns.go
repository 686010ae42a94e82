package columns

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
)

var numeric = []arrow.Type{arrow.FLOAT64, arrow.FLOAT32, arrow.INT64, arrow.INT32}

// Register adds col.scale and filter.range to r.
func Register(r *pipeline.Registry) error {
	if err := r.Register(pipeline.Definition{
		Kind: "col.scale", Role: pipeline.RoleTransform, Version: "1",
		Doc: "column*factor+offset as float64, in place or into a new column",
		Params: []pipeline.Param{
			{Name: "column", Type: pipeline.String, Required: true, NonEmpty: true, Doc: "numeric input column"},
			{Name: "factor", Type: pipeline.Float, Default: 1.0, Doc: "multiplier"},
			{Name: "offset", Type: pipeline.Float, Default: 0.0, Doc: "added after multiplying"},
			{Name: "output", Type: pipeline.String, Doc: "result column; default: replace column"},
		},
		New: newScale,
	}); err != nil {
		return err
	}
	return r.Register(pipeline.Definition{
		Kind: "filter.range", Role: pipeline.RoleTransform, Version: "1",
		Doc: "keep rows whose numeric column is within [min, max]",
		Params: []pipeline.Param{
			{Name: "column", Type: pipeline.String, Required: true, NonEmpty: true, Doc: "numeric column to test"},
			{Name: "min", Type: pipeline.Float, Doc: "smallest value kept (default: no lower bound)"},
			{Name: "max", Type: pipeline.Float, Doc: "largest value kept (default: no upper bound)"},
		},
		New: newFilter,
	})
}

// ScaleStage is col.scale.
type ScaleStage struct {
	in, out        int // input column, output column index in the output schema
	factor, offset float64
	schema         *arrow.Schema
	alloc          memory.Allocator
}

func newScale(b *pipeline.BuildContext) (pipeline.Stage, error) {
	in := b.Inputs[0]
	col := b.Params.String("column")
	idx, err := schemas.Column(in, col, numeric...)
	if err != nil {
		return nil, pipeline.AtParam("column", err)
	}
	name := b.Params.String("output")
	if name == "" {
		name = col
	}
	fields := in.Fields()
	f := arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: in.Field(idx).Nullable}
	out := len(fields)
	if i := in.FieldIndices(name); len(i) > 0 {
		out = i[0]
		fields[out] = f
	} else {
		fields = append(fields, f)
	}
	md := in.Metadata()
	return &ScaleStage{in: idx, out: out, factor: b.Params.Float("factor"), offset: b.Params.Float("offset"),
		schema: arrow.NewSchema(fields, &md), alloc: b.Alloc}, nil
}

func (s *ScaleStage) Schema() *arrow.Schema { return s.schema }

func (s *ScaleStage) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	res := Scale(s.alloc, in.Column(s.in), s.factor, s.offset)
	defer res.Release()
	cols := in.Columns()
	if s.out < len(cols) {
		cols = append([]arrow.Array(nil), cols...)
		cols[s.out] = res
	} else {
		cols = append(cols[:len(cols):len(cols)], res)
	}
	return out.Emit(ctx, array.NewRecordBatch(s.schema, cols, in.NumRows()))
}

// Scale returns a*factor+offset as a new float64 array (nulls kept). a must
// be float64, float32, int64 or int32.
func Scale(mem memory.Allocator, a arrow.Array, factor, offset float64) *array.Float64 {
	n := a.Len()
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(n * arrow.Float64SizeBytes)
	vals := arrow.Float64Traits.CastFromBytes(buf.Bytes())
	switch x := a.(type) {
	case *array.Float64:
		for i, v := range x.Float64Values() {
			vals[i] = v*factor + offset
		}
	case *array.Float32:
		for i, v := range x.Float32Values() {
			vals[i] = float64(v)*factor + offset
		}
	case *array.Int64:
		for i, v := range x.Int64Values() {
			vals[i] = float64(v)*factor + offset
		}
	case *array.Int32:
		for i, v := range x.Int32Values() {
			vals[i] = float64(v)*factor + offset
		}
	default:
		panic(fmt.Sprintf("columns.Scale: unsupported type %s", a.DataType()))
	}
	var valid *memory.Buffer
	if a.NullN() > 0 {
		valid = memory.NewResizableBuffer(mem)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.CopyBitmap(a.Data().Buffers()[0].Bytes(), a.Data().Offset(), n, valid.Bytes(), 0)
	}
	data := array.NewData(arrow.PrimitiveTypes.Float64, n, []*memory.Buffer{valid, buf}, nil, a.NullN(), 0)
	defer data.Release()
	return array.NewFloat64Data(data)
}

// FilterStage is filter.range.
type FilterStage struct {
	col      int
	min, max float64
	schema   *arrow.Schema
	alloc    memory.Allocator
}

func newFilter(b *pipeline.BuildContext) (pipeline.Stage, error) {
	idx, err := schemas.Column(b.Inputs[0], b.Params.String("column"), numeric...)
	if err != nil {
		return nil, pipeline.AtParam("column", err)
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if b.Params.Has("min") {
		lo = b.Params.Float("min")
	}
	if b.Params.Has("max") {
		hi = b.Params.Float("max")
	}
	if lo > hi {
		return nil, pipeline.ParamErrorf("min", "%g > params.max %g", lo, hi)
	}
	return &FilterStage{col: idx, min: lo, max: hi, schema: b.Inputs[0], alloc: b.Alloc}, nil
}

func (s *FilterStage) Schema() *arrow.Schema { return s.schema }

func (s *FilterStage) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	mask := RangeMask(s.alloc, in.Column(s.col), s.min, s.max)
	defer mask.Release()
	if mask.NullN() == 0 && countTrue(mask) == mask.Len() {
		in.Retain()
		return out.Emit(ctx, in)
	}
	res, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, s.alloc), in, mask, compute.DefaultFilterOptions())
	if err != nil {
		return err
	}
	if res.NumRows() == 0 {
		res.Release()
		return nil
	}
	return out.Emit(ctx, res)
}

func countTrue(b *array.Boolean) int {
	n := 0
	for i := range b.Len() {
		if b.Value(i) {
			n++
		}
	}
	return n
}

// RangeMask is true where lo <= a[i] <= hi (false for nulls).
func RangeMask(mem memory.Allocator, a arrow.Array, lo, hi float64) *array.Boolean {
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	b.Reserve(a.Len())
	at := func(i int) float64 {
		switch x := a.(type) {
		case *array.Float64:
			return x.Value(i)
		case *array.Float32:
			return float64(x.Value(i))
		case *array.Int64:
			return float64(x.Value(i))
		case *array.Int32:
			return float64(x.Value(i))
		}
		panic(fmt.Sprintf("columns.RangeMask: unsupported type %s", a.DataType()))
	}
	for i := range a.Len() {
		if a.IsNull(i) {
			b.UnsafeAppend(false)
			continue
		}
		v := at(i)
		b.UnsafeAppend(v >= lo && v <= hi)
	}
	return b.NewBooleanArray()
}
