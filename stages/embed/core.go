package embed

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/stages/embed/batching"
)

// held is one input batch whose rows are being embedded.
type held struct {
	batching.Group
	in   arrow.RecordBatch // retained (hold mode) or borrowed (own mode)
	keep []int             // input rows that get an embedding, in order
	emb  []float32         // len(keep)*dim, row slot i at [i*dim:(i+1)*dim]
}

// row is one row waiting for an ORT call.
type row struct {
	h      *held
	slot   int       // index into h.keep / h.emb
	tokens []int32   // text: the (truncated) ids
	pixels []float32 // image: C*H*W values (aliases the input batch)
}

// Batch is the input batch of the row.
func (r row) Batch() *held { return r.h }

// shared is what text.embed and image.embed have in common: the output
// schema, the quarantine, the batcher (package batching) and the emitter.
type shared struct {
	schema  *arrow.Schema
	alloc   memory.Allocator
	q       pipeline.Quarantine
	keyCol  int    // -1: keys are "row N"
	keyName string // the key column's name, "" when keyCol < 0
	dim     int
	norm    bool
	b       *batching.Batcher[*held, row]
	// quarantined counts the rows quarantine set aside.
	quarantined atomic.Int64
}

// process runs one input batch through the batcher and emits what is
// complete. rows/keys are the batch's embeddable rows (h.keep set).
func (s *shared) process(ctx context.Context, in arrow.RecordBatch, h *held, rows []row, keys []int, out pipeline.Emitter) error {
	h.in = in
	h.emb = make([]float32, len(h.keep)*s.dim)
	if s.b.Hold() {
		in.Retain()
		s.b.Add(h, rows, keys)
		if err := s.b.Work(ctx, nil, false); err != nil {
			s.releaseHeld()
			return err
		}
		for _, done := range s.b.PopDone(false) {
			if err := s.emit(ctx, done, out); err != nil {
				s.releaseHeld()
				return err
			}
		}
		return nil
	}
	s.b.Add(h, rows, keys)
	if err := s.b.Work(ctx, h, false); err != nil {
		s.b.Abandon(h)
		return err
	}
	return s.emit(ctx, h, out)
}

// flush embeds every row still held and emits the held batches.
func (s *shared) flush(ctx context.Context, out pipeline.Emitter) error {
	if err := s.b.Work(ctx, nil, true); err != nil {
		s.releaseHeld()
		return err
	}
	for _, h := range s.b.PopDone(true) {
		if err := s.emit(ctx, h, out); err != nil {
			s.releaseHeld()
			return err
		}
	}
	return nil
}

// releaseHeld drops every held batch and releases its input (hold mode,
// after a failure).
func (s *shared) releaseHeld() {
	for _, h := range s.b.Drop() {
		h.in.Release()
	}
}

// emit builds the output batch of h: its kept input rows, all columns,
// plus the embedding column. In hold mode it releases h's input.
func (s *shared) emit(ctx context.Context, h *held, out pipeline.Emitter) error {
	if s.b.Hold() {
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
