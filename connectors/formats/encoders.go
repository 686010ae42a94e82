package formats

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

func newIPCEncoder(w io.Writer, schema *arrow.Schema, mem memory.Allocator, c Compression) (encoder, error) {
	opts := []ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(mem)}
	switch c {
	case "", None:
	case Zstd:
		opts = append(opts, ipc.WithZstd())
	case LZ4:
		opts = append(opts, ipc.WithLZ4())
	default:
		return nil, fmt.Errorf("arrow IPC: unsupported compression %q", c)
	}
	return ipc.NewFileWriter(w, opts...)
}

func newParquetEncoder(w io.Writer, schema *arrow.Schema, mem memory.Allocator, c Compression) (encoder, error) {
	codec := compress.Codecs.Zstd
	switch c {
	case "", Zstd:
	case Snappy:
		codec = compress.Codecs.Snappy
	case None:
		codec = compress.Codecs.Uncompressed
	default:
		return nil, fmt.Errorf("parquet: unsupported compression %q", c)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(codec), parquet.WithAllocator(mem))
	arrProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem))
	return pqarrow.NewFileWriter(schema, w, props, arrProps)
}

type csvEncoder struct{ w *csv.Writer }

func newCSVEncoder(w io.Writer, schema *arrow.Schema) (encoder, error) {
	return csvEncoder{csv.NewWriter(w, schema, csv.WithHeader(true), csv.WithNullWriter(""))}, nil
}

func (e csvEncoder) Write(rec arrow.RecordBatch) error { return e.w.Write(rec) }

func (e csvEncoder) Close() error {
	e.w.Flush()
	return e.w.Error()
}
