package pipeline

// One stage of a run: its goroutines, their start and exit, receiving
// batches, calling the stage (panics become errors) and the plain worker
// pool of unordered transforms.

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sourcegraph/conc"
)

type stageRun struct {
	run    *Run
	node   *Node
	st     *stageStats
	in     []*edge
	out    *emitter
	active atomic.Int32
	offset atomic.Int64 // rows received so far, for record numbers
	parts  PartWriter   // materialized by input batch (resumable), or nil
	nParts atomic.Int64 // input batches seen, once the sequencer is done
	// partQuar names the per-part quarantine records an earlier run left
	// (QuarantinePartPattern), when parts is set.
	partQuar map[string]bool
	keyed    *keyedParts // resuming by keyed parts (PartKeyer), or nil
	// committed is set once the stage's materialized output is committed,
	// before its output edges close.
	committed atomic.Bool
}

// start launches the stage's goroutines on wg.
func (s *stageRun) start(ctx context.Context, wg *conc.WaitGroup) {
	var bodies []func(context.Context) error
	if s.node.Decision == Reuse {
		bodies = append(bodies, s.reuse)
	} else {
		switch st := s.node.Stage.(type) {
		case Source:
			bodies = append(bodies, func(ctx context.Context) error {
				return s.call(-1, func() error { return st.Produce(ctx, s.out) })
			})
		case Transform:
			bodies = s.transformBodies(st)
		case Sink:
			bodies = append(bodies, func(ctx context.Context) error { return s.sink(ctx, st) })
		case Barrier:
			bodies = append(bodies, func(ctx context.Context) error { return s.barrier(ctx, st) })
		}
	}
	s.active.Store(int32(len(bodies)))
	s.st.state.Store(int32(Running))
	s.st.startNs.Store(time.Now().UnixNano())
	for _, body := range bodies {
		wg.Go(func() {
			var err error
			defer func() {
				if p := recover(); p != nil {
					err = panicError(p)
				}
				s.exit(ctx, err)
			}()
			err = body(ctx)
		})
	}
}

// exit ends one goroutine of the stage; the last one closes its outputs.
func (s *stageRun) exit(ctx context.Context, err error) {
	if err != nil {
		if !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
			s.run.fail(wrapStage(s.node.Spec.Name, -1, err))
		}
		s.st.state.Store(int32(Failed))
	}
	if s.active.Add(-1) > 0 {
		return
	}
	if f, ok := s.node.Stage.(Flusher); ok && s.node.Decision == Compute && err == nil && ctx.Err() == nil {
		ferr := s.call(-1, func() error { return f.Flush(ctx, s.out) })
		if ferr == nil && s.keyed != nil {
			ferr = s.call(-1, func() error {
				return s.keyed.finish(ctx, func(b arrow.RecordBatch) error { return s.out.send(ctx, b) })
			})
		}
		if ferr != nil {
			s.run.fail(ferr)
			s.st.state.Store(int32(Failed))
		}
	}
	s.commit(ctx)
	for _, e := range s.out.outs {
		e.producerDone()
	}
	s.st.endNs.Store(time.Now().UnixNano())
	if State(s.st.state.Load()) == Running {
		switch {
		case ctx.Err() != nil:
			s.st.state.Store(int32(Failed))
		case s.node.Decision == Reuse:
			s.st.state.Store(int32(Reused))
		default:
			s.st.state.Store(int32(Done))
		}
	}
}

// call runs one stage callback, timing it and turning a panic into an
// error; base is the stream index of the callback's first record.
func (s *stageRun) call(base int64, f func() error) (err error) {
	t0 := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = panicError(p)
		}
		s.st.busyNs.Add(int64(time.Since(t0)))
		if err != nil {
			err = wrapStage(s.node.Spec.Name, base, err)
		}
	}()
	return f()
}

func panicError(p any) error {
	stack := strings.Split(string(debug.Stack()), "\n")
	if len(stack) > 24 {
		stack = stack[:24]
	}
	return fmt.Errorf("%w: %v\n%s", ErrPanic, p, strings.Join(stack, "\n"))
}

// recv takes the next batch of input position i; ok is false at the end of
// the input or when ctx is done (err says which). A stage resuming by
// keyed parts gets only the rows no committed part holds (base still
// counts every row received).
func (s *stageRun) recv(ctx context.Context, i int) (b arrow.RecordBatch, base int64, ok bool, err error) {
	for {
		b, base, ok, err = s.recvAll(ctx, i)
		if !ok || s.keyed == nil {
			return b, base, ok, err
		}
		if b, err = s.keyed.filter(ctx, b); err != nil {
			return nil, base, false, wrapStage(s.node.Spec.Name, base, err)
		}
		if b != nil {
			return b, base, true, nil
		}
	}
}

// recvAll is recv without the keyed parts' filter.
func (s *stageRun) recvAll(ctx context.Context, i int) (b arrow.RecordBatch, base int64, ok bool, err error) {
	ch := s.in[i].ch
	select {
	case b, ok = <-ch:
	default:
		t0 := time.Now()
		select {
		case b, ok = <-ch:
		case <-ctx.Done():
			return nil, 0, false, ctx.Err()
		}
		s.st.idleNs.Add(int64(time.Since(t0)))
	}
	if !ok {
		return nil, 0, false, nil
	}
	rows := b.NumRows()
	s.st.rowsIn.Add(rows)
	s.st.batchesIn.Add(1)
	s.st.bytesIn.Add(BatchBytes(b))
	return b, s.offset.Add(rows) - rows, true, nil
}

func (s *stageRun) transformBodies(t Transform) []func(context.Context) error {
	w := s.node.Workers
	process := func(ctx context.Context, out Emitter) error {
		for {
			b, base, ok, err := s.recv(ctx, 0)
			if !ok {
				return err
			}
			err = s.call(base, func() error { return t.Process(ctx, b, out) })
			b.Release()
			if err != nil {
				return err
			}
		}
	}
	if (w == 1 && s.parts == nil) || s.run.opts.Unordered {
		bodies := make([]func(context.Context) error, w)
		for i := range bodies {
			bodies[i] = func(ctx context.Context) error { return process(ctx, s.out) }
		}
		return bodies
	}
	return s.orderedBodies(t, w)
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// checkSchema verifies that b matches the stage's declared schema.
func (s *stageRun) checkSchema(b arrow.RecordBatch) error {
	want := s.node.Stage.Schema()
	if got := b.Schema(); got != want && !got.Equal(want) {
		return fmt.Errorf("%w: emitted batch {%s}, declared {%s}", ErrSchemaMismatch, SchemaString(got), SchemaString(want))
	}
	return nil
}
