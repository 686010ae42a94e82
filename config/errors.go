package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors, one per error class. Every error returned by this package
// wraps exactly one of them (errors.Join may combine several), so callers can
// test the class with errors.Is.
var (
	// ErrSyntax: the file is not well-formed YAML, or is not a mapping.
	ErrSyntax = errors.New("yaml syntax error")
	// ErrUnknownKey: a key that is not part of the format (usually a typo).
	ErrUnknownKey = errors.New("unknown key")
	// ErrType: a value of the wrong YAML type, e.g. `workers: two`.
	ErrType = errors.New("wrong type")
	// ErrInvalid: a value of the right type but out of range, e.g.
	// `workers: -1`, an empty stage name or `log.format: xml`.
	ErrInvalid = errors.New("invalid value")
	// ErrDuplicate: a duplicate variant name, stage name or mapping key.
	ErrDuplicate = errors.New("duplicate")
	// ErrMissing: a required key (stage name or kind) is absent.
	ErrMissing = errors.New("missing key")
	// ErrExtends: `extends` names an unknown variant, or extends form a cycle.
	ErrExtends = errors.New("bad extends")
	// ErrEnv: a ${VAR} reference to an unset variable without default, or
	// a malformed reference.
	ErrEnv = errors.New("environment interpolation")
	// ErrUnknownVariant: File.Variant was asked for a variant that does not
	// exist.
	ErrUnknownVariant = errors.New("unknown variant")
	// ErrUnknownStage: an override names a stage that does not exist in
	// the variant. (Inputs naming no stage are plan errors:
	// pipeline.ErrMissingInput.)
	ErrUnknownStage = errors.New("unknown stage")
	// ErrOverride: a malformed --set / MEDFLOW_SET override.
	ErrOverride = errors.New("bad override")
)

// Error is one located configuration error. Its message has the form
//
//	pipelines.yaml:12: variant "demo": stage "scale": key "workers": want an integer, got "two"
//
// where every part but the message is omitted when unknown. Error wraps its
// class sentinel (Err), so errors.Is(err, ErrType) works.
type Error struct {
	File    string // config file name, or a source such as "--set" or "MEDFLOW_SET"
	Line    int    // 1-based line, 0 if unknown
	Variant string // variant name, if any
	Stage   string // stage name, if any
	Key     string // key path, e.g. "workers" or "params.uri"
	Err     error  // class sentinel (ErrType, ErrUnknownKey, ...)
	Msg     string // human-readable detail; never contains interpolated values
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Variant != "" {
		fmt.Fprintf(&b, "variant %q: ", e.Variant)
	}
	if e.Stage != "" {
		fmt.Fprintf(&b, "stage %q: ", e.Stage)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "key %q: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the class sentinel.
func (e *Error) Unwrap() error { return e.Err }

// loc is the location context of a value while decoding.
type loc struct {
	variant, stage, key string
}

func (l loc) with(key string) loc {
	if l.key != "" {
		key = l.key + "." + key
	}
	l.key = key
	return l
}

// errList collects errors; Join returns nil when empty.
type errList struct {
	file string
	errs []error
}

func (el *errList) add(line int, l loc, class error, format string, args ...any) {
	el.errs = append(el.errs, &Error{
		File: el.file, Line: line, Variant: l.variant, Stage: l.stage, Key: l.key,
		Err: class, Msg: fmt.Sprintf(format, args...),
	})
}

func (el *errList) err() error {
	if len(el.errs) == 0 {
		return nil
	}
	// Stable order: by line, then message, so that output is deterministic
	// regardless of map iteration order.
	sort.SliceStable(el.errs, func(i, j int) bool {
		a, b := el.errs[i].(*Error), el.errs[j].(*Error)
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Error() < b.Error()
	})
	return errors.Join(el.errs...)
}
