package pipeline

import (
	"errors"
	"slices"
	"testing"
)

func TestSpecUpstream(t *testing.T) {
	// a → b → d, a → c, e alone; d also reads c.
	spec := Spec{Variant: "v", File: "p.yaml", Stages: []StageSpec{
		{Name: "a"}, {Name: "b", Inputs: []string{"a"}}, {Name: "c", Inputs: []string{"a"}},
		{Name: "d", Inputs: []string{"b", "c"}}, {Name: "e"},
	}}
	for _, tc := range []struct {
		targets []string
		want    []string
	}{
		{nil, []string{"a", "b", "c", "d", "e"}},
		{[]string{"a"}, []string{"a"}},
		{[]string{"b"}, []string{"a", "b"}},
		{[]string{"d"}, []string{"a", "b", "c", "d"}},
		{[]string{"e", "b"}, []string{"a", "b", "e"}}, // declaration order, not target order
		{[]string{"b", "d", "b"}, []string{"a", "b", "c", "d"}},
	} {
		got, err := spec.Upstream(tc.targets...)
		if err != nil {
			t.Fatalf("%v: %v", tc.targets, err)
		}
		var names []string
		for _, s := range got.Stages {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("Upstream(%v) = %v, want %v", tc.targets, names, tc.want)
		}
		if got.Variant != "v" || got.File != "p.yaml" {
			t.Errorf("Upstream(%v) lost the variant's name or file: %+v", tc.targets, got)
		}
	}
	if len(spec.Stages) != 5 {
		t.Errorf("Upstream changed its receiver: %d stages", len(spec.Stages))
	}
	_, err := spec.Upstream("b", "nope")
	var pe *PlanError
	if !errors.Is(err, ErrUnknownStage) || !errors.As(err, &pe) || pe.Stage != "nope" || pe.File != "p.yaml" {
		t.Errorf("unknown target: %v", err)
	}
}
