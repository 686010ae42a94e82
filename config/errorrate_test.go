package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/medflow/medflow/config"
)

const rates = `
settings: {max_error_rate: 0.25}
variants:
  base:
    stages:
      - {name: read, kind: csv.read, max_error_rate: 0.3}
      - {name: scale, kind: col.scale, inputs: [read]}
  strict:
    extends: base
    stages:
      - {name: read, max_error_rate: 0}
      - {name: scale, max_error_rate: 1}
  kept:
    extends: base
    stages:
      - {name: scale, workers: 2}
`

// TestMaxErrorRate: a stage's max_error_rate is read from the file,
// replaced by a variant that extends it, kept when not given, set by
// --set, and the settings' default is read and checked.
func TestMaxErrorRate(t *testing.T) {
	clearEnv(t)
	f := mustParse(t, rates)
	s, err := f.Settings(nil)
	if err != nil || s.MaxErrorRate != 0.25 {
		t.Fatalf("settings: max_error_rate %v, %v; want 0.25", s.MaxErrorRate, err)
	}
	if s, err := mustParse(t, "variants: {}").Settings(nil); err != nil || s.MaxErrorRate != config.DefaultMaxErrorRate {
		t.Fatalf("default max_error_rate %v, %v; want %v", s.MaxErrorRate, err, config.DefaultMaxErrorRate)
	}
	for _, tc := range []struct {
		variant string
		set     []string
		want    map[string]float64 // stage -> rate; absent: not set
	}{
		{"base", nil, map[string]float64{"read": 0.3}},
		{"strict", nil, map[string]float64{"read": 0, "scale": 1}},
		{"kept", nil, map[string]float64{"read": 0.3}},
		{"base", []string{"scale.max_error_rate=0.05", "read.max_error_rate=1"}, map[string]float64{"read": 1, "scale": 0.05}},
	} {
		t.Run(tc.variant+strings.Join(tc.set, ","), func(t *testing.T) {
			ovs, err := config.Overrides(tc.set)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := f.Variant(tc.variant, ovs)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range spec.Stages {
				want, ok := tc.want[st.Name]
				switch {
				case !ok && st.MaxErrorRate != nil:
					t.Errorf("stage %s: max_error_rate %v, want unset", st.Name, *st.MaxErrorRate)
				case ok && (st.MaxErrorRate == nil || *st.MaxErrorRate != want):
					t.Errorf("stage %s: max_error_rate %v, want %v", st.Name, st.MaxErrorRate, want)
				}
			}
		})
	}
}

func TestMaxErrorRateErrors(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		name, src string
		set       string
		is        error
		want      string
	}{
		{name: "stage above 1", src: "variants: {v: {stages: [{name: a, kind: k, max_error_rate: 1.5}]}}", is: config.ErrInvalid, want: `key "max_error_rate": want a number from 0 to 1`},
		{name: "stage not a number", src: "variants: {v: {stages: [{name: a, kind: k, max_error_rate: half}]}}", is: config.ErrType, want: `key "max_error_rate": want a number from 0 to 1`},
		{name: "--set negative", src: "variants: {v: {stages: [{name: a, kind: k}]}}", set: "a.max_error_rate=-0.1", is: config.ErrInvalid, want: `key "max_error_rate"`},
		{name: "--set not a number", src: "variants: {v: {stages: [{name: a, kind: k}]}}", set: "a.max_error_rate=[1]", is: config.ErrType, want: `key "max_error_rate"`},
		{name: "settings", src: "settings: {max_error_rate: -1}\nvariants: {}", is: config.ErrInvalid, want: `settings.max_error_rate": want a number from 0 to 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse(file, []byte(tc.src))
			if err == nil {
				if tc.set != "" {
					var ovs []config.Override
					if ovs, err = config.Overrides([]string{tc.set}); err == nil {
						_, err = f.Variant("v", ovs)
					}
				} else {
					_, err = f.Settings(nil)
				}
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %v naming %s", err, tc.is, tc.want)
			}
		})
	}
}
