package pipeline

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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
	List // []any; Param.Elem types the items
	Map  // map[string]any
	Any
)

func (t ParamType) String() string {
	if t < 0 || int(t) > int(Any) {
		return "invalid"
	}
	return [...]string{"invalid", "string", "integer", "number", "boolean", "duration", "list", "map", "any"}[t]
}

// Format says what a string param (or each item of a list of strings)
// names, beyond being text.
type Format int

const (
	// FormatNone: plain text.
	FormatNone Format = iota
	// FormatPath: a file the stage reads (a model, a tokenizer). The run
	// store resolves relative paths; the file's identity (size, mtime and a
	// content hash) joins the stage's fingerprint, so replacing the file
	// recomputes the stage.
	FormatPath
	// FormatURI: a dataset location (a folder or s3://bucket/prefix) that a
	// source reads or a sink writes. Sources fingerprint what they list.
	FormatURI
)

func (f Format) String() string {
	switch f {
	case FormatPath:
		return "path"
	case FormatURI:
		return "uri"
	}
	return ""
}

// Option is one allowed value of a param with a fixed set of values.
type Option struct {
	Value string
	Doc   string
}

// Param declares one parameter of a stage kind: its type, default and
// documentation, and the values it accepts. The engine checks all of it
// when a plan is built, so a stage reads already-checked values. Register
// rejects a declaration without a Doc, with a malformed Range, or with a
// Default that its own checks would refuse.
type Param struct {
	Name     string
	Type     ParamType
	Required bool
	// Default is used when the param is absent; it is also what the
	// fingerprint sees, so changing a default changes the fingerprint.
	Default any
	// Doc is one line for `medflow kinds` and the generated reference.
	Doc string
	// Options, when set, are the only values a String param (or each item
	// of a List of strings) may take.
	Options []Option
	// Range bounds an Int or Float param (or each item of a List of
	// numbers) as an interval: "[1,)" is >= 1, "(0,)" is > 0, "[0,1)" is
	// 0 <= x < 1, "[,100]" is <= 100.
	Range string
	// Elem is the type of a List's items (0: any).
	Elem ParamType
	// NonEmpty refuses an empty string or an empty list.
	NonEmpty bool
	// Format says what a string names (a file read, a dataset location).
	Format Format
	// Example is shown in the generated reference (optional).
	Example any

	rng *Interval // parsed Range, set by check
}

// Interval is a parsed Param.Range: Lo and Hi bound the values when
// HasLo and HasHi; an Open bound is excluded.
type Interval struct {
	Lo, Hi         float64
	HasLo, HasHi   bool
	OpenLo, OpenHi bool
}

func parseInterval(s string) (*Interval, error) {
	s = strings.TrimSpace(s)
	if len(s) < 3 || !strings.ContainsAny(s[:1], "[(") || !strings.ContainsAny(s[len(s)-1:], "])") {
		return nil, fmt.Errorf("range %q: want an interval such as \"[1,)\" or \"(0,1]\"", s)
	}
	lo, hi, ok := strings.Cut(s[1:len(s)-1], ",")
	if !ok {
		return nil, fmt.Errorf("range %q: want two bounds separated by a comma", s)
	}
	iv := &Interval{OpenLo: s[0] == '(', OpenHi: s[len(s)-1] == ')'}
	var err error
	if lo = strings.TrimSpace(lo); lo != "" {
		if iv.Lo, err = strconv.ParseFloat(lo, 64); err != nil {
			return nil, fmt.Errorf("range %q: lower bound: %w", s, err)
		}
		iv.HasLo = true
	}
	if hi = strings.TrimSpace(hi); hi != "" {
		if iv.Hi, err = strconv.ParseFloat(hi, 64); err != nil {
			return nil, fmt.Errorf("range %q: upper bound: %w", s, err)
		}
		iv.HasHi = true
	}
	if !iv.HasLo && !iv.HasHi {
		return nil, fmt.Errorf("range %q: no bound", s)
	}
	if iv.HasLo && iv.HasHi && iv.Lo > iv.Hi {
		return nil, fmt.Errorf("range %q: empty", s)
	}
	return iv, nil
}

func (iv *Interval) contains(x float64) bool {
	switch {
	case iv.HasLo && (x < iv.Lo || iv.OpenLo && x == iv.Lo):
		return false
	case iv.HasHi && (x > iv.Hi || iv.OpenHi && x == iv.Hi):
		return false
	}
	return !math.IsNaN(x)
}

// String renders the interval for people: ">= 1", "> 0", "in [0, 1)".
func (iv *Interval) String() string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case iv.HasLo && iv.HasHi:
		l, r := "[", "]"
		if iv.OpenLo {
			l = "("
		}
		if iv.OpenHi {
			r = ")"
		}
		return fmt.Sprintf("in %s%s, %s%s", l, num(iv.Lo), num(iv.Hi), r)
	case iv.HasLo && iv.OpenLo:
		return "> " + num(iv.Lo)
	case iv.HasLo:
		return ">= " + num(iv.Lo)
	case iv.OpenHi:
		return "< " + num(iv.Hi)
	}
	return "<= " + num(iv.Hi)
}

// Constraint describes the param's accepted values in words ("" when any
// value of its type is accepted): "one of mean, last, bos", ">= 1".
func (p *Param) Constraint() string {
	var parts []string
	if len(p.Options) > 0 {
		vals := make([]string, len(p.Options))
		for i, o := range p.Options {
			vals[i] = o.Value
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	if p.Range != "" {
		if iv, err := parseInterval(p.Range); err == nil {
			parts = append(parts, iv.String())
		}
	}
	if p.NonEmpty {
		parts = append(parts, "not empty")
	}
	s := strings.Join(parts, ", ")
	if p.Type == List && s != "" {
		return "items " + s
	}
	return s
}

// TypeName is the param's type as users read it: "list of string".
func (p *Param) TypeName() string {
	if p.Type == List && p.Elem != 0 && p.Elem != Any {
		return "list of " + p.Elem.String()
	}
	return p.Type.String()
}

// check validates the declaration itself (called by Register).
func (p *Param) check() error {
	switch {
	case p.Name == "":
		return errors.New("empty name")
	case p.Type < String || p.Type > Any:
		return errors.New("no type")
	case strings.TrimSpace(p.Doc) == "":
		return errors.New("no Doc")
	case p.Elem != 0 && p.Type != List:
		return errors.New("Elem is set on a non-list param")
	}
	scalar := p.Type
	if p.Type == List {
		scalar = p.Elem
	}
	if len(p.Options) > 0 {
		if scalar != String {
			return errors.New("Options need a string param or a list of strings")
		}
		seen := map[string]bool{}
		for _, o := range p.Options {
			if strings.TrimSpace(o.Doc) == "" || seen[o.Value] {
				return fmt.Errorf("option %q: duplicate or without Doc", o.Value)
			}
			seen[o.Value] = true
		}
	}
	if p.Range != "" {
		if scalar != Int && scalar != Float {
			return errors.New("Range needs a numeric param or a list of numbers")
		}
		iv, err := parseInterval(p.Range)
		if err != nil {
			return err
		}
		p.rng = iv
	}
	if p.Format != FormatNone && scalar != String {
		return errors.New("Format needs a string param or a list of strings")
	}
	if p.Required && p.Default != nil {
		return errors.New("both Required and a Default")
	}
	if p.Default != nil {
		if _, err := p.accept(p.Default); err != nil {
			return fmt.Errorf("default %v: %w", p.Default, err)
		}
	}
	return nil
}

// accept coerces v to the param's type and checks it against the spec.
// Errors wrap ErrParamType (wrong type) or ErrParamValue (right type, value
// not accepted).
func (p *Param) accept(v any) (any, error) {
	cv, err := coerce(p.Type, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParamType, err)
	}
	if p.Type == List {
		items := cv.([]any)
		out := make([]any, len(items))
		for i, it := range items {
			if _, isStr := it.(string); p.Elem == String && !isStr {
				// a list of names: 3 is more likely a mistake than "3"
				return nil, fmt.Errorf("%w: item %d: want string, got %s", ErrParamType, i, describe(it))
			}
			if p.Elem != 0 {
				if it, err = coerce(p.Elem, it); err != nil {
					return nil, fmt.Errorf("%w: item %d: %v", ErrParamType, i, err)
				}
			}
			if err := p.acceptScalar(it); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out[i] = it
		}
		if p.NonEmpty && len(out) == 0 {
			return nil, fmt.Errorf("%w: empty list", ErrParamValue)
		}
		return out, nil
	}
	if err := p.acceptScalar(cv); err != nil {
		return nil, err
	}
	if s, ok := cv.(string); ok && p.NonEmpty && s == "" {
		return nil, fmt.Errorf("%w: empty", ErrParamValue)
	}
	return cv, nil
}

func (p *Param) acceptScalar(v any) error {
	if len(p.Options) > 0 {
		s, _ := v.(string)
		ok := false
		for _, o := range p.Options {
			ok = ok || o.Value == s
		}
		if !ok {
			return fmt.Errorf("%w: %s: want %s", ErrParamValue, quoteValue(v), p.optionList())
		}
	}
	if iv := p.Interval(); iv != nil {
		var x float64
		switch n := v.(type) {
		case int:
			x = float64(n)
		case float64:
			x = n
		}
		if !iv.contains(x) {
			return fmt.Errorf("%w: %v: must be %s", ErrParamValue, v, iv)
		}
	}
	return nil
}

// Interval returns the parsed Range (nil when none or malformed: Register
// refuses a malformed one).
func (p *Param) Interval() *Interval {
	if p.rng == nil && p.Range != "" {
		iv, _ := parseInterval(p.Range)
		return iv
	}
	return p.rng
}

func (p *Param) optionList() string {
	vals := make([]string, len(p.Options))
	for i, o := range p.Options {
		vals[i] = o.Value
	}
	if len(vals) == 1 {
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// Params holds a stage's checked params, defaults filled in. Accessors
// panic on programmer error (a name the kind does not declare, or the
// wrong accessor for its type), so a misspelt name fails the first test
// that builds the stage; user errors are caught when the params are
// checked at plan time.
type Params struct {
	values map[string]any
	decls  map[string]*Param
}

// NewParams checks raw against decls and fills defaults. Each error is a
// *ParamError naming the key. Values of keys in redact are never echoed
// in errors (they came from ${VAR} interpolation and may be secrets).
func NewParams(decls []Param, raw map[string]any, redact ...map[string]bool) (Params, []error) {
	out := make(map[string]any, len(decls))
	byName := make(map[string]*Param, len(decls))
	var errs []error
	hidden := func(k string) bool {
		for _, r := range redact {
			if r[k] {
				return true
			}
		}
		return false
	}
	for i := range decls {
		d := &decls[i]
		byName[d.Name] = d
		v, ok := raw[d.Name]
		if !ok || v == nil {
			if d.Required {
				errs = append(errs, &ParamError{Key: d.Name, Err: ErrMissingParam})
				continue
			}
			if d.Default != nil {
				out[d.Name] = d.Default
			}
			continue
		}
		cv, err := d.accept(v)
		if err != nil {
			if hidden(d.Name) {
				err = redacted(err)
			}
			errs = append(errs, &ParamError{Key: d.Name, Err: err})
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
		if byName[k] == nil {
			errs = append(errs, &ParamError{Key: k, Err: fmt.Errorf("%w (known: %s)", ErrUnknownParam, paramNames(decls))})
		}
	}
	return Params{values: out, decls: byName}, errs
}

// redacted replaces an error's text by its sentinel's, dropping the value.
func redacted(err error) error {
	for _, s := range []error{ErrParamType, ErrParamValue} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w (value from an environment variable, not shown)", s)
		}
	}
	return err
}

// ParamError is a problem with one param. A stage's New returns one (via
// ParamErrorf) for checks that involve more than one param or the input
// schema; the planner reports it under key "params.<Key>".
type ParamError struct {
	Key string
	Err error
}

func (e *ParamError) Error() string { return e.Err.Error() }
func (e *ParamError) Unwrap() error { return e.Err }

// ParamErrorf returns a *ParamError for key wrapping ErrParamValue, for
// checks the spec cannot express (a patch size that must divide the image
// side).
func ParamErrorf(key, format string, a ...any) error {
	return &ParamError{Key: key, Err: fmt.Errorf("%w: %s", ErrParamValue, fmt.Sprintf(format, a...))}
}

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
	return nil, fmt.Errorf("want %s, got %s", t, describe(v))
}

// describe names a value's type (and the value, if short) for errors.
func describe(v any) string {
	var kind string
	switch v.(type) {
	case string:
		kind = "string"
	case int, int64:
		kind = "integer"
	case float64:
		kind = "number"
	case bool:
		kind = "boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	default:
		return fmt.Sprintf("%T", v)
	}
	s := quoteValue(v)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return kind + " " + s
}

// rebase resolves relative local paths in params declared with a Format
// against dir (not those in skip) and returns the values as they were.
func (p Params) rebase(dir string, skip map[string]bool) map[string]any {
	orig := make(map[string]any, len(p.values))
	for k, v := range p.values {
		orig[k] = v
	}
	local := func(s string) bool { return s != "" && !strings.Contains(s, "://") && !filepath.IsAbs(s) }
	for name, d := range p.decls {
		if d.Format == FormatNone || skip[name] {
			continue
		}
		switch v := p.values[name].(type) {
		case string:
			if local(v) {
				p.values[name] = filepath.Join(dir, v)
			}
		case []any:
			out := make([]any, len(v))
			for i, it := range v {
				if s, ok := it.(string); ok && local(s) {
					it = filepath.Join(dir, s)
				}
				out[i] = it
			}
			p.values[name] = out
		}
	}
	return orig
}

// Declares reports whether the stage kind declares a param name (for
// code that looks at params across kinds, such as output listings).
func (p Params) Declares(name string) bool { return p.decls[name] != nil }

// Has reports whether the param is set (explicitly or by default).
func (p Params) Has(name string) bool { p.decl(name, 0); _, ok := p.values[name]; return ok }

// Values returns the resolved params (defaults included); do not modify.
func (p Params) Values() map[string]any { return p.values }

// decl returns the declaration of name, panicking when the kind does not
// declare it or (want != 0) declares another type.
func (p Params) decl(name string, want ParamType) *Param {
	d := p.decls[name]
	if d == nil {
		panic(fmt.Sprintf("pipeline: param %q is not declared by this stage kind", name))
	}
	if want != 0 && d.Type != want {
		panic(fmt.Sprintf("pipeline: param %q is declared as %s, read as %s", name, d.Type, want))
	}
	return d
}

func get[T any](p Params, name string, t ParamType) T {
	p.decl(name, t)
	var zero T
	v, ok := p.values[name]
	if !ok {
		return zero
	}
	return v.(T)
}

// String returns a string param ("" when unset).
func (p Params) String(name string) string { return get[string](p, name, String) }

// Int returns an integer param (0 when unset).
func (p Params) Int(name string) int { return get[int](p, name, Int) }

// Float returns a number param (0 when unset).
func (p Params) Float(name string) float64 { return get[float64](p, name, Float) }

// Bool returns a boolean param (false when unset).
func (p Params) Bool(name string) bool { return get[bool](p, name, Bool) }

// Duration returns a duration param (0 when unset).
func (p Params) Duration(name string) time.Duration {
	return get[time.Duration](p, name, Duration)
}

// List returns a list param (nil when unset).
func (p Params) List(name string) []any { return get[[]any](p, name, List) }

// Strings returns a list-of-strings param (nil when unset). It panics
// unless the param is declared with Elem: String (so its items were
// checked at plan time).
func (p Params) Strings(name string) []string {
	if d := p.decl(name, List); d.Elem != String {
		panic(fmt.Sprintf("pipeline: param %q is not declared as a list of strings", name))
	}
	var out []string
	for _, v := range p.List(name) {
		out = append(out, v.(string))
	}
	return out
}

// Map returns a map param (nil when unset).
func (p Params) Map(name string) map[string]any { return get[map[string]any](p, name, Map) }

// Any returns a param of any type (nil when unset).
func (p Params) Any(name string) any { p.decl(name, 0); return p.values[name] }

// AtParam attributes err (from a check a stage makes in New, such as a
// column lookup) to the param key, so the plan error names it; nil stays
// nil.
func AtParam(key string, err error) error {
	if err == nil {
		return nil
	}
	return &ParamError{Key: key, Err: err}
}
