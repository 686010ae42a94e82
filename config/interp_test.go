package config_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/medflow/medflow/config"
)

func TestInterpolation(t *testing.T) {
	env := map[string]string{
		"MF_N": "4", "MF_F": "2.5", "MF_B": "true", "MF_S": "hello", "MF_EMPTY": "",
		"MF_NULL": "null", "MF_LIST": "[1,2]", "MF_HASH": "a # b",
	}
	tests := []struct {
		name  string
		value string // YAML text after "v: "
		want  any
	}{
		{"int re-resolved", "${MF_N}", 4},
		{"float re-resolved", "${MF_F}", 2.5},
		{"bool re-resolved", "${MF_B}", true},
		{"string", "${MF_S}", "hello"},
		{"double quoted stays string", `"${MF_N}"`, "4"},
		{"single quoted stays string", `'${MF_N}'`, "4"},
		{"explicit tag kept", "!!str ${MF_N}", "4"},
		{"concatenation", "x-${MF_N}-${MF_S}", "x-4-hello"},
		{"default when unset", "${MF_UNSET:-def}", "def"},
		{"default re-resolved", "${MF_UNSET:-8}", 8},
		{"default when empty", "${MF_EMPTY:-d}", "d"},
		{"empty default is empty string", "${MF_UNSET:-}", ""},
		{"set but empty", "${MF_EMPTY}", ""},
		{"default with colon", "${MF_UNSET:-s3://b/x}", "s3://b/x"},
		{"escape", "$${MF_N}", "${MF_N}"},
		{"escape of unset", "$${MF_UNSET} and ${MF_N}", "${MF_UNSET} and 4"},
		{"lone dollar", "$5 and $MF_N", "$5 and $MF_N"},
		{"null text re-resolved", "${MF_NULL}", nil},
		{"no structure from env", "${MF_LIST}", "[1,2]"},
		{"no comment from env", "${MF_HASH}", "a # b"},
		// In flow collections ${ is not allowed unquoted ('{' is an
		// indicator): quote, and tag to get a non-string.
		{"in flow list", `[!!int "${MF_N}", "${MF_N}"]`, []any{4, "4"}},
		{"in flow map", `{k: !!bool "${MF_B}"}`, map[string]any{"k": true}},
		{"in block list", "\n            - ${MF_N}\n            - x${MF_N}", []any{4, "x4"}},
		{"comment ignored", "plain # ${MF_UNSET} in a comment", "plain"},
		{"literal block", "|\n            ${MF_N}", "4\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.Unsetenv("MF_UNSET")
			for k, v := range env {
				t.Setenv(k, v)
			}
			src := "# head comment ${MF_UNSET}\nvariants:\n  v:  # ${MF_UNSET}\n    stages:\n      - name: s\n        kind: k\n        # ${MF_UNSET:?x}\n        params:\n          v: " + tc.value + "\n          ${MF_UNSET}: key\n"
			f, err := config.Parse(file, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			spec, _ := f.Variant("v", nil)
			if got := spec.Stages[0].Params["v"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("v: %s = %#v, want %#v", tc.value, got, tc.want)
			}
			if got := spec.Stages[0].Params["${MF_UNSET}"]; got != "key" {
				t.Errorf("keys must not be interpolated: %v", spec.Stages[0].Params)
			}
		})
	}
}

func TestInterpolationFields(t *testing.T) {
	t.Setenv("MF_W", "3")
	t.Setenv("MF_KIND", "csv.read")
	t.Setenv("MF_PARENT", "a")
	os.Unsetenv("MF_UNSET")
	f := mustParse(t, `
variants:
  a:
    stages:
      - name: s
        kind: ${MF_KIND}
  b:
    extends: ${MF_PARENT}
    stages:
      - name: s
        workers: ${MF_W}
        buffer: ${MF_UNSET:-5}
`)
	spec, err := f.Variant("b", nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := spec.Stages[0]; st.Kind != "csv.read" || st.Workers != 3 || st.Buffer != 5 {
		t.Errorf("got %+v", st)
	}
}

func TestInterpolationQuotedWorkers(t *testing.T) {
	// A quoted ${N} stays a string, so it is not an integer.
	t.Setenv("MF_W", "3")
	_, err := config.Parse(file, []byte("variants:\n  a:\n    stages: [{name: s, kind: k, workers: '${MF_W}'}]\n"))
	if !errors.Is(err, config.ErrType) {
		t.Errorf("quoted workers: %v, want ErrType", err)
	}
}

func TestSecretNotLeaked(t *testing.T) {
	clearEnv(t)
	const secret = "hunter2-very-secret"
	t.Setenv("MF_SECRET", secret)
	tests := []struct {
		name string
		src  string
		is   error
	}{
		{"workers", "variants:\n  v:\n    stages: [{name: s, kind: k, workers: '${MF_SECRET}'}]\n", config.ErrType},
		{"workers plain", "variants:\n  v:\n    stages:\n      - name: s\n        kind: k\n        workers: x${MF_SECRET}\n", config.ErrType},
		{"bool setting", "settings:\n  s3:\n    secure: ${MF_SECRET}\n", config.ErrType},
		{"log format", "settings:\n  log:\n    format: ${MF_SECRET}\n", config.ErrInvalid},
		{"stages", "variants:\n  v:\n    stages: ${MF_SECRET}\n", config.ErrType},
		{"inputs list item", "variants:\n  v:\n    stages: [{name: s, kind: k, inputs: [{a: 1}]}]\n    description: ${MF_SECRET}\n", config.ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(file, []byte(tc.src))
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("secret leaked: %v", err)
			}
			if tc.name != "inputs list item" && !strings.Contains(err.Error(), "${MF_SECRET}") {
				t.Errorf("error should say \"value of ${MF_SECRET}\": %v", err)
			}
		})
	}

	// Settings from env: a bad MEDFLOW_S3_SECURE is reported without its value.
	t.Setenv("MEDFLOW_S3_SECURE", secret)
	_, err := (*config.File)(nil).Settings(nil)
	if !errors.Is(err, config.ErrType) || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "MEDFLOW_S3_SECURE") {
		t.Errorf("Settings with bad MEDFLOW_S3_SECURE: %v", err)
	}
	t.Setenv("MEDFLOW_S3_SECURE", "")

	// Formatting Settings never shows credentials.
	t.Setenv("MEDFLOW_S3_ACCESS_KEY", "AKIA-"+secret)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", secret)
	s, err := (*config.File)(nil).Settings(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.S3.AccessKey != "AKIA-"+secret || s.S3.SecretKey != secret || s.S3.SessionToken != secret {
		t.Fatalf("credentials not loaded: %#v", s.S3.AccessKey)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("settings", "settings", s, "s3", s.S3)
	for _, out := range []string{
		s.String(), s.S3.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), fmt.Sprintf("%v %+v %#v", s.S3, s.S3, s.S3), logged.String(),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("secret leaked in %q", out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("no redaction marker in %q", out)
		}
	}
}
