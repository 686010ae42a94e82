package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/medflow/medflow/internal/suggest"
	"github.com/medflow/medflow/pipeline"
)

// EnvSet is the environment variable holding `;`-separated overrides, with
// lower precedence than --set flags.
const EnvSet = "MEDFLOW_SET"

// Override is one `stage.param=value` assignment from --set or MEDFLOW_SET.
//
// Path is the parameter path below the stage ("uri", or "opts.level" for a
// nested map key). The single-element paths "workers", "buffer" and
// "max_error_rate" set the stage fields of that name instead of params.
type Override struct {
	Stage  string
	Path   []string
	Value  any    // YAML-decoded: string, bool, int, float64, []any, map[string]any or nil
	Source string // "--set" or EnvSet, for error messages
}

// Key returns "stage.path" (without the value, which may be secret).
func (o Override) Key() string { return o.Stage + "." + strings.Join(o.Path, ".") }

// ParseSet parses one --set argument "stage.param[.sub...]=value".
//
// The value is parsed as a YAML scalar or flow value: `3` is an int, `2.5` a
// float64, `true` a bool, `[1,2]` a []any, `{a: 1}` a map[string]any,
// `s3://b/x` a string; an empty value is the empty string, a value starting
// with | or > is taken literally, and `null` (or `~`) deletes the parameter. Quote the value ('"3"') to force a string. No ${VAR}
// interpolation is done (the shell already did it).
//
// Stage names containing '.' cannot be addressed.
func ParseSet(s string) (Override, error) {
	return parseSet(s, "--set")
}

func parseSet(s, source string) (Override, error) {
	bad := func(format string, args ...any) (Override, error) {
		return Override{}, &Error{File: source, Err: ErrOverride, Msg: fmt.Sprintf(format, args...)}
	}
	key, val, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok {
		return bad("%q: want stage.param=value", truncate(key, 60))
	}
	parts := strings.Split(key, ".")
	if len(parts) < 2 {
		return bad("%q: want stage.param=value (missing parameter name)", key)
	}
	for _, p := range parts {
		if p == "" {
			return bad("%q: empty name in key", key)
		}
	}
	o := Override{Stage: parts[0], Path: parts[1:], Source: source}
	if val == "" {
		o.Value = ""
		return o, nil
	}
	if strings.HasPrefix(val, "|") || strings.HasPrefix(val, ">") {
		o.Value = val // block scalar indicators make no sense on a command line
		return o, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(val), &doc); err != nil {
		// The message may echo the value; do not include it.
		return bad("%q: value is not a valid YAML value (quote it to pass a string)", key)
	}
	d := &decoder{el: errList{file: source}, done: map[*yaml.Node]bool{}, raw: map[*yaml.Node]string{}, budget: nodeBudget(len(val))}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		o.Value = d.value(doc.Content[0], loc{stage: o.Stage, key: strings.Join(o.Path, ".")})
	}
	if err := d.el.err(); err != nil {
		return Override{}, err
	}
	return o, nil
}

// ParseSetList parses `;`-separated overrides, as found in MEDFLOW_SET;
// empty items are ignored, and values cannot contain ';'. source names the
// origin in errors.
func ParseSetList(s, source string) ([]Override, error) {
	var items []string
	for item := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(item) != "" {
			items = append(items, item)
		}
	}
	return parseAll(items, source)
}

// Overrides returns the overrides from $MEDFLOW_SET followed by those of the
// given --set flags, so that, applied in order by File.Variant, flags take
// precedence over the environment.
func Overrides(sets []string) ([]Override, error) {
	env, envErr := ParseSetList(os.Getenv(EnvSet), EnvSet)
	flags, flagErr := parseAll(sets, "--set")
	if envErr != nil || flagErr != nil {
		return nil, joinErrs(slices.DeleteFunc([]error{envErr, flagErr}, func(e error) bool { return e == nil }))
	}
	return append(env, flags...), nil
}

// parseAll parses every item, reporting all errors together.
func parseAll(items []string, source string) ([]Override, error) {
	var out []Override
	var errs []error
	for _, item := range items {
		o, err := parseSet(item, source)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, o)
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	return out, nil
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func (o Override) apply(spec *pipeline.Spec, el *errList) {
	src := o.Source
	if src == "" {
		src = "--set"
	}
	fail := func(class error, format string, args ...any) {
		el.errs = append(el.errs, &Error{File: src, Variant: spec.Variant, Stage: o.Stage,
			Key: strings.Join(o.Path, "."), Err: class, Msg: fmt.Sprintf(format, args...)})
	}
	if o.Stage == "" || len(o.Path) == 0 {
		fail(ErrOverride, "want stage.param=value")
		return
	}
	var st *pipeline.StageSpec
	names := make([]string, len(spec.Stages))
	for i := range spec.Stages {
		names[i] = spec.Stages[i].Name
		if spec.Stages[i].Name == o.Stage {
			st = &spec.Stages[i]
		}
	}
	if st == nil {
		fail(ErrUnknownStage, "no stage %q in variant %q%s", o.Stage, spec.Variant, suggest.Hint(o.Stage, names))
		return
	}
	if len(o.Path) == 1 && o.Path[0] == "max_error_rate" {
		var r float64
		switch v := o.Value.(type) {
		case int:
			r = float64(v)
		case float64:
			r = v
		default:
			fail(ErrType, "want a number from 0 to 1")
			return
		}
		if !(r >= 0 && r <= 1) {
			fail(ErrInvalid, "want a number from 0 to 1")
			return
		}
		st.MaxErrorRate = &r
		return
	}
	if len(o.Path) == 1 && (o.Path[0] == "workers" || o.Path[0] == "buffer") {
		n, ok := o.Value.(int)
		switch {
		case !ok:
			fail(ErrType, "want an integer")
		case n < 0:
			fail(ErrInvalid, "must be >= 0")
		case o.Path[0] == "workers":
			st.Workers = n
		default:
			st.Buffer = n
		}
		return
	}
	if st.Params == nil {
		st.Params = map[string]any{}
	}
	m := st.Params
	for i, p := range o.Path[:len(o.Path)-1] {
		next, ok := m[p]
		if !ok || next == nil {
			nm := map[string]any{}
			m[p] = nm
			m = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			fail(ErrType, "param %q is a %s, not a mapping", strings.Join(o.Path[:i+1], "."), typeName(next))
			return
		}
		m = nm
	}
	// The param no longer comes from the file's line; a value from the
	// environment (MEDFLOW_SET) is not echoed in errors.
	delete(st.ParamLines, o.Path[0])
	if o.Source == EnvSet {
		if st.Redact == nil {
			st.Redact = map[string]bool{}
		}
		st.Redact[o.Path[0]] = true
	}
	last := o.Path[len(o.Path)-1]
	if o.Value == nil {
		delete(m, last)
		return
	}
	m[last] = deepCopy(o.Value)
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int:
		return "integer"
	case float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "mapping"
	}
	return fmt.Sprintf("%T", v)
}
