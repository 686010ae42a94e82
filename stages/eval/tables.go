package eval

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

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

// EncodeIPC returns rec as an Arrow IPC file.
func EncodeIPC(rec arrow.RecordBatch, mem memory.Allocator) ([]byte, error) {
	var buf bytes.Buffer
	w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	if err := writeClose(w, rec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeClose writes rec and closes w, returning the first error.
func writeClose(w interface {
	Write(arrow.RecordBatch) error
	Close() error
}, rec arrow.RecordBatch) error {
	err := w.Write(rec)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// encodeParquet returns rec as a zstd Parquet file that stores the Arrow
// schema (metadata included).
func encodeParquet(rec arrow.RecordBatch, mem memory.Allocator) ([]byte, error) {
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithAllocator(mem))
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	if err != nil {
		return nil, err
	}
	if err := writeClose(w, rec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// putTable stores rec as name.arrow and name.parquet.
func putTable(ctx context.Context, a pipeline.Artifacts, name string, rec arrow.RecordBatch, mem memory.Allocator) error {
	for _, enc := range []struct {
		ext string
		fn  func(arrow.RecordBatch, memory.Allocator) ([]byte, error)
	}{{".arrow", EncodeIPC}, {".parquet", encodeParquet}} {
		data, err := enc.fn(rec, mem)
		if err != nil {
			return fmt.Errorf("artifact %s%s: %w", name, enc.ext, err)
		}
		if err := a.Put(ctx, name+enc.ext, data); err != nil {
			return fmt.Errorf("artifact %s%s: %w", name, enc.ext, err)
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

// DecodeIPC reads every batch of an Arrow IPC file or stream (as stored by
// the eval stages, or a training stage's curve) into one record.
func DecodeIPC(data []byte, mem memory.Allocator) (arrow.RecordBatch, error) {
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	var schema *arrow.Schema
	if bytes.HasPrefix(data, []byte("ARROW1")) {
		r, err := ipc.NewFileReader(bytes.NewReader(data), ipc.WithAllocator(mem))
		if err != nil {
			return nil, err
		}
		defer r.Close()
		schema = r.Schema()
		for i := range r.NumRecords() {
			b, err := r.RecordBatch(i)
			if err != nil {
				return nil, fmt.Errorf("batch %d: %w", i, err)
			}
			b.Retain()
			batches = append(batches, b)
		}
	} else {
		r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(mem))
		if err != nil {
			return nil, err
		}
		defer r.Release()
		schema = r.Schema()
		for r.Next() {
			b := r.RecordBatch()
			b.Retain()
			batches = append(batches, b)
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
	}
	return concat(schema, batches, mem)
}

func concat(schema *arrow.Schema, batches []arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	if len(batches) == 1 {
		batches[0].Retain()
		return batches[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var rows int64
	for _, b := range batches {
		rows += b.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(batches))
		for k, b := range batches {
			parts[k] = b.Column(i)
		}
		if len(parts) == 0 {
			bld := array.NewBuilder(mem, schema.Field(i).Type)
			cols[i] = bld.NewArray()
			bld.Release()
			continue
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}
