package formats

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ipcDecoder iterates an Arrow IPC file.
type ipcDecoder struct {
	fr  *ipc.FileReader
	i   int
	cur arrow.RecordBatch
	err error
}

func newIPCDecoder(ra *io.SectionReader, mem memory.Allocator) (decoder, error) {
	fr, err := ipc.NewFileReader(ra, ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("arrow IPC: %w", err)
	}
	return &ipcDecoder{fr: fr}, nil
}

func (d *ipcDecoder) Schema() *arrow.Schema { return d.fr.Schema() }

func (d *ipcDecoder) Next() bool {
	d.releaseCur()
	if d.err != nil || d.i >= d.fr.NumRecords() {
		return false
	}
	d.cur, d.err = d.fr.RecordBatchAt(d.i)
	d.i++
	return d.err == nil
}

func (d *ipcDecoder) releaseCur() {
	if d.cur != nil {
		d.cur.Release()
		d.cur = nil
	}
}

func (d *ipcDecoder) RecordBatch() arrow.RecordBatch { return d.cur }
func (d *ipcDecoder) Err() error                     { return d.err }

func (d *ipcDecoder) Close() error {
	d.releaseCur()
	return d.fr.Close()
}

// parquetDecoder iterates a Parquet file through pqarrow. Batches are
// re-labelled with the writer's Arrow schema (stored in the file by
// WithStoreSchema): pqarrow's record reader adds "PARQUET:field_id" field
// metadata, drops schema metadata and names list elements "element".
type parquetDecoder struct {
	pf     *file.Reader
	rr     pqarrow.RecordReader
	schema *arrow.Schema
	retype bool // columns need their (nested) types re-labelled
	cur    arrow.RecordBatch
}

func newParquetDecoder(ctx context.Context, ra *io.SectionReader, mem memory.Allocator, batch int64) (decoder, error) {
	pf, err := file.NewParquetReader(ra, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: batch}, mem)
	if err == nil {
		var rr pqarrow.RecordReader
		if rr, err = fr.GetRecordReader(ctx, nil, nil); err == nil {
			d := &parquetDecoder{pf: pf, rr: rr, schema: cleanSchema(rr.Schema())}
			if origin := fr.Manifest.OriginSchema; origin != nil && sameLayout(rr.Schema(), origin) {
				d.schema = origin
				d.retype = !typesEqual(rr.Schema(), origin)
			}
			return d, nil
		}
	}
	pf.Close()
	return nil, fmt.Errorf("parquet: %w", err)
}

func (d *parquetDecoder) Schema() *arrow.Schema { return d.schema }

func (d *parquetDecoder) Next() bool {
	d.releaseCur()
	if !d.rr.Next() {
		return false
	}
	rec := d.rr.RecordBatch()
	if !d.retype {
		d.cur = array.NewRecordBatch(d.schema, rec.Columns(), rec.NumRows())
		return true
	}
	cols := make([]arrow.Array, rec.NumCols())
	for i, col := range rec.Columns() {
		cols[i] = relabel(col, d.schema.Field(i).Type)
	}
	d.cur = array.NewRecordBatch(d.schema, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return true
}

func (d *parquetDecoder) releaseCur() {
	if d.cur != nil {
		d.cur.Release()
		d.cur = nil
	}
}

func (d *parquetDecoder) RecordBatch() arrow.RecordBatch { return d.cur }
func (d *parquetDecoder) Err() error                     { return d.rr.Err() }

func (d *parquetDecoder) Close() error {
	d.releaseCur()
	d.rr.Release()
	return d.pf.Close()
}
