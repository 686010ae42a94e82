package formats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/objstore"
)

// ReaderOptions tunes a Reader. The zero value is fine.
type ReaderOptions struct {
	// BatchSize is the number of rows per batch for Parquet and CSV
	// (default 8192). IPC batches are returned as written.
	BatchSize int64
	// Schema is the CSV schema; nil infers one from the header and the
	// first batch (int64, float64, bool, timestamp or string per column).
	Schema *arrow.Schema
	// Size is the object size when the caller knows it (saves a Stat);
	// 0 means unknown.
	Size int64
}

const defaultBatchSize = 8192

// decoder is one format's batch iterator; RecordBatch is owned by it.
type decoder interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
	Close() error
}

// Reader iterates the record batches of one object. It implements
// array.RecordReader; the batch returned by RecordBatch is valid until the
// next call to Next (Retain it to keep it). Call Release (or Close) when
// done. It is not safe for concurrent use.
type Reader struct {
	store objstore.Store
	key   string
	dec   decoder
	batch int // index of the current batch
	rows  int64
	refs  atomic.Int64

	// CSV only: where a value error is looked up (see locateCSV).
	ctx       context.Context
	csv       bool
	batchSize int64
	err       error // the first error, located, once Err has seen it
}

var _ array.RecordReader = (*Reader)(nil)

// NewReader opens key, stored in the given format, for reading.
func NewReader(ctx context.Context, store objstore.Store, key string, format Format, mem memory.Allocator, opts ReaderOptions) (*Reader, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = defaultBatchSize
	}
	dec, err := newDecoder(ctx, store, key, format, mem, opts)
	if err != nil {
		return nil, wrapRead(store, key, err)
	}
	r := &Reader{store: store, key: key, dec: dec, batch: -1, ctx: ctx, csv: format == CSV, batchSize: opts.BatchSize}
	r.refs.Store(1)
	return r, nil
}

// newDecoder opens the decoder of format over key; a panic while reading
// a damaged header or footer becomes an error.
func newDecoder(ctx context.Context, store objstore.Store, key string, format Format, mem memory.Allocator, opts ReaderOptions) (dec decoder, err error) {
	defer func() {
		if p := recover(); p != nil {
			dec, err = nil, fmt.Errorf("damaged data (decoder panicked: %v)", p)
		}
	}()
	switch format {
	case IPC, Parquet:
		size := opts.Size
		if size <= 0 {
			size = -1
		}
		ra, serr := objstore.ReaderAt(ctx, store, key, size)
		if serr != nil {
			return nil, serr
		}
		if format == IPC {
			dec, err = newIPCDecoder(ra, mem)
		} else {
			dec, err = newParquetDecoder(ctx, ra, mem, opts.BatchSize)
		}
	case CSV:
		rc, gerr := store.Get(ctx, key, objstore.All)
		if gerr != nil {
			return nil, gerr
		}
		dec, err = newCSVDecoder(rc, opts.Schema, mem, opts.BatchSize)
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	return dec, err
}

// wrapRead names store and key unless err already does.
func wrapRead(store objstore.Store, key string, err error) error {
	var oe *objstore.Error
	if errors.As(err, &oe) {
		return err
	}
	return objstore.Errorf("read", store, key, err)
}

// Schema returns the schema of the batches.
func (r *Reader) Schema() *arrow.Schema { return r.dec.Schema() }

// Next advances to the next batch; it returns false at the end or on error
// (see Err).
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	// A CSV decoder returns the batch holding a bad value (as null) together
	// with the error: never hand that batch out.
	if r.safeNext() && r.Err() == nil {
		r.batch++
		r.rows += r.dec.RecordBatch().NumRows()
		return true
	}
	return false
}

// safeNext advances the decoder; a damaged object must yield an error,
// never a panic or a batch whose buffers contradict their offsets (which
// would panic later, in whichever stage reads it): IPC and Parquet
// batches are validated in full, and a panic in a decoder becomes an
// error naming the object.
func (r *Reader) safeNext() (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			r.err = objstore.Errorf("read", r.store, r.key, fmt.Errorf("batch %d (after row %d): damaged data (decoder panicked: %v)", r.batch+1, r.rows, p))
		}
	}()
	if !r.dec.Next() {
		return false
	}
	if !r.csv {
		for i, col := range r.dec.RecordBatch().Columns() {
			if err := array.ValidateFull(col); err != nil {
				r.err = objstore.Errorf("read", r.store, r.key, fmt.Errorf("batch %d (after row %d): column %q: damaged data: %w", r.batch+1, r.rows, r.dec.Schema().Field(i).Name, err))
				return false
			}
		}
	}
	return true
}

// RecordBatch returns the current batch.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.dec.RecordBatch() }

// Record returns the current batch.
//
// Deprecated: use RecordBatch (kept for array.RecordReader).
func (r *Reader) Record() arrow.RecordBatch { return r.dec.RecordBatch() }

// Err returns the first error met by Next, naming store, key and batch
// (and for CSV the line: a value that does not parse as its column's type
// is located by reading the failing batch's rows again).
func (r *Reader) Err() error {
	if r.err != nil {
		return r.err
	}
	err := r.dec.Err()
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var oe *objstore.Error
	if errors.As(err, &oe) {
		err = oe.Err
	}
	if r.csv {
		err = locateCSV(r.ctx, r.store, r.key, r.dec.Schema(), r.rows, r.batchSize, err)
	}
	r.err = objstore.Errorf("read", r.store, r.key, fmt.Errorf("batch %d (after row %d): %w", r.batch+1, r.rows, err))
	return r.err
}

// Retain adds a reference.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one closes the reader.
func (r *Reader) Release() {
	if r.refs.Add(-1) == 0 {
		_ = r.dec.Close()
	}
}

// Close releases the reader's own reference and reports close errors.
func (r *Reader) Close() error {
	if r.refs.Add(-1) == 0 {
		return r.dec.Close()
	}
	return nil
}
