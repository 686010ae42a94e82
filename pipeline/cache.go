package pipeline

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Cache keeps materialized stage outputs, addressed by fingerprint. The
// engine knows nothing of where they live; connectors/dataset.Cache keeps
// them as committed datasets in an object store.
type Cache interface {
	// Has reports whether a committed output exists for fingerprint fp.
	Has(ctx context.Context, fp string) (bool, error)
	// Read emits the committed output of fp in order; emit takes
	// ownership of each batch.
	Read(ctx context.Context, fp string, emit func(arrow.RecordBatch) error) error
	// Create starts the output of fp; nothing is visible before Commit.
	Create(ctx context.Context, fp string, schema *arrow.Schema) (CacheWriter, error)
}

// CacheWriter receives one stage's output: Write does not take ownership
// of the batch; nothing is visible before Commit; Abort discards. It is an
// alias of an interface literal so that implementations need not import
// this package.
type CacheWriter = interface {
	Write(arrow.RecordBatch) error
	Commit() error
	Abort()
}

// CacheRows is implemented by caches that know how many rows a committed
// output has without reading it (dataset.Cache: its manifest). With such
// a cache, a Barrier reads a materialized input straight from the cache,
// each time it iterates it, instead of holding a copy of its own in
// memory and in a spill file (for a trainer over MIMIC-CXR's pairs,
// 19 GB of temp files per trainer): at once when the run reuses the
// input, after the input's stage has committed it when the run computes
// it.
type CacheRows interface {
	Rows(ctx context.Context, fp string) (int64, error)
}

// CacheVerifier is implemented by caches whose Has checks only what is
// cheap (dataset.Cache: the manifest, and a stat of each part): Verify
// reads fp's committed output back against its checksums when it holds at
// most maxBytes (maxBytes < 0: never), dropping a damaged entry and
// reporting false; a larger entry is reported true unread, and Read then
// checks each part as it reads it (a damaged part fails the read). Resolve
// calls Verify only for reused entries the run reads.
type CacheVerifier interface {
	Verify(ctx context.Context, fp string, maxBytes int64) (bool, error)
}

// InputFingerprinter is implemented by sources whose output depends on data
// outside their params (files, tables): the fingerprint of what they would
// read now (keys, sizes, ETags) joins the stage fingerprint when a plan is
// resolved against a cache, so changed inputs are never served stale.
type InputFingerprinter interface {
	InputFingerprint(ctx context.Context) (string, error)
}

// Committer is implemented by sinks that record the fingerprint of the
// output they commit: when the committed output already carries the sink's
// fingerprint, Resolve marks the sink Reuse and nothing runs for it.
type Committer interface {
	// Committed reports whether the output committed now was written for
	// fingerprint fp.
	Committed(ctx context.Context, fp string) (bool, error)
	// SetFingerprint tells the sink the fingerprint to record at commit.
	SetFingerprint(fp string)
}

// Decision is what a resolved run does with a stage.
type Decision int

const (
	// Compute runs the stage (and materializes it when asked).
	Compute Decision = iota
	// Reuse reads the stage's committed output instead of computing it.
	Reuse
	// Skip neither runs nor reads the stage: only reused stages need it.
	Skip
)

func (d Decision) String() string { return [...]string{"compute", "reuse", "skip"}[d] }

// Resolve prepares the plan for a run with cache: sources that implement
// InputFingerprinter fold their inputs into the fingerprints, then every
// materialized stage whose output is in the cache (Cache.Has), and every
// Committer sink whose committed output carries its fingerprint, is marked
// Reuse (unless it or one of its upstream stages is in force), and stages
// that only reused stages need are marked Skip. With a CacheVerifier, each
// reused output that a computed stage reads is then verified (up to
// PlanOptions.VerifyBytes); one found damaged is computed instead, and the
// decisions are taken again (what it reads may now be needed). Skipped and
// unread outputs are never verified. Execute then writes the output of
// every materialized stage it runs to cache and commits it when the stage
// finishes.
func (p *Plan) Resolve(ctx context.Context, cache Cache, force []string) error {
	forced := map[*Node]bool{}
	for _, name := range force {
		n := p.Node(name)
		if n == nil {
			return &PlanError{Variant: p.Spec.Variant, Stage: name, Key: "force", Err: fmt.Errorf("%w: no such stage", ErrMissingInput)}
		}
		forced[n] = true
	}
	p.cache = cache
	committed := map[*Node]bool{}
	for _, n := range p.Nodes { // topological: inputs first
		if f, ok := n.Stage.(InputFingerprinter); ok {
			in, err := f.InputFingerprint(ctx)
			if err != nil {
				return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("fingerprint inputs: %w", err)}
			}
			n.inputFP = in
		}
		n.Fingerprint = fingerprint(n, p.opts.CodeVersion, p.opts.Shard)
		for _, up := range n.Inputs {
			forced[n] = forced[n] || forced[up]
		}
		n.forced = forced[n]
		var ok bool
		var err error
		switch c, isCommitter := n.Stage.(Committer); {
		case forced[n]:
		case n.Def.Role == RoleSink && isCommitter:
			ok, err = c.Committed(ctx, n.Fingerprint)
		case n.Spec.Materialize:
			ok, err = cache.Has(ctx, n.Fingerprint)
		}
		if err != nil {
			return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("lookup of committed output: %w", err)}
		}
		committed[n] = ok
	}
	v, _ := cache.(CacheVerifier)
	budget := p.opts.VerifyBytes
	if budget == 0 {
		budget = DefaultVerifyBytes
	}
	verified := map[*Node]bool{}
	for {
		p.decide(committed)
		damaged := false
		for _, n := range p.Nodes {
			if v == nil || n.Decision != Reuse || verified[n] || !readInRun(n) {
				continue
			}
			verified[n] = true
			ok, err := v.Verify(ctx, n.Fingerprint, budget)
			if err != nil {
				return &StageError{Stage: n.Spec.Name, Record: -1, Err: fmt.Errorf("verify the committed output: %w", err)}
			}
			if !ok {
				committed[n], damaged = false, true
			}
		}
		if !damaged {
			return nil
		}
	}
}

// readInRun reports whether a computed stage reads n's output.
func readInRun(n *Node) bool {
	for _, c := range n.Outputs {
		if c.Decision == Compute {
			return true
		}
	}
	return false
}

// decide marks the stages whose output is committed Reuse and the rest
// Compute, then marks Skip those that no computed stage needs.
func (p *Plan) decide(committed map[*Node]bool) {
	for _, n := range p.Nodes {
		n.Decision = Compute
		if committed[n] {
			n.Decision = Reuse
		}
	}
	// A stage is needed when a needed, computed consumer reads it, or when
	// it is a sink (or has no consumers) whose output is not committed yet.
	needed := map[*Node]bool{}
	for i := len(p.Nodes) - 1; i >= 0; i-- {
		n := p.Nodes[i]
		if len(n.Outputs) == 0 && n.Decision == Compute {
			needed[n] = true
		}
		for _, c := range n.Outputs {
			if needed[c] && c.Decision == Compute {
				needed[n] = true
			}
		}
		if !needed[n] && !(len(n.Outputs) == 0 && n.Decision == Reuse) {
			n.Decision = Skip
		}
	}
}

// PartCache is implemented by caches that can keep a materialized
// transform's output per input batch, so that an interrupted stage resumes:
// parts committed by an earlier, unfinished run with the same fingerprint
// are replayed instead of recomputed. The engine uses it for materialized
// transforms with one input that do not hold rows back (no Flusher); it
// relies on the stage's input arriving in the same batches on the rerun,
// which holds when everything upstream is deterministic.
type PartCache interface {
	Cache
	// OpenParts starts fp's output by parts; fresh discards parts left by
	// an earlier run instead of resuming from them.
	OpenParts(ctx context.Context, fp string, schema *arrow.Schema, fresh bool) (PartWriter, error)
}

// PartWriter writes one stage's output part by part (part k holds the
// output of input batch k). It is an alias of an interface literal so that
// implementations need not import this package.
type PartWriter = interface {
	// Has reports whether part k was committed by an earlier run.
	Has(k int) bool
	// Replay emits committed part k; emit owns each batch.
	Replay(ctx context.Context, k int, emit func(arrow.RecordBatch) error) error
	// Put commits part k (no batches: an empty part); it does not take
	// ownership of the batches.
	Put(k int, batches []arrow.RecordBatch) error
	// Commit makes parts 0..n-1 the stage's output.
	Commit(n int) error
}
