package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/medflow/medflow/internal/suggest"
	"github.com/medflow/medflow/pipeline"
)

// resolveAll resolves `extends` for every variant, reporting unknown parents,
// cycles, stages without kind and inputs naming unknown stages.
func (f *File) resolveAll(el *errList) {
	r := &resolver{f: f, el: el, state: map[string]int{}}
	for _, name := range f.Variants() {
		r.resolve(name)
	}
}

type resolver struct {
	f     *File
	el    *errList
	state map[string]int // 0 new, 1 on stack, 2 done
	stack []string
}

func (r *resolver) resolve(name string) *pipeline.Spec {
	switch r.state[name] {
	case 1:
		return nil
	case 2:
		return r.f.resolved[name]
	}
	r.state[name] = 1
	r.stack = append(r.stack, name)
	defer func() {
		r.state[name] = 2
		r.stack = r.stack[:len(r.stack)-1]
	}()

	v := r.f.variants[name]
	spec := &pipeline.Spec{Variant: name, File: r.f.name}
	if v.extends != "" {
		l := loc{variant: name, key: "extends"}
		if _, ok := r.f.variants[v.extends]; !ok {
			r.el.add(v.extendsLine, l, ErrExtends, "unknown variant %q%s", v.extends, suggest.Hint(v.extends, r.f.Variants()))
			return nil
		}
		if r.state[v.extends] == 1 {
			i := slices.Index(r.stack, v.extends)
			cycle := append(slices.Clone(r.stack[i:]), v.extends)
			r.el.add(v.extendsLine, l, ErrExtends, "extends cycle: %s", strings.Join(cycle, " -> "))
			return nil
		}
		parent := r.resolve(v.extends)
		if parent == nil {
			return nil // reported at the parent
		}
		spec.Description = parent.Description
		spec.Stages = copyStages(parent.Stages)
	}
	if v.description != nil {
		spec.Description = *v.description
	}
	index := map[string]int{}
	for i, s := range spec.Stages {
		index[s.Name] = i
	}
	ok := true
	for _, s := range v.stages {
		i, inherited := index[s.name]
		if !inherited {
			if s.kind == nil {
				r.el.add(s.line, loc{variant: name, stage: s.name}, ErrMissing, "missing key \"kind\"%s", inheritHint(v))
				ok = false
				continue
			}
			index[s.name] = len(spec.Stages)
			spec.Stages = append(spec.Stages, pipeline.StageSpec{Name: s.name, Params: map[string]any{}})
			i = index[s.name]
		}
		st := &spec.Stages[i]
		st.Line = s.line
		if s.kind != nil {
			st.Kind = *s.kind
		}
		if s.hasInputs {
			st.Inputs, st.InputsLine = slices.Clone(s.inputs), s.inputsLine
		}
		if s.workers != nil {
			st.Workers = *s.workers
		}
		if s.buffer != nil {
			st.Buffer = *s.buffer
		}
		if s.materialize != nil {
			st.Materialize = *s.materialize
		}
		if s.maxErrRate != nil {
			r := *s.maxErrRate
			st.MaxErrorRate = &r
		}
		if st.Params == nil {
			st.Params = map[string]any{}
		}
		mergeParams(st.Params, s.params, inherited)
		st.ParamLines = mergeOrigins(st.ParamLines, s.paramLines)
		st.Redact = mergeOrigins(st.Redact, s.redact)
		for k := range st.ParamLines {
			if _, kept := st.Params[k]; !kept { // deleted by a null
				delete(st.ParamLines, k)
			}
		}
	}
	// Inputs that name no stage are the planner's to report (with the
	// variant's other plan errors, at InputsLine), not the loader's: one
	// mistake must not hide the others.
	if !ok {
		return nil
	}
	r.f.resolved[name] = spec
	return spec
}

func inheritHint(v *rawVariant) string {
	if v.extends != "" {
		return fmt.Sprintf(" (no stage of that name in %q to inherit it from)", v.extends)
	}
	return ""
}

// mergeParams merges src into dst key by key: maps are merged recursively,
// everything else (lists included) is replaced. When merging over inherited
// params, a null value deletes the inherited key.
func mergeParams(dst, src map[string]any, inherited bool) {
	for k, v := range src {
		if v == nil && inherited {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeParams(dm, sm, inherited)
				continue
			}
		}
		dst[k] = deepCopy(v)
	}
}

// mergeOrigins returns dst with src's entries added (a fresh map when dst
// is nil; dst is never shared across variants, see copyStages).
func mergeOrigins[V any](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]V, len(src))
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

func copyStages(in []pipeline.StageSpec) []pipeline.StageSpec {
	out := slices.Clone(in)
	for i := range out {
		out[i].Inputs = slices.Clone(in[i].Inputs)
		out[i].Params = deepCopy(in[i].Params).(map[string]any)
		out[i].ParamLines = maps.Clone(in[i].ParamLines)
		out[i].Redact = maps.Clone(in[i].Redact)
	}
	return out
}

func copySpec(s *pipeline.Spec) pipeline.Spec {
	c := *s
	c.Stages = copyStages(s.Stages)
	return c
}

// Variant returns the fully resolved variant name (extends applied,
// multi-level), with overrides applied in order, so that a later override
// wins. The returned Spec is a fresh copy that the caller may modify.
//
// Unknown variants are ErrUnknownVariant; overrides naming a stage the
// variant does not have are ErrUnknownStage.
func (f *File) Variant(name string, overrides []Override) (pipeline.Spec, error) {
	if errs, bad := f.broken[name]; bad {
		var el errList
		el.errs = append(el.errs, errs...)
		return pipeline.Spec{}, el.err()
	}
	res, ok := f.resolved[name]
	if !ok {
		return pipeline.Spec{}, &Error{File: f.name, Variant: name, Err: ErrUnknownVariant,
			Msg: fmt.Sprintf("unknown variant%s; variants: %s", suggest.Hint(name, f.Variants()), strings.Join(f.Variants(), ", "))}
	}
	spec := copySpec(res)
	var errs errList
	for _, o := range overrides {
		o.apply(&spec, &errs)
	}
	if err := errs.err(); err != nil {
		return pipeline.Spec{}, err
	}
	return spec, nil
}
