package pipeline

// Materialization: writing a stage's output to the cache as it is
// emitted, committing it (with its quarantine) when the stage finishes,
// and reading a reused output instead of computing it.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// materialize starts the cache output of a materialized stage that runs.
func (s *stageRun) materialize(ctx context.Context) error {
	c := s.run.plan.cache
	if c == nil || !s.node.Spec.Materialize || s.node.Decision != Compute {
		return nil
	}
	if pc, ok := c.(PartCache); ok && s.keyedColumn() != "" {
		parts, err := pc.OpenParts(ctx, s.node.Fingerprint, s.node.Stage.Schema(), s.node.forced)
		if err == nil {
			s.keyed, err = s.openKeyed(ctx, parts, s.keyedColumn())
			if err != nil {
				if r, ok := parts.(interface{ Release() }); ok {
					r.Release()
				}
			}
		}
		if err != nil {
			return &StageError{Stage: s.node.Spec.Name, Record: -1, Err: fmt.Errorf("materialize: %w", err)}
		}
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
	if s.keyed != nil {
		s.parts = s.keyed.parts
		s.nParts.Store(int64(s.keyed.next))
	}
	if s.parts != nil {
		// A part writer that holds something until the stage ends (a lease
		// on its cache entry, renewed on a goroutine) lets it go here,
		// committed or not, so nothing outlives the run.
		if r, ok := s.parts.(interface{ Release() }); ok {
			defer r.Release()
		}
		if ctx.Err() == nil && State(s.st.state.Load()) != Failed {
			err := s.checkBeforeCommit(ctx)
			if err == nil {
				err = s.parts.Commit(int(s.nParts.Load()))
			}
			if err != nil {
				s.failCommit(err)
			} else {
				s.committed.Store(true)
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
	} else {
		s.committed.Store(true)
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
