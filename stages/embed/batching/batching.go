// Package batching groups the rows of input batches into model calls, as
// text.embed and image.embed do for ONNX Runtime. Rows wait in buckets
// keyed by cost class (text: padded length class; image: one bucket); a
// call takes rows from one bucket only, so padding within a call is bounded
// by the bucket width, and holds at most budget(key) rows. Two modes:
//
//   - hold (the stage has 1 worker, so Process calls come one at a time in
//     input order): batches stay held across Process calls until every
//     row is done; full calls run as soon as a bucket fills, partial ones
//     only when the held batches have more than holdRows rows (for the
//     oldest batch) or at the end (Work with drain). Completed batches
//     come out oldest first (PopDone).
//   - own (several workers: the engine calls Process concurrently and
//     keeps output in input order only if each call emits its own batch):
//     each call returns when its own batch is complete, running full calls
//     and then partial calls holding its rows; rows of batches processed
//     at the same time share calls.
//
// The package knows nothing of Arrow or models: a batch is any type that
// embeds Group, a row any type that names its batch, and the call is a
// function.
//
// Not implemented: deadlines (a partial call waits for a full bucket, more
// held rows or the end, never for time) and priorities between buckets
// beyond "smallest key first".
package batching

import (
	"context"
	"slices"
	"sync"
)

// Group is the batcher's bookkeeping of one input batch. Embed it in the
// batch type.
type Group struct {
	rows      int // rows handed to Add
	pending   int // rows not yet taken by a call
	remaining int // rows whose call has not finished
}

func (g *Group) group() *Group { return g }

// Batch is a pointer to a type that embeds Group.
type Batch interface {
	comparable
	group() *Group
}

// Row is a row of batch B.
type Row[B Batch] interface {
	Batch() B
}

// RunFunc makes one call over rows (all of one bucket).
type RunFunc[R any] func(ctx context.Context, rows []R) error

// Batcher groups rows R of batches B into calls.
type Batcher[B Batch, R Row[B]] struct {
	hold     bool
	holdRows int
	budget   func(key int) int // most rows per call from bucket key
	run      RunFunc[R]

	mu      sync.Mutex
	cond    *sync.Cond
	buckets map[int][]R
	pending int // rows waiting in buckets
	fifo    []B // hold mode: batches not popped yet, oldest first
	held    int // hold mode: rows of the batches in fifo
	failed  error

	calls, callRows int64
}

// New returns a batcher in hold mode (hold) or own mode; budget(key) is
// the most rows of bucket key in one call, run makes a call.
func New[B Batch, R Row[B]](hold bool, holdRows int, budget func(key int) int, run RunFunc[R]) *Batcher[B, R] {
	b := &Batcher[B, R]{hold: hold, holdRows: holdRows, budget: budget, run: run, buckets: map[int][]R{}}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// Hold reports whether the batcher is in hold mode.
func (b *Batcher[B, R]) Hold() bool { return b.hold }

// Calls returns the number of calls made and the rows they held.
func (b *Batcher[B, R]) Calls() (calls, rows int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.callRows
}

// Add queues h's rows (keys[i] is rows[i]'s bucket).
func (b *Batcher[B, R]) Add(h B, rows []R, keys []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := h.group()
	g.rows, g.pending, g.remaining = len(rows), len(rows), len(rows)
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
func (b *Batcher[B, R]) take(key, n int) []R {
	bk := b.buckets[key]
	n = min(n, len(bk))
	rows := slices.Clone(bk[:n])
	if n == len(bk) {
		delete(b.buckets, key)
	} else {
		b.buckets[key] = bk[n:]
	}
	for _, r := range rows {
		r.Batch().group().pending--
	}
	b.pending -= n
	b.calls++
	b.callRows += int64(n)
	return rows
}

// sortedKeys returns the bucket keys in ascending order. Caller holds mu.
func (b *Batcher[B, R]) sortedKeys() []int {
	keys := make([]int, 0, len(b.buckets))
	for k := range b.buckets {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// bucketOf returns a bucket holding a pending row of h. Caller holds mu.
func (b *Batcher[B, R]) bucketOf(h B) (int, bool) {
	for _, k := range b.sortedKeys() {
		for _, r := range b.buckets[k] {
			if r.Batch() == h {
				return k, true
			}
		}
	}
	return 0, false
}

// next picks the next call for a Process call handling own (hold mode:
// none). It returns nil rows when the caller has nothing more to run; it
// waits while own's rows are in other callers' calls.
func (b *Batcher[B, R]) next(own B, drain bool) ([]R, error) {
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
				if h.group().remaining > 0 {
					break
				}
				held -= h.group().rows
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
		case own.group().pending > 0:
			k, _ := b.bucketOf(own)
			return b.take(k, b.budget(k)), nil
		case own.group().remaining > 0:
			b.cond.Wait()
		default:
			return nil, nil
		}
	}
}

// done records a finished (or failed) call.
func (b *Batcher[B, R]) done(rows []R, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range rows {
		r.Batch().group().remaining--
	}
	if err != nil && b.failed == nil {
		b.failed = err
	}
	b.cond.Broadcast()
}

// Work runs calls until there is nothing more for the caller to run: in
// own mode until own's rows are done, in hold mode (own is the zero B)
// while buckets are full or too many rows are held, and with drain until
// every bucket is empty. The first failed call fails every later Work.
func (b *Batcher[B, R]) Work(ctx context.Context, own B, drain bool) error {
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

// Abandon removes own's pending rows and waits until no call touches own,
// so the caller may return (and the engine release own's input).
func (b *Batcher[B, R]) Abandon(own B) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := own.group()
	for k, bk := range b.buckets {
		kept := bk[:0]
		for _, r := range bk {
			if r.Batch() == own {
				g.pending--
				g.remaining--
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
	for g.remaining > 0 {
		b.cond.Wait()
	}
}

// PopDone removes the completed batches at the head of the FIFO (all:
// every batch, for the end after Work with drain) and returns them.
func (b *Batcher[B, R]) PopDone(all bool) []B {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for n < len(b.fifo) && (all || b.fifo[n].group().remaining == 0) {
		n++
	}
	out := slices.Clone(b.fifo[:n])
	b.fifo = b.fifo[n:]
	for _, h := range out {
		b.held -= h.group().rows
	}
	return out
}

// Drop removes every held batch and row (hold mode, after a failure) and
// returns the batches, for the caller to release.
func (b *Batcher[B, R]) Drop() []B {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.fifo
	b.fifo = nil
	clear(b.buckets)
	b.pending, b.held = 0, 0
	return out
}
