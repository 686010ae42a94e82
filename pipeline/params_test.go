package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParamsStrings(t *testing.T) {
	decls := []Param{{Name: "splits", Type: List}, {Name: "none", Type: List}}
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
		{"a number inside", map[string]any{"splits": []any{"train", 3}}, "splits", nil, "params.splits: want a list of strings, got int 3 at [1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, errs := NewParams(decls, tc.raw)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			got, err := p.Strings(tc.param)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrParamType) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want ErrParamType with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Strings = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
