package pipeline

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// ParamType is the type a Param accepts.
type ParamType int

const (
	String ParamType = iota + 1
	Int
	Float
	Bool
	Duration
	List // []any
	Map  // map[string]any
	Any
)

func (t ParamType) String() string {
	return [...]string{"invalid", "string", "integer", "number", "boolean", "duration", "list", "map", "any"}[t]
}

// Param declares one parameter of a stage kind.
type Param struct {
	Name     string
	Type     ParamType
	Required bool
	// Default is used when the param is absent; it is also what the
	// fingerprint sees, so changing a default changes the fingerprint.
	Default any
	Doc     string
}

// Params holds a stage's validated params, defaults filled in. Accessors
// panic only on programmer error (asking for an undeclared name or the
// wrong type); user errors are caught when the params are checked at plan
// time.
type Params struct {
	values map[string]any
}

// NewParams checks raw against decls and fills defaults. Errors are
// *PlanError-ready: they name the key.
func NewParams(decls []Param, raw map[string]any) (Params, []error) {
	out := make(map[string]any, len(decls))
	known := make(map[string]bool, len(decls))
	var errs []error
	for _, d := range decls {
		known[d.Name] = true
		v, ok := raw[d.Name]
		if !ok || v == nil {
			if d.Required {
				errs = append(errs, &paramError{key: d.Name, err: ErrMissingParam})
				continue
			}
			if d.Default != nil {
				out[d.Name] = d.Default
			}
			continue
		}
		cv, err := coerce(d.Type, v)
		if err != nil {
			errs = append(errs, &paramError{key: d.Name, err: fmt.Errorf("%w: %v", ErrParamType, err)})
			continue
		}
		out[d.Name] = cv
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !known[k] {
			errs = append(errs, &paramError{key: k, err: fmt.Errorf("%w (known: %s)", ErrUnknownParam, paramNames(decls))})
		}
	}
	return Params{values: out}, errs
}

type paramError struct {
	key string
	err error
}

func (e *paramError) Error() string { return e.err.Error() }
func (e *paramError) Unwrap() error { return e.err }

func paramNames(decls []Param) string {
	s := ""
	for i, d := range decls {
		if i > 0 {
			s += ", "
		}
		s += d.Name
	}
	if s == "" {
		return "none"
	}
	return s
}

func coerce(t ParamType, v any) (any, error) {
	switch t {
	case String:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, float64, bool:
			return fmt.Sprint(x), nil
		}
	case Int:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), nil
			}
		case string:
			if n, err := strconv.Atoi(x); err == nil {
				return n, nil
			}
		}
	case Float:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		case string:
			if f, err := strconv.ParseFloat(x, 64); err == nil {
				return f, nil
			}
		}
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
	case Duration:
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case string:
			if d, err := time.ParseDuration(x); err == nil {
				return d, nil
			}
		}
	case List:
		if x, ok := v.([]any); ok {
			return x, nil
		}
	case Map:
		if x, ok := v.(map[string]any); ok {
			return x, nil
		}
	case Any:
		return v, nil
	}
	return nil, fmt.Errorf("want %s, got %T %v", t, v, v)
}

// Has reports whether the param is set (explicitly or by default).
func (p Params) Has(name string) bool { _, ok := p.values[name]; return ok }

// Values returns the resolved params (defaults included); do not modify.
func (p Params) Values() map[string]any { return p.values }

func get[T any](p Params, name string) T {
	var zero T
	v, ok := p.values[name]
	if !ok {
		return zero
	}
	return v.(T)
}

// String returns a string param ("" when unset).
func (p Params) String(name string) string { return get[string](p, name) }

// Int returns an integer param (0 when unset).
func (p Params) Int(name string) int { return get[int](p, name) }

// Float returns a number param (0 when unset).
func (p Params) Float(name string) float64 { return get[float64](p, name) }

// Bool returns a boolean param (false when unset).
func (p Params) Bool(name string) bool { return get[bool](p, name) }

// Duration returns a duration param (0 when unset).
func (p Params) Duration(name string) time.Duration { return get[time.Duration](p, name) }

// List returns a list param (nil when unset).
func (p Params) List(name string) []any { return get[[]any](p, name) }

// Strings returns a list param whose items must all be strings (nil when
// unset); an error wrapping ErrParamType names the param and the item.
func (p Params) Strings(name string) ([]string, error) {
	var out []string
	for i, v := range p.List(name) {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: params.%s: want a list of strings, got %T %v at [%d]", ErrParamType, name, v, v, i)
		}
		out = append(out, s)
	}
	return out, nil
}

// Map returns a map param (nil when unset).
func (p Params) Map(name string) map[string]any { return get[map[string]any](p, name) }

// Any returns a param of any type (nil when unset).
func (p Params) Any(name string) any { return p.values[name] }
