package pipeline

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Dataset is a barrier's whole input, re-iterable (epochs).
type Dataset interface {
	Schema() *arrow.Schema
	NumRows() int64
	// Batches yields the batches in arrival order. Each batch is borrowed:
	// valid until the loop body returns; Retain it to keep it.
	Batches(ctx context.Context) iter.Seq2[arrow.RecordBatch, error]
}

// spillDataset keeps batches in memory up to a byte budget and appends the
// rest to an Arrow IPC stream file in a temp dir, so a barrier's memory
// stays bounded whatever the input size.
type spillDataset struct {
	schema   *arrow.Schema
	alloc    memory.Allocator
	budget   int64
	dir      string
	mem      []arrow.RecordBatch
	memBytes int64
	rows     int64
	file     *os.File
	w        *ipc.Writer
	spilled  int
	gone     bool // discarded: iterating fails
}

// Discard frees a barrier input early: its batches held in memory and its
// spill file. A Barrier that has copied what it needs (a trainer writes
// its split to its own block file) calls it so that the input's memory
// is not held for the rest of Run (hours of training); iterating d
// afterwards yields ErrDiscarded. Datasets that are not barrier inputs
// are left alone. Not safe to call while d is being iterated.
//
// It then collects garbage and returns free memory to the OS
// (debug.FreeOSMemory: a few milliseconds): the buffers just freed, and
// those the pooled allocator kept from reading the input, would otherwise
// still count in the process's memory while the stage's next phase fills
// its own buffers, so the peak would be the sum of both phases, not the
// larger one.
func Discard(d Dataset) {
	switch s := d.(type) {
	case *spillDataset:
		if !s.gone {
			s.release()
			s.gone = true
			debug.FreeOSMemory()
		}
	case *cacheDataset:
		s.gone = true
	}
}

// cacheDataset is a barrier input the run reuses from the cache: each
// iteration reads the committed output again (parts checked against
// their checksums as any cache read), nothing is held between them.
type cacheDataset struct {
	cache  Cache
	fp     string
	name   string // the upstream stage, for errors
	schema *arrow.Schema
	rows   int64
	gone   bool
}

func (d *cacheDataset) Schema() *arrow.Schema { return d.schema }
func (d *cacheDataset) NumRows() int64        { return d.rows }

var errStopRead = errors.New("iteration stopped")

func (d *cacheDataset) Batches(ctx context.Context) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		if d.gone {
			yield(nil, ErrDiscarded)
			return
		}
		err := d.cache.Read(ctx, d.fp, func(b arrow.RecordBatch) error {
			defer b.Release()
			if !yield(b, nil) {
				return errStopRead
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopRead) {
			yield(nil, fmt.Errorf("read the cached output of %q: %w", d.name, err))
		}
	}
}

func newSpillDataset(schema *arrow.Schema, alloc memory.Allocator, budget int64, dir string) *spillDataset {
	return &spillDataset{schema: schema, alloc: alloc, budget: budget, dir: dir}
}

func (d *spillDataset) Schema() *arrow.Schema { return d.schema }
func (d *spillDataset) NumRows() int64        { return d.rows }

// add takes ownership of b.
func (d *spillDataset) add(b arrow.RecordBatch) error {
	d.rows += b.NumRows()
	size := BatchBytes(b)
	if d.file == nil && (d.budget <= 0 || d.memBytes+size <= d.budget) {
		d.mem = append(d.mem, b)
		d.memBytes += size
		return nil
	}
	defer b.Release()
	if d.file == nil {
		f, err := os.CreateTemp(d.dir, "medflow-spill-*.arrows")
		if err != nil {
			return fmt.Errorf("spill: %w", err)
		}
		d.file = f
		d.w = ipc.NewWriter(f, ipc.WithSchema(d.schema), ipc.WithAllocator(d.alloc))
	}
	if err := d.w.Write(b); err != nil {
		return fmt.Errorf("spill to %s: %w", d.file.Name(), err)
	}
	d.spilled++
	return nil
}

// seal finishes the spill file so it can be read.
func (d *spillDataset) seal() error {
	if d.w == nil {
		return nil
	}
	err := d.w.Close()
	d.w = nil
	return err
}

// fileBytes is the size of the sealed spill file (0: none).
func (d *spillDataset) fileBytes() int64 {
	if d.file == nil {
		return 0
	}
	fi, err := d.file.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (d *spillDataset) Batches(ctx context.Context) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		if d.gone {
			yield(nil, ErrDiscarded)
			return
		}
		for _, b := range d.mem {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			if !yield(b, nil) {
				return
			}
		}
		if d.file == nil {
			return
		}
		f, err := os.Open(d.file.Name())
		if err != nil {
			yield(nil, fmt.Errorf("read spill: %w", err))
			return
		}
		defer f.Close()
		r, err := ipc.NewReader(f, ipc.WithAllocator(d.alloc))
		if err != nil {
			yield(nil, fmt.Errorf("read spill %s: %w", f.Name(), err))
			return
		}
		defer r.Release()
		for r.Next() {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			if !yield(r.RecordBatch(), nil) {
				return
			}
		}
		if err := r.Err(); err != nil && !errors.Is(err, context.Canceled) {
			yield(nil, fmt.Errorf("read spill %s: %w", f.Name(), err))
		}
	}
}

func (d *spillDataset) release() {
	for _, b := range d.mem {
		b.Release()
	}
	d.mem = nil
	if d.w != nil {
		d.w.Close()
		d.w = nil
	}
	if d.file != nil {
		d.file.Close()
		os.Remove(d.file.Name())
		d.file = nil
	}
}
