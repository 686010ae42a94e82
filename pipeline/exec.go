package pipeline

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sourcegraph/conc"
)

// RunOptions tune one execution of a Plan.
type RunOptions struct {
	// SpillDir holds barrier inputs that exceed SpillBytes; default
	// os.TempDir(). Inputs read from the cache (CacheRows) take none.
	SpillDir string
	// SpillBytes is how much of each barrier input stays in memory before
	// the rest is spilled to disk; default DefaultSpillBytes, < 0 never
	// spills.
	SpillBytes int64
	// Unordered lets multi-worker transforms emit in completion order. By
	// default their output keeps input order, so runs are reproducible.
	Unordered bool
	// Artifacts returns the artifact store of the stage with the given
	// fingerprint. Default: a fresh in-memory store per stage and run.
	Artifacts func(fingerprint string) Artifacts
}

// DefaultSpillBytes is RunOptions.SpillBytes when 0: 64 MiB of each
// barrier input in memory. Spilled batches are read back from a local
// Arrow IPC file (the page cache, for the sizes that fit in it), and the
// trainers, the biggest barriers, copy their input into their own block
// files anyway, so a larger budget mostly buys resident memory: at 256 MiB
// train.mae alone held 845 MiB at 30,000 phantom studies, at 64 MiB 452.
const DefaultSpillBytes = 64 << 20

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
	// runs holds the stages that run, by node, once Execute has opened
	// them (before any starts): a barrier looks up whether a computed
	// upstream committed its output.
	runs map[*Node]*stageRun
}

// NewRun prepares an execution of p.
func (p *Plan) NewRun(opts RunOptions) *Run {
	if opts.SpillDir == "" {
		opts.SpillDir = os.TempDir()
	}
	if opts.SpillBytes == 0 {
		opts.SpillBytes = DefaultSpillBytes
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

// fromCache reports whether barriers read up's output from the cache
// (cacheDataset) rather than holding a copy of it (spillDataset): up is
// materialized, in a cache that knows its rows.
func (r *Run) fromCache(up *Node) bool {
	if !up.Spec.Materialize || up.Def.Role == RoleSink || r.plan.cache == nil {
		return false
	}
	_, ok := r.plan.cache.(CacheRows)
	return ok
}

// direct reports whether barriers read up's output from the cache with
// no edge at all: it is reused. One computed in the run still reaches them
// by an edge, which they drain without keeping the batches (its
// materialization writes them) until it closes, after up's commit.
func (r *Run) direct(up *Node) bool { return up.Decision == Reuse && r.fromCache(up) }

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
				if r.direct(up) {
					continue // read from the cache by the barrier itself
				}
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
		case n.Decision == Reuse && len(outs[i]) == 0:
			r.stats[i].state.Store(int32(Reused)) // only barriers read it, from the cache
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
	r.runs = map[*Node]*stageRun{}
	for _, sr := range runs {
		r.runs[sr.node] = sr
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
