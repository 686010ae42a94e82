package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// orderedPool runs a transform on w workers while keeping its output in
// input order: a dispatcher numbers input batches, workers collect their
// output per batch, and a sequencer emits the collections in number order
// (committing each as a part first when the stage resumes by parts). At
// most 2w batches are in flight, so memory stays bounded.
type orderedPool struct {
	s       *stageRun
	t       Transform
	tokens  chan struct{} // one per batch in flight
	jobs    chan orderedJob
	results chan orderedResult
	workers atomic.Int32 // running workers; the last one closes results
}

type orderedJob struct {
	seq    int64
	b      arrow.RecordBatch
	base   int64
	cached bool // replay the committed part instead of processing b
}

type orderedResult struct {
	seq    int64
	out    []arrow.RecordBatch
	cached bool
	quar   []QuarantineEntry // what processing the batch quarantined
}

// orderedBodies returns the goroutine bodies of an orderedPool of w
// workers: the dispatcher, the sequencer and the workers.
func (s *stageRun) orderedBodies(t Transform, w int) []func(context.Context) error {
	p := &orderedPool{s: s, t: t, tokens: make(chan struct{}, 2*w), jobs: make(chan orderedJob),
		results: make(chan orderedResult, w)}
	p.workers.Store(int32(w))
	s.run.cleanup = append(s.run.cleanup, func() {
		for res := range p.results {
			releaseAll(res.out)
		}
	})
	bodies := []func(context.Context) error{p.dispatch, p.sequence}
	for range w {
		bodies = append(bodies, p.work)
	}
	return bodies
}

// dispatch numbers the input batches and hands them to the workers.
func (p *orderedPool) dispatch(ctx context.Context) error {
	defer close(p.jobs)
	for seq := int64(0); ; seq++ {
		b, base, ok, err := p.s.recv(ctx, 0)
		if !ok {
			return err
		}
		select {
		case p.tokens <- struct{}{}:
		case <-ctx.Done():
			b.Release()
			return ctx.Err()
		}
		cached := p.s.parts != nil && p.s.parts.Has(int(seq))
		select {
		case p.jobs <- orderedJob{seq, b, base, cached}:
		case <-ctx.Done():
			b.Release()
			return ctx.Err()
		}
	}
}

// work processes (or replays) jobs until there are none.
func (p *orderedPool) work(ctx context.Context) error {
	defer func() {
		if p.workers.Add(-1) == 0 {
			close(p.results)
		}
	}()
	for {
		var j orderedJob
		var ok bool
		select {
		case j, ok = <-p.jobs:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		res, err := p.process(ctx, j)
		if err != nil {
			return err
		}
		select {
		case p.results <- res:
		case <-ctx.Done():
			releaseAll(res.out)
			return ctx.Err()
		}
	}
}

// process runs the transform on one job's batch, or replays the part an
// earlier run committed for it, and collects the output.
func (p *orderedPool) process(ctx context.Context, j orderedJob) (orderedResult, error) {
	s := p.s
	col := &collector{s: s}
	var err error
	var bq *batchQuarantine
	if j.cached {
		err = s.call(j.base, func() error {
			if err := s.parts.Replay(ctx, int(j.seq), func(b arrow.RecordBatch) error { return col.Emit(ctx, b) }); err != nil {
				return err
			}
			return s.replayPartQuarantine(ctx, int(j.seq))
		})
		s.st.resumed.Add(1)
	} else {
		pctx := ctx
		if s.parts != nil {
			bq = &batchQuarantine{stage: s.node.Spec.Name}
			pctx = context.WithValue(ctx, batchKey{}, bq)
		}
		err = s.call(j.base, func() error { return p.t.Process(pctx, j.b, col) })
	}
	j.b.Release()
	if err != nil {
		releaseAll(col.out)
		return orderedResult{}, err
	}
	res := orderedResult{seq: j.seq, out: col.out, cached: j.cached}
	if bq != nil {
		res.quar = bq.take()
	}
	return res, nil
}

// sequence emits the results in input order, committing each freshly
// computed one as a part first when the stage resumes by parts.
func (p *orderedPool) sequence(ctx context.Context) error {
	pending := map[int64][]arrow.RecordBatch{}
	defer func() {
		for _, out := range pending {
			releaseAll(out)
		}
	}()
	next := int64(0)
	fresh := map[int64][]QuarantineEntry{} // results computed by this run, to commit as parts
	for res := range p.results {
		pending[res.seq] = res.out
		if !res.cached {
			fresh[res.seq] = res.quar
		}
		for out, ok := pending[next]; ok; out, ok = pending[next] {
			delete(pending, next)
			if quar, ok := fresh[next]; ok && p.s.parts != nil {
				delete(fresh, next)
				if err := p.commitPart(ctx, next, out, quar); err != nil {
					releaseAll(out)
					return err
				}
			}
			if err := p.emitAll(ctx, out); err != nil {
				return err
			}
			<-p.tokens
			next++
		}
	}
	p.s.nParts.Store(next)
	return nil
}

// commitPart commits batch k's output as part k, its quarantine record
// first: a committed part always has it.
func (p *orderedPool) commitPart(ctx context.Context, k int64, out []arrow.RecordBatch, quar []QuarantineEntry) error {
	err := p.s.savePartQuarantine(ctx, int(k), quar)
	if err == nil {
		err = p.s.parts.Put(int(k), out)
	}
	if err != nil {
		return fmt.Errorf("materialize: %w", err)
	}
	return nil
}

// emitAll emits out downstream. Emitting is the stage's work too: it
// counts as busy, so that the blocked time measured inside Emit is part of
// it.
func (p *orderedPool) emitAll(ctx context.Context, out []arrow.RecordBatch) error {
	t0 := time.Now()
	for i, b := range out {
		if err := p.s.out.Emit(ctx, b); err != nil {
			releaseAll(out[i+1:])
			return err
		}
	}
	p.s.st.busyNs.Add(int64(time.Since(t0)))
	return nil
}
