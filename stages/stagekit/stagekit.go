// Package stagekit is what every stage family shares: the dependencies
// stages get from outside the pipeline file (Deps: a store opener) and a
// store opened on first use (Store). Stages log through the
// pipeline.BuildContext's *slog.Logger and add columns to their input
// schema with schemas.AppendColumns.
package stagekit

import (
	"context"
	"fmt"
	"sync"

	"github.com/medflow/medflow/connectors/objstore"
)

// Opener returns the store for a URI (a local folder or s3://).
type Opener func(ctx context.Context, uri string) (objstore.Store, error)

// Deps are what stage kinds need from outside the pipeline file.
type Deps struct {
	// Open returns the store for a URI (local folder or s3://).
	Open Opener
}

// Check reports a missing dependency, naming the stage family that needs
// it ("files: Deps.Open is nil").
func (d Deps) Check(family string) error {
	if d.Open == nil {
		return fmt.Errorf("%s: Deps.Open is nil", family)
	}
	return nil
}

// Store is the store of one URI, opened on first use (Definition.New does
// no I/O) and kept for the stage's life. A failed open is not remembered:
// the next Get tries again. Safe for concurrent use.
type Store struct {
	open Opener
	uri  string

	mu    sync.Mutex
	store objstore.Store
}

// NewStore returns the lazily opened store of uri.
func NewStore(open Opener, uri string) *Store { return &Store{open: open, uri: uri} }

// Get returns the store, opening it on the first call that succeeds.
func (s *Store) Get(ctx context.Context) (objstore.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store == nil {
		st, err := s.open(ctx, s.uri)
		if err != nil {
			return nil, err
		}
		s.store = st
	}
	return s.store, nil
}
