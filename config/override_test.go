package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/medflow/medflow/config"
)

func TestParseSet(t *testing.T) {
	tests := []struct {
		in    string
		stage string
		path  []string
		value any
	}{
		{"read.uri=s3://b/x", "read", []string{"uri"}, "s3://b/x"},
		{"scale.factor=3", "scale", []string{"factor"}, 3},
		{"scale.factor=2.5", "scale", []string{"factor"}, 2.5},
		{"a.flag=true", "a", []string{"flag"}, true},
		{"a.list=[1,2]", "a", []string{"list"}, []any{1, 2}},
		{"a.map={x: 1, y: [a]}", "a", []string{"map"}, map[string]any{"x": 1, "y": []any{"a"}}},
		{"a.q='3'", "a", []string{"q"}, "3"},
		{"a.empty=", "a", []string{"empty"}, ""},
		{"a.gone=null", "a", []string{"gone"}, nil},
		{"a.eq=x=y", "a", []string{"eq"}, "x=y"},
		{"a.env=${HOME}", "a", []string{"env"}, "${HOME}"},
		{"read.opts.sep=|", "read", []string{"opts", "sep"}, "|"},
		{"scale.workers=4", "scale", []string{"workers"}, 4},
		{" Read.URI = x", "Read", []string{"URI"}, "x"},
		{"a.pipe=|x", "a", []string{"pipe"}, "|x"},
		{"a.gt=>", "a", []string{"gt"}, ">"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			o, err := config.ParseSet(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if o.Stage != tc.stage || !reflect.DeepEqual(o.Path, tc.path) || !reflect.DeepEqual(o.Value, tc.value) || o.Source != "--set" {
				t.Errorf("ParseSet(%q) = %+v, want stage %q path %q value %#v", tc.in, o, tc.stage, tc.path, tc.value)
			}
		})
	}
}

func TestParseSetErrors(t *testing.T) {
	for _, in := range []string{"read.uri", "read=x", ".uri=x", "read..x=1", "read.=1", "=1", "a.b=[1,", "a.b={x"} {
		t.Run(in, func(t *testing.T) {
			_, err := config.ParseSet(in)
			if !errors.Is(err, config.ErrOverride) {
				t.Errorf("ParseSet(%q) = %v, want ErrOverride", in, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "--set: ") {
				t.Errorf("error should name --set: %v", err)
			}
		})
	}
	// The value is never echoed (it may be a secret).
	_, err := config.ParseSet("a.token=[hunter2")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("value leaked or no error: %v", err)
	}
}

func TestOverridesPrecedence(t *testing.T) {
	clearEnv(t)
	f := mustParse(t, demo)
	tests := []struct {
		name  string
		env   string
		flags []string
		check func(t *testing.T, read, scale map[string]any, workers int)
	}{
		{"none", "", nil, func(t *testing.T, read, scale map[string]any, workers int) {
			if read["uri"] != "./data/demo/in" || workers != 2 {
				t.Errorf("read=%v workers=%d", read, workers)
			}
		}},
		{"env only", "read.uri=s3://env/x; scale.factor=1 ;;scale.workers=7", nil, func(t *testing.T, read, scale map[string]any, workers int) {
			if read["uri"] != "s3://env/x" || scale["factor"] != 1 || workers != 7 {
				t.Errorf("read=%v scale=%v workers=%d", read, scale, workers)
			}
		}},
		{"flag beats env", "read.uri=s3://env/x;scale.factor=1", []string{"read.uri=s3://flag/y"}, func(t *testing.T, read, scale map[string]any, workers int) {
			if read["uri"] != "s3://flag/y" || scale["factor"] != 1 {
				t.Errorf("read=%v scale=%v", read, scale)
			}
		}},
		{"later flag wins", "", []string{"scale.factor=3", "scale.factor=4"}, func(t *testing.T, read, scale map[string]any, workers int) {
			if scale["factor"] != 4 {
				t.Errorf("scale=%v", scale)
			}
		}},
		{"nested and delete", "", []string{"read.opts.sep=;", "read.opts.deep.x=1", "read.batch_rows=null", "scale.column=[a, b]"}, func(t *testing.T, read, scale map[string]any, workers int) {
			want := map[string]any{"uri": "./data/demo/in", "opts": map[string]any{"sep": ";", "deep": map[string]any{"x": 1}}}
			if !reflect.DeepEqual(read, want) || !reflect.DeepEqual(scale["column"], []any{"a", "b"}) {
				t.Errorf("read=%v scale=%v", read, scale)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(config.EnvSet, tc.env)
			ovs, err := config.Overrides(tc.flags)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := f.Variant("demo", ovs)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, spec.Stages[0].Params, spec.Stages[1].Params, spec.Stages[1].Workers)
		})
	}
	// The File is not modified by overrides.
	spec, _ := f.Variant("demo", nil)
	if spec.Stages[0].Params["uri"] != "./data/demo/in" || spec.Stages[0].Params["batch_rows"] != 65536 {
		t.Errorf("overrides leaked into the File: %v", spec.Stages[0].Params)
	}
}

func TestOverrideErrors(t *testing.T) {
	clearEnv(t)
	f := mustParse(t, demo)
	tests := []struct {
		name string
		env  string
		set  []string
		is   error
		want []string
	}{
		{"unknown stage", "", []string{"raed.uri=x"}, config.ErrUnknownStage,
			[]string{`--set: variant "demo": stage "raed": key "uri": no stage "raed" in variant "demo" (did you mean "read"?)`}},
		{"unknown stage from env", "scael.factor=1", nil, config.ErrUnknownStage,
			[]string{"MEDFLOW_SET:", `variant "demo"`, `stage "scael"`, `did you mean "scale"?`}},
		{"workers type", "", []string{"scale.workers=many"}, config.ErrType,
			[]string{`stage "scale"`, `key "workers"`, "want an integer"}},
		{"buffer negative", "", []string{"scale.buffer=-1"}, config.ErrInvalid,
			[]string{`stage "scale"`, `key "buffer"`}},
		{"into non-map", "", []string{"read.uri.sub=1"}, config.ErrType,
			[]string{`stage "read"`, `key "uri.sub"`, `param "uri" is a string`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(config.EnvSet, tc.env)
			ovs, err := config.Overrides(tc.set)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Variant("demo", ovs)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// All override errors are reported together.
	ovs, _ := config.Overrides([]string{"x.a=1", "y.b=2"})
	_, err := f.Variant("demo", ovs)
	if got := strings.Count(err.Error(), "\n"); got != 1 {
		t.Errorf("want 2 errors, got:\n%v", err)
	}
	// Malformed MEDFLOW_SET and flags are all reported.
	t.Setenv(config.EnvSet, "nodot=1;a.b")
	_, err = config.Overrides([]string{"bad"})
	if !errors.Is(err, config.ErrOverride) || strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want 3 ErrOverride errors, got:\n%v", err)
	}
}
