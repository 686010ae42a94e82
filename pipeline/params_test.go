package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParamsStrings(t *testing.T) {
	decls := []Param{{Name: "splits", Type: List, Elem: String, Doc: "d"}, {Name: "none", Type: List, Elem: String, Doc: "d"}}
	tests := []struct {
		name    string
		raw     map[string]any
		param   string
		want    []string
		wantErr string
	}{
		{"strings", map[string]any{"splits": []any{"train", "test"}}, "splits", []string{"train", "test"}, ""},
		{"empty list", map[string]any{"splits": []any{}}, "splits", nil, ""},
		{"unset", map[string]any{}, "none", nil, ""},
		{"a list inside", map[string]any{"splits": []any{"train", []any{"x"}}}, "splits", nil, "item 1: want string, got a list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, errs := NewParams(decls, tc.raw)
			if tc.wantErr != "" {
				if len(errs) != 1 || !errors.Is(errs[0], ErrParamType) || !strings.Contains(errs[0].Error(), tc.wantErr) {
					t.Fatalf("errs %v, want one ErrParamType with %q", errs, tc.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if got := p.Strings(tc.param); !slices.Equal(got, tc.want) {
				t.Fatalf("Strings = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestParamSpecChecks: every constraint a Param can declare is enforced by
// NewParams with the sentinel and a message naming the value.
func TestParamSpecChecks(t *testing.T) {
	opts := []Option{{"mean", "average"}, {"last", "last token"}}
	tests := []struct {
		name     string
		decl     Param
		value    any
		want     any
		sentinel error
		msg      string
	}{
		{"option ok", Param{Type: String, Options: opts}, "last", "last", nil, ""},
		{"option bad", Param{Type: String, Options: opts}, "mena", nil, ErrParamValue, `"mena": want mean or last`},
		{"option list ok", Param{Type: List, Elem: String, Options: opts}, []any{"mean"}, []any{"mean"}, nil, ""},
		{"option list typo", Param{Type: List, Elem: String, Options: opts}, []any{"mean last"}, nil, ErrParamValue, `item 0: invalid param value: "mean last"`},
		{"int >= 1", Param{Type: Int, Range: "[1,)"}, 1, 1, nil, ""},
		{"int below", Param{Type: Int, Range: "[1,)"}, 0, nil, ErrParamValue, "0: must be >= 1"},
		{"float open low", Param{Type: Float, Range: "(0,)"}, 0.0, nil, ErrParamValue, "must be > 0"},
		{"float half open", Param{Type: Float, Range: "[0,1)"}, 1.0, nil, ErrParamValue, "must be in [0, 1)"},
		{"float in", Param{Type: Float, Range: "[0,1)"}, 0.5, 0.5, nil, ""},
		{"int as float", Param{Type: Float, Range: "[0,1]"}, 1, 1.0, nil, ""},
		{"upper only", Param{Type: Int, Range: "[,10]"}, 11, nil, ErrParamValue, "must be <= 10"},
		{"list of ints range", Param{Type: List, Elem: Int, Range: "[0,)"}, []any{1, -2}, nil, ErrParamValue, "item 1"},
		{"list elem type", Param{Type: List, Elem: Int}, []any{"x"}, nil, ErrParamType, "item 0"},
		{"non-empty string", Param{Type: String, NonEmpty: true}, "", nil, ErrParamValue, "empty"},
		{"non-empty list", Param{Type: List, NonEmpty: true}, []any{}, nil, ErrParamValue, "empty list"},
		{"type", Param{Type: Int}, "many", nil, ErrParamType, `want integer, got string "many"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.decl
			d.Name, d.Doc = "x", "doc"
			if err := d.check(); err != nil {
				t.Fatalf("declaration refused: %v", err)
			}
			p, errs := NewParams([]Param{d}, map[string]any{"x": tc.value})
			if tc.sentinel == nil {
				if len(errs) > 0 {
					t.Fatal(errs)
				}
				if got := p.Any("x"); !equalAny(got, tc.want) {
					t.Fatalf("value %#v, want %#v", got, tc.want)
				}
				return
			}
			if len(errs) != 1 || !errors.Is(errs[0], tc.sentinel) || !strings.Contains(errs[0].Error(), tc.msg) {
				t.Fatalf("errs %v, want %v containing %q", errs, tc.sentinel, tc.msg)
			}
			var pe *ParamError
			if !errors.As(errs[0], &pe) || pe.Key != "x" {
				t.Fatalf("error %v does not name key x", errs[0])
			}
		})
	}
}

func equalAny(a, b any) bool {
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		return ok && slices.Equal(la, lb)
	}
	return a == b
}

// TestParamDeclarationRefused: Register refuses declarations the engine
// could not check or document.
func TestParamDeclarationRefused(t *testing.T) {
	tests := []struct {
		name string
		p    Param
		msg  string
	}{
		{"no doc", Param{Name: "a", Type: Int}, "no Doc"},
		{"no type", Param{Name: "a", Doc: "d"}, "no type"},
		{"bad range", Param{Name: "a", Type: Int, Doc: "d", Range: "1..2"}, "want an interval"},
		{"empty range", Param{Name: "a", Type: Int, Doc: "d", Range: "[2,1]"}, "empty"},
		{"range on string", Param{Name: "a", Type: String, Doc: "d", Range: "[0,)"}, "Range needs a numeric"},
		{"options on int", Param{Name: "a", Type: Int, Doc: "d", Options: []Option{{"1", "one"}}}, "Options need a string"},
		{"option without doc", Param{Name: "a", Type: String, Doc: "d", Options: []Option{{"x", ""}}}, "without Doc"},
		{"default out of range", Param{Name: "a", Type: Int, Doc: "d", Range: "[1,)", Default: 0}, "default 0"},
		{"default not an option", Param{Name: "a", Type: String, Doc: "d", Default: "z", Options: []Option{{"x", "x"}}}, "default z"},
		{"required with default", Param{Name: "a", Type: Int, Doc: "d", Required: true, Default: 1}, "both Required"},
		{"elem on scalar", Param{Name: "a", Type: Int, Doc: "d", Elem: Int}, "Elem is set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRegistry()
			err := r.Register(Definition{Kind: "k", Role: RoleSource, Doc: "k", Params: []Param{tc.p},
				New: func(*BuildContext) (Stage, error) { return nil, nil }})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Register = %v, want an error containing %q", err, tc.msg)
			}
		})
	}
}

// TestParamsUndeclaredPanics: reading a name the kind does not declare (a
// typo in stage code) or with the wrong accessor panics instead of
// returning a zero value.
func TestParamsUndeclaredPanics(t *testing.T) {
	p, errs := NewParams([]Param{{Name: "bucket_width", Type: Int, Default: 16, Doc: "d"}}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if p.Int("bucket_width") != 16 {
		t.Fatal("default not filled")
	}
	for name, read := range map[string]func(){
		"misspelt":      func() { p.Int("bucket_widht") },
		"wrong type":    func() { p.String("bucket_width") },
		"not a strings": func() { p.Strings("bucket_width") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			read()
		})
	}
}

// TestParamRedacted: a value that came from an environment variable is
// never echoed in a param error.
func TestParamRedacted(t *testing.T) {
	decls := []Param{{Name: "n", Type: Int, Doc: "d"}, {Name: "mode", Type: String, Doc: "d", Options: []Option{{"a", "a"}}}}
	raw := map[string]any{"n": "s3cr3t-token", "mode": "hunter2"}
	_, errs := NewParams(decls, raw, map[string]bool{"n": true, "mode": true})
	if len(errs) != 2 {
		t.Fatalf("errs %v, want 2", errs)
	}
	for _, e := range errs {
		if strings.Contains(e.Error(), "s3cr3t") || strings.Contains(e.Error(), "hunter2") {
			t.Fatalf("error echoes an interpolated value: %v", e)
		}
		if !strings.Contains(e.Error(), "not shown") {
			t.Fatalf("error %v does not say the value is hidden", e)
		}
	}
}

func TestParamConstraintText(t *testing.T) {
	tests := []struct {
		p    Param
		want string
	}{
		{Param{Type: Int, Range: "[1,)"}, ">= 1"},
		{Param{Type: Float, Range: "(0,1]"}, "in (0, 1]"},
		{Param{Type: String, Options: []Option{{"a", "A"}, {"b", "B"}}}, "one of a, b"},
		{Param{Type: List, Elem: String, NonEmpty: true, Options: []Option{{"a", "A"}}}, "items one of a, not empty"},
		{Param{Type: Bool}, ""},
	}
	for _, tc := range tests {
		if got := tc.p.Constraint(); got != tc.want {
			t.Errorf("Constraint(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
