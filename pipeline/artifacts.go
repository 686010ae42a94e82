package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sync"
)

// Artifacts holds a stage's side outputs: files that are not its Arrow
// stream, such as training checkpoints and curves, metric tables and plots.
// A stage's artifacts live under its fingerprint, so a reused stage keeps
// the artifacts of the run that computed it, and a stage restarted after a
// crash finds the checkpoints its killed run left. Names are slash
// separated relative keys ("checkpoints/step-000100.arrow").
type Artifacts interface {
	Put(ctx context.Context, name string, data []byte) error
	// Get returns an error wrapping fs.ErrNotExist when name is absent.
	Get(ctx context.Context, name string) ([]byte, error)
	// List returns every name, sorted.
	List(ctx context.Context) ([]string, error)
	Delete(ctx context.Context, name string) error
}

// ErrNoArtifacts is returned by BuildContext.Artifacts outside a run: the
// store is bound when the run starts, since it is keyed by the fingerprint.
var ErrNoArtifacts = errors.New("artifacts are available only while the stage runs")

// artifactSlot is the Artifacts a stage gets at build time; NewRun binds
// it to the store for the stage's fingerprint.
type artifactSlot struct {
	mu    sync.RWMutex
	store Artifacts
	stage string
}

func (s *artifactSlot) bind(a Artifacts) {
	s.mu.Lock()
	s.store = a
	s.mu.Unlock()
}

func (s *artifactSlot) get() (Artifacts, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.store == nil {
		return nil, fmt.Errorf("stage %q: %w", s.stage, ErrNoArtifacts)
	}
	return s.store, nil
}

func (s *artifactSlot) Put(ctx context.Context, name string, data []byte) error {
	a, err := s.get()
	if err != nil {
		return err
	}
	return a.Put(ctx, name, data)
}

func (s *artifactSlot) Get(ctx context.Context, name string) ([]byte, error) {
	a, err := s.get()
	if err != nil {
		return nil, err
	}
	return a.Get(ctx, name)
}

func (s *artifactSlot) List(ctx context.Context) ([]string, error) {
	a, err := s.get()
	if err != nil {
		return nil, err
	}
	return a.List(ctx)
}

func (s *artifactSlot) Delete(ctx context.Context, name string) error {
	a, err := s.get()
	if err != nil {
		return err
	}
	return a.Delete(ctx, name)
}

// clear deletes every artifact of the stage (a forced stage starts
// afresh, without the checkpoints of an earlier run).
func (s *artifactSlot) clear(ctx context.Context) error {
	names, err := s.List(ctx)
	if err != nil {
		return fmt.Errorf("list artifacts: %w", err)
	}
	for _, name := range names {
		if err := s.Delete(ctx, name); err != nil {
			return fmt.Errorf("delete artifact %s: %w", name, err)
		}
	}
	return nil
}

// MemArtifacts is an in-memory Artifacts, the default of a run whose
// RunOptions name no store (tests, dry runs): artifacts last as long as
// the value.
type MemArtifacts struct {
	mu    sync.Mutex
	files map[string][]byte
}

// NewMemArtifacts returns an empty in-memory store.
func NewMemArtifacts() *MemArtifacts { return &MemArtifacts{files: map[string][]byte{}} }

func (m *MemArtifacts) Put(_ context.Context, name string, data []byte) error {
	if name == "" {
		return errors.New("artifact: empty name")
	}
	m.mu.Lock()
	m.files[name] = slices.Clone(data)
	m.mu.Unlock()
	return nil
}

func (m *MemArtifacts) Get(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	if !ok {
		return nil, fmt.Errorf("artifact %q: %w", name, fs.ErrNotExist)
	}
	return slices.Clone(b), nil
}

func (m *MemArtifacts) List(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.files)), nil
}

func (m *MemArtifacts) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	delete(m.files, name)
	m.mu.Unlock()
	return nil
}
