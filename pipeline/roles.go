package pipeline

// The sink and barrier roles: one goroutine consuming every batch, and
// inputs gathered into re-iterable Datasets.

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/sourcegraph/conc"
)

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
			if d != nil {
				d.release()
			}
		}
	}()
	// Drain every input concurrently: reading them one after another could
	// deadlock when they share an upstream. An input the cache will hold
	// once its upstream commits (Run.fromCache) is drained without keeping
	// anything; drained[i] counts its rows.
	errs := make([]error, len(s.in))
	drained := make([]int64, len(s.in))
	var wg conc.WaitGroup
	for i, up := range s.node.Inputs {
		switch {
		case s.in[i] == nil: // reused: read from the cache (Run.direct)
			d, err := s.cacheInput(ctx, up)
			if err != nil {
				return err
			}
			datasets[i] = d
			s.st.rowsIn.Add(d.rows)
		case s.run.fromCache(up):
			wg.Go(func() {
				for {
					b, _, ok, err := s.recv(ctx, i)
					if !ok {
						errs[i] = err
						return
					}
					drained[i] += b.NumRows()
					b.Release()
				}
			})
		default:
			d := newSpillDataset(up.Stage.Schema(), s.run.plan.opts.Alloc, s.run.opts.SpillBytes, s.run.opts.SpillDir)
			inputs[i], datasets[i] = d, d
			wg.Go(func() {
				for {
					b, _, ok, err := s.recv(ctx, i)
					if !ok {
						if err == nil {
							err = d.seal()
							s.st.spilled.Add(d.fileBytes())
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
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The drained inputs' edges closed after their upstream's commit: read
	// what it committed.
	for i, up := range s.node.Inputs {
		if datasets[i] != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err // the upstream (or another stage) failed
		}
		if !s.run.runs[up].committed.Load() {
			return fmt.Errorf("input %q: its output was not committed", up.Spec.Name)
		}
		d, err := s.cacheInput(ctx, up)
		if err != nil {
			return err
		}
		if d.rows != drained[i] {
			return fmt.Errorf("the cached output of %q holds %d rows, the stage emitted %d", up.Spec.Name, d.rows, drained[i])
		}
		datasets[i] = d
	}
	ctx = context.WithValue(ctx, tempDirKey{}, s.run.opts.SpillDir)
	return s.call(-1, func() error { return k.Run(ctx, datasets, s.out) })
}

// cacheInput is the barrier input read from up's committed output.
func (s *stageRun) cacheInput(ctx context.Context, up *Node) (*cacheDataset, error) {
	rows, err := s.run.plan.cache.(CacheRows).Rows(ctx, up.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("the cached output of %q: %w", up.Spec.Name, err)
	}
	return &cacheDataset{cache: s.run.plan.cache, fp: up.Fingerprint, name: up.Spec.Name, schema: up.Stage.Schema(), rows: rows}, nil
}

type tempDirKey struct{}

// TempDir is the directory for a barrier's own temporary files during
// Run (the run's SpillDir; os.TempDir() outside a run). The stage removes
// what it writes there.
func TempDir(ctx context.Context) string {
	if d, ok := ctx.Value(tempDirKey{}).(string); ok && d != "" {
		return d
	}
	return os.TempDir()
}
