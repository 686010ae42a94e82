package formats

import (
	"bytes"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// newEncoder returns the encoder of format writing to w.
func newEncoder(w io.Writer, format Format, schema *arrow.Schema, mem memory.Allocator, c Compression) (encoder, error) {
	switch format {
	case IPC:
		return newIPCEncoder(w, schema, mem, c)
	case Parquet:
		return newParquetEncoder(w, schema, mem, c)
	case CSV:
		return newCSVEncoder(w, schema)
	}
	return nil, fmt.Errorf("unknown format %q", format)
}

// Encode returns rec as one in-memory file of format (small tables that
// go to a stage's artifacts: metric tables, curves, checkpoints), with the
// same encoders and defaults as Writer.
func Encode(rec arrow.RecordBatch, format Format, mem memory.Allocator, c Compression) ([]byte, error) {
	var buf bytes.Buffer
	enc, err := newEncoder(&buf, format, rec.Schema(), mem, c)
	if err != nil {
		return nil, err
	}
	err = enc.Write(rec)
	if cerr := enc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeIPC reads every batch of an in-memory Arrow IPC file or stream
// (stage artifacts: metric tables, training curves, checkpoints) into one
// record, schema metadata included.
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
