package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sourcegraph/conc"
)

// RunOptions tune one execution of a Plan.
type RunOptions struct {
	// SpillDir holds barrier inputs that exceed SpillBytes; default
	// os.TempDir().
	SpillDir string
	// SpillBytes is how much of each barrier input stays in memory before
	// the rest is spilled to disk; default 256 MiB, < 0 never spills.
	SpillBytes int64
	// Unordered lets multi-worker transforms emit in completion order. By
	// default their output keeps input order, so runs are reproducible.
	Unordered bool
	// Artifacts returns the artifact store of the stage with the given
	// fingerprint. Default: a fresh in-memory store per stage and run.
	Artifacts func(fingerprint string) Artifacts
}

// Run is one execution of a Plan. Create it with Plan.NewRun, then call
// Execute once; Stats may be called concurrently at any time.
type Run struct {
	plan  *Plan
	opts  RunOptions
	stats []*stageStats

	cancel  context.CancelCauseFunc
	errOnce sync.Once
	err     error
	cleanup []func()
}

// NewRun prepares an execution of p.
func (p *Plan) NewRun(opts RunOptions) *Run {
	if opts.SpillDir == "" {
		opts.SpillDir = os.TempDir()
	}
	if opts.SpillBytes == 0 {
		opts.SpillBytes = 256 << 20
	}
	r := &Run{plan: p, opts: opts, stats: make([]*stageStats, len(p.Nodes))}
	for _, n := range p.Nodes {
		if n.artifacts == nil {
			continue
		}
		if opts.Artifacts != nil {
			n.artifacts.bind(opts.Artifacts(n.Fingerprint))
		} else {
			n.artifacts.bind(NewMemArtifacts())
		}
	}
	for i := range r.stats {
		r.stats[i] = &stageStats{}
	}
	return r
}

// Stats returns a snapshot of every stage's counters, in plan order.
func (r *Run) Stats() []StageStats {
	now := time.Now()
	out := make([]StageStats, len(r.plan.Nodes))
	for i, n := range r.plan.Nodes {
		out[i] = r.stats[i].snapshot(n, now)
	}
	return out
}

// Quarantined returns the records stages set aside so far.
func (r *Run) Quarantined() []QuarantineEntry { return r.plan.quar.snapshot() }

// edge is a bounded channel of batches between stages. Several producers
// may share one edge (fan-in); the last one to finish closes it.
type edge struct {
	ch        chan arrow.RecordBatch
	producers atomic.Int32
}

func (e *edge) producerDone() {
	if e.producers.Add(-1) == 0 {
		close(e.ch)
	}
}

// Execute runs the plan to completion. The first failure cancels every
// stage and is returned as a *StageError naming the stage (and the record,
// when the stage said which). Every batch in flight is released before
// Execute returns.
func (r *Run) Execute(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = cancel

	nodes := r.plan.Nodes
	inboxes := make([][]*edge, len(nodes)) // per node, per input position
	outs := make([][]*edge, len(nodes))
	idx := map[*Node]int{}
	for i, n := range nodes {
		idx[n] = i
	}
	var all []*edge
	for i, n := range nodes {
		if len(n.Inputs) == 0 || n.Decision != Compute {
			continue // sources, and stages read from the cache or skipped
		}
		inboxes[i] = make([]*edge, len(n.Inputs))
		if n.Def.Role == RoleBarrier {
			for j, up := range n.Inputs {
				e := &edge{ch: make(chan arrow.RecordBatch, up.Buffer)}
				e.producers.Store(1)
				inboxes[i][j] = e
				outs[idx[up]] = append(outs[idx[up]], e)
				all = append(all, e)
			}
			continue
		}
		capacity := 0
		for _, up := range n.Inputs {
			capacity = max(capacity, up.Buffer)
		}
		e := &edge{ch: make(chan arrow.RecordBatch, capacity)}
		e.producers.Store(int32(len(n.Inputs)))
		all = append(all, e)
		for j, up := range n.Inputs {
			inboxes[i][j] = e
			outs[idx[up]] = append(outs[idx[up]], e)
		}
	}

	// A forced stage starts afresh: the artifacts an earlier run left
	// under its fingerprint (checkpoints to resume from) go, as its
	// committed parts do (materialize opens them fresh).
	for _, n := range nodes {
		if n.forced && n.Decision == Compute {
			if err := n.artifacts.clear(ctx); err != nil {
				return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("force: %w", err)}
			}
		}
	}
	// What reused outputs quarantined when they were made counts in this
	// run's quarantine, as it would in a cold run.
	if r.plan.cache != nil {
		if err := r.restoreQuarantine(ctx); err != nil {
			return err
		}
	}
	// Open every materialized output before starting anything, so a
	// failure here leaves no goroutine or edge behind.
	var runs []*stageRun
	for i, n := range nodes {
		switch {
		case n.Decision == Skip:
			r.stats[i].state.Store(int32(Skipped))
			continue
		case n.Decision == Reuse && n.Def.Role == RoleSink:
			r.stats[i].state.Store(int32(Reused)) // its output is committed already
			continue
		}
		if c, ok := n.Stage.(Committer); ok && n.Def.Role == RoleSink {
			c.SetFingerprint(n.Fingerprint)
		}
		sr := &stageRun{run: r, node: n, st: r.stats[i], in: inboxes[i]}
		sr.out = &emitter{stageRun: sr, outs: outs[i]}
		if err := sr.materialize(ctx); err != nil {
			for _, prev := range runs {
				if prev.out.tee != nil {
					prev.out.tee.Abort()
				}
			}
			return err
		}
		runs = append(runs, sr)
	}
	var wg conc.WaitGroup
	for _, sr := range runs {
		sr.start(ctx, &wg)
	}
	wg.Wait()
	for _, sr := range runs {
		if rel, ok := sr.node.Stage.(Releaser); ok && sr.node.Decision == Compute {
			rel.ReleaseRun()
		}
	}

	// Every producer closed its edges on exit; release what is left.
	for _, e := range all {
		for b := range e.ch {
			b.Release()
		}
	}
	for _, f := range r.cleanup {
		f()
	}
	if r.err != nil {
		return r.err
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return r.checkErrorRate(nil, nil)
}

// fail records the run's first error and cancels the rest.
func (r *Run) fail(err error) {
	r.errOnce.Do(func() { r.err = err })
	r.cancel(err)
}

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
		if ferr := s.call(-1, func() error { return f.Flush(ctx, s.out) }); ferr != nil {
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

// materialize starts the cache output of a materialized stage that runs.
func (s *stageRun) materialize(ctx context.Context) error {
	c := s.run.plan.cache
	if c == nil || !s.node.Spec.Materialize || s.node.Decision != Compute {
		return nil
	}
	if pc, ok := c.(PartCache); ok && s.resumable() {
		parts, err := pc.OpenParts(ctx, s.node.Fingerprint, s.node.Stage.Schema(), s.node.forced)
		if err != nil {
			return &StageError{Stage: s.node.Spec.Name, Record: -1, Err: fmt.Errorf("materialize: %w", err)}
		}
		s.parts = parts
		names, err := s.node.artifacts.List(ctx)
		if err != nil {
			return &StageError{Stage: s.node.Spec.Name, Record: -1, Err: fmt.Errorf("materialize: list quarantine records: %w", err)}
		}
		s.partQuar = map[string]bool{}
		for _, name := range names {
			if strings.HasPrefix(name, path.Dir(QuarantinePartPattern)+"/") {
				s.partQuar[name] = true
			}
		}
		return nil
	}
	w, err := c.Create(ctx, s.node.Fingerprint, s.node.Stage.Schema())
	if err != nil {
		return &StageError{Stage: s.node.Spec.Name, Record: -1, Err: fmt.Errorf("materialize: %w", err)}
	}
	s.out.tee = w
	return nil
}

// resumable reports whether the stage's output can be kept per input
// batch: a transform with one input, which does not hold rows back, whose
// output order is kept.
func (s *stageRun) resumable() bool {
	_, isTransform := s.node.Stage.(Transform)
	_, flushes := s.node.Stage.(Flusher)
	return isTransform && !flushes && len(s.node.Inputs) == 1 && !s.run.opts.Unordered
}

// commit makes a materialized stage's output visible once the stage has
// finished cleanly; otherwise it discards it (a stage kept by input batch
// keeps its committed parts for the next run to resume from).
func (s *stageRun) commit(ctx context.Context) {
	if s.parts != nil {
		if ctx.Err() == nil && State(s.st.state.Load()) != Failed {
			err := s.checkBeforeCommit(ctx)
			if err == nil {
				err = s.parts.Commit(int(s.nParts.Load()))
			}
			if err != nil {
				s.failCommit(err)
			}
		}
		return
	}
	w := s.out.tee
	if w == nil {
		return
	}
	if ctx.Err() != nil || State(s.st.state.Load()) == Failed {
		w.Abort()
		return
	}
	err := s.checkBeforeCommit(ctx)
	if err != nil {
		w.Abort()
	} else {
		err = w.Commit()
	}
	if err != nil {
		s.failCommit(err)
	}
}

// failCommit fails the run with err, which kept the stage's output from
// being committed (an error budget's *StageError as it is).
func (s *stageRun) failCommit(err error) {
	if se := (*StageError)(nil); !errors.As(err, &se) {
		err = &StageError{Stage: s.node.Spec.Name, Record: -1, Err: fmt.Errorf("materialize: %w", err)}
	}
	s.run.fail(err)
	s.st.state.Store(int32(Failed))
}

// checkBeforeCommit checks the error budgets of the stage and its
// upstream, whose counts are final, so that an output made of what is
// left after too many records were quarantined is never committed (a
// later run would reuse it), then writes the stage's quarantine record.
func (s *stageRun) checkBeforeCommit(ctx context.Context) error {
	up := upstream(s.node)
	if err := s.run.checkErrorRate(up, up); err != nil {
		return err
	}
	return s.run.saveQuarantine(ctx, s.node)
}

// reuse emits the stage's committed output from the cache.
func (s *stageRun) reuse(ctx context.Context) error {
	return s.call(-1, func() error {
		return s.run.plan.cache.Read(ctx, s.node.Fingerprint, func(b arrow.RecordBatch) error { return s.out.Emit(ctx, b) })
	})
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
// the input or when ctx is done (err says which).
func (s *stageRun) recv(ctx context.Context, i int) (b arrow.RecordBatch, base int64, ok bool, err error) {
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

// orderedBodies runs w workers while keeping output in input order: a
// dispatcher numbers input batches, workers collect their output per
// batch, and a sequencer emits the collections in number order. At most 2w
// batches are in flight, so memory stays bounded.
func (s *stageRun) orderedBodies(t Transform, w int) []func(context.Context) error {
	type job struct {
		seq    int64
		b      arrow.RecordBatch
		base   int64
		cached bool // replay the committed part instead of processing b
	}
	type result struct {
		seq    int64
		out    []arrow.RecordBatch
		cached bool
		quar   []QuarantineEntry // what processing the batch quarantined
	}
	tokens := make(chan struct{}, 2*w)
	jobs := make(chan job)
	results := make(chan result, w)
	var workers atomic.Int32
	workers.Store(int32(w))
	s.run.cleanup = append(s.run.cleanup, func() {
		for res := range results {
			releaseAll(res.out)
		}
	})

	dispatch := func(ctx context.Context) error {
		defer close(jobs)
		for seq := int64(0); ; seq++ {
			b, base, ok, err := s.recv(ctx, 0)
			if !ok {
				return err
			}
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				b.Release()
				return ctx.Err()
			}
			cached := s.parts != nil && s.parts.Has(int(seq))
			select {
			case jobs <- job{seq, b, base, cached}:
			case <-ctx.Done():
				b.Release()
				return ctx.Err()
			}
		}
	}
	work := func(ctx context.Context) error {
		defer func() {
			if workers.Add(-1) == 0 {
				close(results)
			}
		}()
		for {
			var j job
			var ok bool
			select {
			case j, ok = <-jobs:
				if !ok {
					return nil
				}
			case <-ctx.Done():
				return ctx.Err()
			}
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
				err = s.call(j.base, func() error { return t.Process(pctx, j.b, col) })
			}
			j.b.Release()
			if err != nil {
				releaseAll(col.out)
				return err
			}
			res := result{seq: j.seq, out: col.out, cached: j.cached}
			if bq != nil {
				res.quar = bq.take()
			}
			select {
			case results <- res:
			case <-ctx.Done():
				releaseAll(col.out)
				return ctx.Err()
			}
		}
	}
	sequence := func(ctx context.Context) error {
		pending := map[int64][]arrow.RecordBatch{}
		defer func() {
			for _, out := range pending {
				releaseAll(out)
			}
		}()
		next := int64(0)
		fresh := map[int64][]QuarantineEntry{} // results computed by this run, to commit as parts
		for res := range results {
			pending[res.seq] = res.out
			if !res.cached {
				fresh[res.seq] = res.quar
			}
			for out, ok := pending[next]; ok; out, ok = pending[next] {
				delete(pending, next)
				if quar, ok := fresh[next]; ok && s.parts != nil {
					delete(fresh, next)
					// The record first: a committed part always has it.
					err := s.savePartQuarantine(ctx, int(next), quar)
					if err == nil {
						err = s.parts.Put(int(next), out)
					}
					if err != nil {
						releaseAll(out)
						return fmt.Errorf("materialize: %w", err)
					}
				}
				// Emitting is the stage's work too: count it as busy, so
				// that the blocked time measured inside Emit is part of it.
				t0 := time.Now()
				for i, b := range out {
					if err := s.out.Emit(ctx, b); err != nil {
						releaseAll(out[i+1:])
						return err
					}
				}
				s.st.busyNs.Add(int64(time.Since(t0)))
				<-tokens
				next++
			}
		}
		s.nParts.Store(next)
		return nil
	}
	bodies := []func(context.Context) error{dispatch, sequence}
	for range w {
		bodies = append(bodies, work)
	}
	return bodies
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

func (s *stageRun) sink(ctx context.Context, k Sink) (err error) {
	defer func() {
		if err != nil || ctx.Err() != nil {
			k.Abort()
		}
	}()
	for {
		b, base, ok, err := s.recv(ctx, 0)
		if !ok {
			if err != nil {
				return err
			}
			// Before committing anything: every stage's error rate so far,
			// and what the stages upstream, all finished, emitted.
			if err := s.run.checkErrorRate(nil, upstream(s.node)); err != nil {
				return err
			}
			if _, ok := k.(Committer); ok && s.run.plan.cache != nil {
				if err := s.run.saveQuarantine(ctx, s.node); err != nil {
					return err
				}
			}
			return s.call(-1, func() error { return k.Close(ctx) })
		}
		err = s.call(base, func() error { return k.Consume(ctx, b) })
		b.Release()
		if err != nil {
			return err
		}
	}
}

func (s *stageRun) barrier(ctx context.Context, k Barrier) error {
	inputs := make([]*spillDataset, len(s.in))
	datasets := make([]Dataset, len(s.in))
	defer func() {
		for _, d := range inputs {
			d.release()
		}
	}()
	// Drain every input concurrently: reading them one after another could
	// deadlock when they share an upstream.
	errs := make([]error, len(s.in))
	var wg conc.WaitGroup
	for i, up := range s.node.Inputs {
		d := newSpillDataset(up.Stage.Schema(), s.run.plan.opts.Alloc, s.run.opts.SpillBytes, s.run.opts.SpillDir)
		inputs[i], datasets[i] = d, d
		wg.Go(func() {
			for {
				b, _, ok, err := s.recv(ctx, i)
				if !ok {
					if err == nil {
						err = d.seal()
					}
					errs[i] = err
					return
				}
				if err := d.add(b); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return s.call(-1, func() error { return k.Run(ctx, datasets, s.out) })
}

// checkSchema verifies that b matches the stage's declared schema.
func (s *stageRun) checkSchema(b arrow.RecordBatch) error {
	want := s.node.Stage.Schema()
	if got := b.Schema(); got != want && !got.Equal(want) {
		return fmt.Errorf("%w: emitted batch {%s}, declared {%s}", ErrSchemaMismatch, SchemaString(got), SchemaString(want))
	}
	return nil
}

// emitter sends a stage's batches to every consumer edge.
type emitter struct {
	*stageRun
	outs []*edge
	tee  CacheWriter // materialized output, or nil
}

func (e *emitter) Emit(ctx context.Context, b arrow.RecordBatch) error {
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
