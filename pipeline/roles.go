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
	// deadlock when they share an upstream.
	errs := make([]error, len(s.in))
	var wg conc.WaitGroup
	for i, up := range s.node.Inputs {
		if s.in[i] == nil { // reused: read from the cache (Run.direct)
			rows, err := s.run.plan.cache.(CacheRows).Rows(ctx, up.Fingerprint)
			if err != nil {
				return fmt.Errorf("the cached output of %q: %w", up.Spec.Name, err)
			}
			datasets[i] = &cacheDataset{cache: s.run.plan.cache, fp: up.Fingerprint, name: up.Spec.Name, schema: up.Stage.Schema(), rows: rows}
			s.st.rowsIn.Add(rows)
			continue
		}
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
	ctx = context.WithValue(ctx, tempDirKey{}, s.run.opts.SpillDir)
	return s.call(-1, func() error { return k.Run(ctx, datasets, s.out) })
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
