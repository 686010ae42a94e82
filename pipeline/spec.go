package pipeline

import "fmt"

// Spec is one resolved pipeline variant: what the config loader produces and
// what Plan validates. It is plain data with no Arrow or I/O dependency, so
// it can be built by hand in tests and examples.
type Spec struct {
	// Variant is the variant's name in the config file.
	Variant string
	// Description is free text shown by `medflow list`.
	Description string
	// File is the config file the variant came from, for error messages.
	File string
	// Stages in declaration order. Execution order is derived from Inputs.
	Stages []StageSpec
}

// StageSpec declares one stage of a variant.
type StageSpec struct {
	// Name is unique within the variant and is how other stages refer to it.
	Name string
	// Kind selects the registered Definition, e.g. "files.read".
	Kind string
	// Inputs names the upstream stages, in order.
	Inputs []string
	// Params are the kind-specific parameters, as decoded from YAML:
	// string, bool, int, float64, []any, map[string]any.
	Params map[string]any
	// Workers is the number of concurrent workers for a transform; 0 means 1.
	Workers int
	// Buffer is the capacity, in batches, of each of this stage's output
	// edges; 0 means DefaultBuffer.
	Buffer int
	// Materialize keeps the stage's output in the run's Cache, addressed
	// by its fingerprint, so a later run with the same fingerprint reuses
	// it instead of recomputing the stage and what only it needs.
	Materialize bool
	// MaxErrorRate, when set, replaces PlanOptions.MaxErrorRate for this
	// stage: the largest fraction of its records it may quarantine (0: no
	// limit).
	MaxErrorRate *float64
	// Line is the line of the stage in File, 0 if unknown.
	Line int
	// InputsLine is the line of the stage's inputs key, 0 if unknown.
	InputsLine int
	// ParamLines maps a param name to its line in File (absent: unknown,
	// e.g. set by --set); plan errors about the param point there.
	ParamLines map[string]int
	// Redact names params whose value came from an environment variable:
	// errors never echo their values.
	Redact map[string]bool
}

// Shard selects the i-th of n deterministic input shards. The zero value
// (and Count <= 1) means "everything".
type Shard struct {
	Index, Count int
}

// All reports whether the shard covers the whole input.
func (s Shard) All() bool { return s.Count <= 1 }

// Owns reports whether item number i (a stable, deterministic index of an
// input unit such as a file or a study) belongs to this shard.
func (s Shard) Owns(i int) bool { return s.All() || i%s.Count == s.Index }

// Upstream returns the spec cut down to targets and every stage they read
// from, directly or not, in declaration order: what `medflow run --target`
// runs. A stage's fingerprint depends only on its upstream, so the cut
// plan reuses what the whole variant materialized and vice versa. A
// target the variant does not declare is an ErrUnknownStage PlanError
// naming it; no targets return the spec unchanged.
func (s Spec) Upstream(targets ...string) (Spec, error) {
	if len(targets) == 0 {
		return s, nil
	}
	byName := make(map[string]StageSpec, len(s.Stages))
	for _, st := range s.Stages {
		byName[st.Name] = st
	}
	keep := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		st, ok := byName[name]
		if !ok || keep[name] {
			return // an undeclared input is the planner's error to report
		}
		keep[name] = true
		for _, in := range st.Inputs {
			visit(in)
		}
	}
	for _, t := range targets {
		if _, ok := byName[t]; !ok {
			return Spec{}, &PlanError{File: s.File, Variant: s.Variant, Stage: t,
				Err: fmt.Errorf("%w: the variant declares no such stage", ErrUnknownStage)}
		}
		visit(t)
	}
	out := s
	out.Stages = nil
	for _, st := range s.Stages {
		if keep[st.Name] {
			out.Stages = append(out.Stages, st)
		}
	}
	return out, nil
}
