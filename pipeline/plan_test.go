package pipeline

import (
	"errors"
	"strings"
	"testing"
)

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stages []StageSpec
		is     error
		want   string // substring of the joined message
	}{
		{"unknown kind", []StageSpec{stage("g", "gne", nil, nil)},
			ErrUnknownKind, `variant "v": stage "g": key "kind": unknown stage kind "gne" (did you mean "gen"?)`},
		{"missing input", []StageSpec{stage("g", "gen", nil, nil), stage("a", "add", []string{"gn"}, map[string]any{"delta": 1})},
			ErrMissingInput, `variant "v": stage "a": key "inputs": missing input "gn" (did you mean "g"?)`},
		{"cycle", []StageSpec{
			stage("g", "gen", nil, nil),
			stage("a", "add", []string{"g", "c"}, map[string]any{"delta": 1}),
			stage("b", "add", []string{"a"}, map[string]any{"delta": 1}),
			stage("c", "add", []string{"b"}, map[string]any{"delta": 1})},
			ErrCycle, `cycle: a -> c -> b -> a`},
		{"self loop", []StageSpec{stage("a", "add", []string{"a"}, map[string]any{"delta": 1})},
			ErrCycle, `stage "a": key "inputs": cycle: a -> a`},
		{"missing param", []StageSpec{stage("g", "gen", nil, nil), stage("a", "add", []string{"g"}, nil)},
			ErrMissingParam, `variant "v": stage "a": key "params.delta": missing required param`},
		{"unknown param", []StageSpec{stage("g", "gen", nil, map[string]any{"rowz": 3})},
			ErrUnknownParam, `stage "g": key "params.rowz": unknown param (known: batches, rows, fail_at, panic_at, wrong_schema_at_batch, delay)`},
		{"param type", []StageSpec{stage("g", "gen", nil, map[string]any{"rows": "many"})},
			ErrParamType, `stage "g": key "params.rows": wrong param type: want integer, got string "many"`},
		{"duration type", []StageSpec{stage("g", "gen", nil, map[string]any{"delay": "soon"})},
			ErrParamType, `key "params.delay": wrong param type: want duration`},
		{"duplicate", []StageSpec{stage("g", "gen", nil, nil), stage("g", "gen", nil, nil)},
			ErrDuplicateStage, `stage "g": key "name": duplicate stage name`},
		{"input count", []StageSpec{stage("g", "gen", []string{}, nil), stage("s", "collect", nil, nil)},
			ErrInputCount, `stage "s": key "inputs": wrong number of inputs: sink "collect" takes at least 1 input(s), got 0`},
		{"source with input", []StageSpec{stage("g", "gen", nil, nil), stage("h", "gen", []string{"g"}, nil)},
			ErrInputCount, `stage "h": key "inputs": wrong number of inputs: source "gen" takes exactly 0 input(s), got 1`},
		{"schema declared by consumer", []StageSpec{stage("y", "ysrc", nil, nil), stage("a", "add", []string{"y"}, map[string]any{"delta": 1})},
			ErrSchemaMismatch, `variant "v": stage "a": schema mismatch: want int64 column "x", got "y"`},
		{"schema of merged inputs", []StageSpec{stage("y", "ysrc", nil, nil), stage("g", "gen", nil, nil), stage("s", "collect", []string{"g", "y"}, nil)},
			ErrSchemaMismatch, `stage "s": key "inputs": schema mismatch: inputs "g" and "y" are merged but differ`},
		{"sink as input", []StageSpec{stage("g", "gen", nil, nil), stage("s", "collect", []string{"g"}, nil), stage("t", "collect", []string{"s"}, nil)},
			ErrMissingInput, `stage "t": key "inputs": missing input: "s" is a sink and has no output`},
		{"empty", nil, nil, `variant "v": key "stages": variant has no stages`},
		{"unnamed", []StageSpec{stage("", "gen", nil, nil)}, nil, `stage "#1": key "name": stage has no name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testRegistry(nil).Plan(Spec{Variant: "v", Stages: tc.stages}, PlanOptions{})
			if err == nil {
				t.Fatal("plan succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n got: %v\nwant substring: %s", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v) false for %v", tc.is, err)
			}
			var pe *PlanError
			if !errors.As(err, &pe) || pe.Variant != "v" {
				t.Errorf("not a *PlanError naming the variant: %#v", err)
			}
		})
	}
}

func TestPlanReportsAllErrors(t *testing.T) {
	_, err := testRegistry(nil).Plan(Spec{Variant: "v", Stages: []StageSpec{
		stage("g", "gne", nil, nil),
		stage("a", "add", []string{"nope"}, nil),
		stage("b", "add", []string{"a"}, map[string]any{"delta": "x"}),
	}}, PlanOptions{})
	for _, want := range []error{ErrUnknownKind, ErrMissingInput, ErrParamType} {
		if !errors.Is(err, want) {
			t.Errorf("missing %v in %v", want, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	plan := func(delta any, rows int, version string, shard ...Shard) *Plan {
		t.Helper()
		r := testRegistry(nil)
		opts := PlanOptions{CodeVersion: version}
		if len(shard) > 0 {
			opts.Shard = shard[0]
		}
		p, err := r.Plan(Spec{Variant: "v", Stages: []StageSpec{
			stage("g", "gen", nil, map[string]any{"rows": rows}),
			stage("a", "add", []string{"g"}, map[string]any{"delta": delta}),
		}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := plan(1, 10, "v1")
	g, a := base.Node("g").Fingerprint, base.Node("a").Fingerprint
	if len(g) != 16 || g == a {
		t.Fatalf("fingerprints %q %q", g, a)
	}
	same := plan("1", 10, "v1") // same value spelled as a string: same params
	if same.Node("a").Fingerprint != a {
		t.Error("equal params gave different fingerprints")
	}
	if p := plan(2, 10, "v1"); p.Node("g").Fingerprint != g || p.Node("a").Fingerprint == a {
		t.Error("changing a's params must change a only")
	}
	if p := plan(1, 11, "v1"); p.Node("g").Fingerprint == g || p.Node("a").Fingerprint == a {
		t.Error("changing upstream params must change downstream")
	}
	if p := plan(1, 10, "v2"); p.Node("g").Fingerprint == g {
		t.Error("code version must change fingerprints")
	}
	s0, s1 := plan(1, 10, "v1", Shard{0, 2}), plan(1, 10, "v1", Shard{1, 2})
	if s0.Node("a").Fingerprint == a || s0.Node("a").Fingerprint == s1.Node("a").Fingerprint {
		t.Error("each shard must have its own fingerprints")
	}
	if p := plan(1, 10, "v1", Shard{0, 1}); p.Node("a").Fingerprint != a {
		t.Error("shard 0/1 is the whole input: same fingerprint as no shard")
	}
}

func TestRender(t *testing.T) {
	p, err := testRegistry(nil).Plan(Spec{Variant: "v", Stages: []StageSpec{
		stage("g", "gen", nil, nil),
		stage("a", "add", []string{"g"}, map[string]any{"delta": 1}),
		stage("s", "collect", []string{"a", "g"}, nil),
	}}, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text, mer strings.Builder
	if err := p.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteMermaid(&mer); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"variant v: 3 stages", "a      add      transform  1        g", "a,g", "x: int64"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text plan lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{"flowchart LR", `s0[("g<br/>gen")]`, `s2[/"s<br/>collect"/]`, "s0 --> s1", "s1 --> s2", "s0 --> s2"} {
		if !strings.Contains(mer.String(), want) {
			t.Errorf("mermaid lacks %q:\n%s", want, mer.String())
		}
	}
}

func TestRegisterRejects(t *testing.T) {
	r := NewRegistry()
	ok := Definition{Kind: "k", Doc: "test kind", Role: RoleSource, New: func(*BuildContext) (Stage, error) { return nil, nil }}
	if err := r.Register(ok); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]Definition{
		"duplicate": ok,
		"no kind":   {Role: RoleSource, New: ok.New},
		"no role":   {Kind: "x", New: ok.New},
		"no new":    {Kind: "y", Role: RoleSink},
		"dup param": {Kind: "z", Role: RoleSink, New: ok.New, Params: []Param{{Name: "p", Type: Int, Doc: "p (test param)"}, {Name: "p", Type: Int, Doc: "p (test param)"}}},
	} {
		if err := r.Register(d); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
}
