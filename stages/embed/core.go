package embed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
)

// held is one input batch whose rows are being embedded.
type held struct {
	in        arrow.RecordBatch // retained (hold mode) or borrowed (own mode)
	keep      []int             // input rows that get an embedding, in order
	emb       []float32         // len(keep)*dim, row slot i at [i*dim:(i+1)*dim]
	pending   int               // rows not yet taken by a job
	remaining int               // rows whose embedding is not written yet
}

// row is one row waiting in a bucket.
type row struct {
	h      *held
	slot   int       // index into h.keep / h.emb
	tokens []int32   // text: the (truncated) ids
	pixels []float32 // image: C*H*W values (aliases the input batch)
}

// runFunc computes the embeddings of rows into their h.emb slots.
type runFunc func(ctx context.Context, rows []row) error

// batcher groups rows into ORT calls ("jobs"). Rows wait in buckets keyed
// by cost class (text: padded length class; image: one bucket); a job takes
// rows from one bucket only, so padding within a job is bounded by the
// bucket width. Two modes:
//
//   - hold (the stage has 1 worker, so Process calls come one at a time in
//     input order): batches stay held across Process calls until every
//     row is embedded; full jobs run as soon as a bucket fills, partial
//     ones only when the held batches have more than holdRows rows (for
//     the oldest batch) or at Flush. Completed batches are emitted oldest
//     first.
//   - own (several workers: the engine calls Process concurrently and
//     keeps output in input order only if each call emits its own batch):
//     each call returns when its own batch is complete, running full jobs
//     and then partial jobs holding its rows; rows of batches processed at
//     the same time share jobs.
type batcher struct {
	hold     bool
	holdRows int
	dim      int
	budget   func(key int) int // most rows per job from bucket key
	run      runFunc

	mu      sync.Mutex
	cond    *sync.Cond
	buckets map[int][]row
	pending int     // rows waiting in buckets
	fifo    []*held // hold mode: batches not emitted yet, oldest first
	held    int     // hold mode: rows of the batches in fifo
	failed  error

	jobs, jobRows int64
}

func newBatcher(hold bool, holdRows, dim int, budget func(int) int, run runFunc) *batcher {
	b := &batcher{hold: hold, holdRows: holdRows, dim: dim, budget: budget, run: run, buckets: map[int][]row{}}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// add queues h's rows (key(i) is row i's bucket).
func (b *batcher) add(h *held, rows []row, keys []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h.pending, h.remaining = len(rows), len(rows)
	for i, r := range rows {
		b.buckets[keys[i]] = append(b.buckets[keys[i]], r)
	}
	b.pending += len(rows)
	if b.hold {
		b.fifo = append(b.fifo, h)
		b.held += len(rows)
	}
}

// take removes up to n rows from bucket key. Caller holds mu.
func (b *batcher) take(key, n int) []row {
	bk := b.buckets[key]
	n = min(n, len(bk))
	rows := slices.Clone(bk[:n])
	if n == len(bk) {
		delete(b.buckets, key)
	} else {
		b.buckets[key] = bk[n:]
	}
	for _, r := range rows {
		r.h.pending--
	}
	b.pending -= n
	b.jobs++
	b.jobRows += int64(n)
	return rows
}

// sortedKeys returns the bucket keys in ascending order. Caller holds mu.
func (b *batcher) sortedKeys() []int {
	keys := make([]int, 0, len(b.buckets))
	for k := range b.buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// bucketOf returns a bucket holding a pending row of h. Caller holds mu.
func (b *batcher) bucketOf(h *held) (int, bool) {
	for _, k := range b.sortedKeys() {
		for _, r := range b.buckets[k] {
			if r.h == h {
				return k, true
			}
		}
	}
	return 0, false
}

// next picks the next job for a Process call handling own (nil: Flush).
// It returns nil rows when the call has nothing more to run; it waits
// while own's rows are being embedded by other calls.
func (b *batcher) next(own *held, drain bool) ([]row, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.failed != nil {
			return nil, b.failed
		}
		for _, k := range b.sortedKeys() {
			if n := b.budget(k); len(b.buckets[k]) >= n {
				return b.take(k, n), nil
			}
		}
		switch {
		case drain:
			if keys := b.sortedKeys(); len(keys) > 0 {
				return b.take(keys[0], b.budget(keys[0])), nil
			}
			return nil, nil
		case b.hold:
			// Bound the rows held (waiting or done behind an older
			// batch): past holdRows, finish the oldest batch.
			held := b.held
			for _, h := range b.fifo { // complete batches at the head go out next
				if h.remaining > 0 {
					break
				}
				held -= len(h.keep)
			}
			if held <= b.holdRows {
				return nil, nil
			}
			for _, h := range b.fifo {
				if k, ok := b.bucketOf(h); ok {
					return b.take(k, b.budget(k)), nil
				}
			}
			return nil, nil
		case own.pending > 0:
			k, _ := b.bucketOf(own)
			return b.take(k, b.budget(k)), nil
		case own.remaining > 0:
			b.cond.Wait()
		default:
			return nil, nil
		}
	}
}

// done records a finished (or failed) job.
func (b *batcher) done(rows []row, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range rows {
		r.h.remaining--
	}
	if err != nil && b.failed == nil {
		b.failed = err
	}
	b.cond.Broadcast()
}

// work runs jobs until next says stop.
func (b *batcher) work(ctx context.Context, own *held, drain bool) error {
	for {
		rows, err := b.next(own, drain)
		if err != nil || rows == nil {
			return err
		}
		err = b.run(ctx, rows)
		b.done(rows, err)
		if err != nil {
			return err
		}
	}
}

// abandon removes own's pending rows and waits until no job touches it, so
// the caller may return (and the engine release own's batch).
func (b *batcher) abandon(own *held) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, bk := range b.buckets {
		kept := bk[:0]
		for _, r := range bk {
			if r.h == own {
				own.pending--
				own.remaining--
				b.pending--
				continue
			}
			kept = append(kept, r)
		}
		if len(kept) == 0 {
			delete(b.buckets, k)
		} else {
			b.buckets[k] = kept
		}
	}
	for own.remaining > 0 {
		b.cond.Wait()
	}
}

// popDone removes the completed batches at the head of the FIFO.
func (b *batcher) popDone(all bool) []*held {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for n < len(b.fifo) && (all || b.fifo[n].remaining == 0) {
		n++
	}
	out := slices.Clone(b.fifo[:n])
	b.fifo = b.fifo[n:]
	for _, h := range out {
		b.held -= len(h.keep)
	}
	return out
}

// releaseHeld drops every held batch (hold mode, after a failure).
func (b *batcher) releaseHeld() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range b.fifo {
		h.in.Release()
	}
	b.fifo = nil
	clear(b.buckets)
	b.pending, b.held = 0, 0
}

// shared is what text.embed and image.embed have in common: the output
// schema, the quarantine, the batcher and the emitter.
type shared struct {
	schema *arrow.Schema
	alloc  memory.Allocator
	q      pipeline.Quarantine
	keyCol int // -1: keys are "row N"
	dim    int
	norm   bool
	b      *batcher
	// quarantined counts the rows quarantine set aside.
	quarantined atomic.Int64
}

// process runs one input batch through the batcher and emits what is
// complete. rows/keys are the batch's embeddable rows (h.keep set).
func (s *shared) process(ctx context.Context, in arrow.RecordBatch, h *held, rows []row, keys []int, out pipeline.Emitter) error {
	h.in = in
	h.emb = make([]float32, len(h.keep)*s.dim)
	if s.b.hold {
		in.Retain()
		s.b.add(h, rows, keys)
		if err := s.b.work(ctx, nil, false); err != nil {
			s.b.releaseHeld()
			return err
		}
		for _, done := range s.b.popDone(false) {
			if err := s.emit(ctx, done, out); err != nil {
				s.b.releaseHeld()
				return err
			}
		}
		return nil
	}
	s.b.add(h, rows, keys)
	if err := s.b.work(ctx, h, false); err != nil {
		s.b.abandon(h)
		return err
	}
	return s.emit(ctx, h, out)
}

// flush embeds every row still held and emits the held batches.
func (s *shared) flush(ctx context.Context, out pipeline.Emitter) error {
	if err := s.b.work(ctx, nil, true); err != nil {
		s.b.releaseHeld()
		return err
	}
	for _, h := range s.b.popDone(true) {
		if err := s.emit(ctx, h, out); err != nil {
			s.b.releaseHeld()
			return err
		}
	}
	return nil
}

// emit builds the output batch of h: its kept input rows, all columns,
// plus the embedding column. In hold mode it releases h's input.
func (s *shared) emit(ctx context.Context, h *held, out pipeline.Emitter) error {
	if s.b.hold {
		defer h.in.Release()
	}
	if s.norm {
		normalize(h.emb, s.dim)
	}
	in := h.in
	rec := in
	if len(h.keep) < int(in.NumRows()) {
		mb := array.NewBooleanBuilder(s.alloc)
		defer mb.Release()
		mask := make([]bool, in.NumRows())
		for _, i := range h.keep {
			mask[i] = true
		}
		mb.AppendValues(mask, nil)
		m := mb.NewArray()
		defer m.Release()
		filtered, err := compute.FilterRecordBatch(compute.WithAllocator(ctx, s.alloc), in, m, compute.DefaultFilterOptions())
		if err != nil {
			return fmt.Errorf("drop quarantined rows: %w", err)
		}
		defer filtered.Release()
		rec = filtered
	}
	lb := array.NewBuilder(s.alloc, embeddingType(s.dim)).(*array.FixedSizeListBuilder)
	defer lb.Release()
	lb.Reserve(len(h.keep))
	vb := lb.ValueBuilder().(*array.Float32Builder)
	vb.AppendValues(h.emb, nil)
	for range h.keep {
		lb.Append(true)
	}
	emb := lb.NewArray()
	defer emb.Release()
	cols := append(rec.Columns()[:rec.NumCols():rec.NumCols()], emb)
	return out.Emit(ctx, array.NewRecordBatch(s.schema, cols, int64(len(h.keep))))
}

// key names row i of in for the quarantine.
func (s *shared) key(in arrow.RecordBatch, i int) string {
	if s.keyCol < 0 {
		return fmt.Sprintf("row %d of its input batch", i)
	}
	c := in.Column(s.keyCol)
	if c.IsNull(i) {
		return fmt.Sprintf("row %d of its input batch (null key)", i)
	}
	return c.ValueStr(i)
}

// quarantine sets row i of in aside with reason and counts it.
func (s *shared) quarantine(ctx context.Context, in arrow.RecordBatch, i int, reason string) error {
	if err := s.q.Add(ctx, s.key(in, i), reason); err != nil {
		return pipeline.RecordError(i, err)
	}
	s.quarantined.Add(1)
	return nil
}

// normalize scales every dim-long vector of v to unit L2 norm (zero
// vectors stay zero).
func normalize(v []float32, dim int) {
	for off := 0; off+dim <= len(v); off += dim {
		x := v[off : off+dim]
		var ss float64
		for _, f := range x {
			ss += float64(f) * float64(f)
		}
		if ss == 0 {
			continue
		}
		inv := 1 / math.Sqrt(ss)
		for i := range x {
			x[i] = float32(float64(x[i]) * inv)
		}
	}
}

// embeddingType is the type of the embedding column: fixed_size_list<float32>[dim].
func embeddingType(dim int) arrow.DataType {
	return arrow.FixedSizeListOfNonNullable(int32(dim), arrow.PrimitiveTypes.Float32)
}
