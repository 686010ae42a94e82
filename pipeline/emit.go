package pipeline

// Emitters: the one a stage emits through (schema check, fan-out,
// counters, backpressure) and the collector an ordered worker fills.

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// emitter sends a stage's batches to every consumer edge.
type emitter struct {
	*stageRun
	outs []*edge
	tee  CacheWriter // materialized output, or nil
}

func (e *emitter) Emit(ctx context.Context, b arrow.RecordBatch) error {
	if e.keyed != nil {
		if err := e.checkSchema(b); err != nil {
			b.Release()
			return err
		}
		return e.keyed.emit(ctx, b, func(b arrow.RecordBatch) error { return e.send(ctx, b) })
	}
	return e.send(ctx, b)
}

// send is Emit without committing keyed parts.
func (e *emitter) send(ctx context.Context, b arrow.RecordBatch) error {
	if err := e.checkSchema(b); err != nil {
		b.Release()
		return err
	}
	if e.tee != nil {
		if err := e.tee.Write(b); err != nil {
			b.Release()
			return fmt.Errorf("materialize: %w", err)
		}
	}
	e.st.rowsOut.Add(b.NumRows())
	e.st.batchesOut.Add(1)
	e.st.bytesOut.Add(BatchBytes(b))
	if len(e.outs) == 0 {
		b.Release()
		return nil
	}
	for range len(e.outs) - 1 {
		b.Retain()
	}
	for i, o := range e.outs {
		select {
		case o.ch <- b:
			continue
		default:
		}
		t0 := time.Now()
		select {
		case o.ch <- b:
			e.st.blockedNs.Add(int64(time.Since(t0)))
		case <-ctx.Done():
			for range len(e.outs) - i {
				b.Release()
			}
			return ctx.Err()
		}
	}
	return nil
}

// collector gathers one batch's output for the ordered sequencer.
type collector struct {
	s   *stageRun
	out []arrow.RecordBatch
}

func (c *collector) Emit(_ context.Context, b arrow.RecordBatch) error {
	if err := c.s.checkSchema(b); err != nil {
		b.Release()
		return err
	}
	c.out = append(c.out, b)
	return nil
}
