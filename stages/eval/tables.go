package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/plots"
)

// row appends values to a record builder, field by field: string, int64
// (also int), float64 (NaN becomes null), bool, []string, []float64.
func row(b *array.RecordBuilder, vals ...any) {
	for i, v := range vals {
		switch x := v.(type) {
		case string:
			b.Field(i).(*array.StringBuilder).Append(x)
		case int:
			b.Field(i).(*array.Int64Builder).Append(int64(x))
		case int64:
			b.Field(i).(*array.Int64Builder).Append(x)
		case float64:
			fb := b.Field(i).(*array.Float64Builder)
			if math.IsNaN(x) {
				fb.AppendNull()
			} else {
				fb.Append(x)
			}
		case bool:
			b.Field(i).(*array.BooleanBuilder).Append(x)
		case []string:
			lb := b.Field(i).(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.StringBuilder).AppendValues(x, nil)
		case []float64:
			lb := b.Field(i).(*array.ListBuilder)
			lb.Append(true)
			vb := lb.ValueBuilder().(*array.Float64Builder)
			for _, f := range x {
				if math.IsNaN(f) {
					vb.AppendNull()
				} else {
					vb.Append(f)
				}
			}
		default:
			panic(fmt.Sprintf("eval: row value %d of type %T", i, v))
		}
	}
}

// putTable stores rec as name.arrow and name.parquet.
func putTable(ctx context.Context, a pipeline.Artifacts, name string, rec arrow.RecordBatch, mem memory.Allocator) error {
	for _, f := range []formats.Format{formats.IPC, formats.Parquet} {
		data, err := formats.Encode(rec, f, mem, "")
		if err != nil {
			return fmt.Errorf("artifact %s%s: %w", name, f.Ext(), err)
		}
		if err := a.Put(ctx, name+f.Ext(), data); err != nil {
			return fmt.Errorf("artifact %s%s: %w", name, f.Ext(), err)
		}
	}
	return nil
}

// putFigure stores f as name.png and name.svg.
func putFigure(ctx context.Context, a pipeline.Artifacts, name string, f plots.Figure) error {
	if err := a.Put(ctx, name+".png", f.PNG); err != nil {
		return fmt.Errorf("artifact %s.png: %w", name, err)
	}
	if err := a.Put(ctx, name+".svg", f.SVG); err != nil {
		return fmt.Errorf("artifact %s.svg: %w", name, err)
	}
	return nil
}
