package pipeline

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Registry maps kind names to Definitions. The zero value is not usable;
// call NewRegistry. It is safe for concurrent use.
type Registry struct {
	mu   sync.RWMutex
	defs map[string]*Definition
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{defs: map[string]*Definition{}} }

// Register adds a kind. It fails on a duplicate or incomplete Definition.
func (r *Registry) Register(d Definition) error {
	if d.Kind == "" || d.New == nil || d.Role < RoleSource || d.Role > RoleBarrier {
		return fmt.Errorf("pipeline: register %q: Kind, Role and New are required", d.Kind)
	}
	if strings.TrimSpace(d.Doc) == "" {
		return fmt.Errorf("pipeline: register %q: no Doc", d.Kind)
	}
	d.Params = slices.Clone(d.Params) // check parses ranges into the copy
	seen := map[string]bool{}
	for i := range d.Params {
		p := &d.Params[i]
		if seen[p.Name] {
			return fmt.Errorf("pipeline: register %q: param %q: declared twice", d.Kind, p.Name)
		}
		if err := p.check(); err != nil {
			return fmt.Errorf("pipeline: register %q: param %q: %w", d.Kind, p.Name, err)
		}
		seen[p.Name] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.defs[d.Kind]; dup {
		return fmt.Errorf("pipeline: register %q: kind already registered", d.Kind)
	}
	r.defs[d.Kind] = &d
	return nil
}

// MustRegister is Register that panics; for package init of stage kinds.
func (r *Registry) MustRegister(d Definition) {
	if err := r.Register(d); err != nil {
		panic(err)
	}
}

// Lookup returns the Definition of kind.
func (r *Registry) Lookup(kind string) (*Definition, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.defs[kind]
	return d, ok
}

// Kinds returns every Definition, sorted by kind.
func (r *Registry) Kinds() []*Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Definition, 0, len(r.defs))
	for _, d := range r.defs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

func (r *Registry) kindNames() []string {
	defs := r.Kinds()
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Kind
	}
	return names
}
