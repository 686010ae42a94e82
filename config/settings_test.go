package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/medflow/medflow/config"
)

const settingsFile = `
settings:
  work: s3://file/work
  log:
    format: json
  s3:
    endpoint: file:9000
    path_style: true
    secure: false
    access_key: file-access
    connect_timeout: 5s
`

func TestSettingsPrecedence(t *testing.T) {
	withFile := mustParse(t, settingsFile)
	noSettings := mustParse(t, "variants: {}\n")
	tests := []struct {
		name  string
		file  *config.File
		env   map[string]string
		flags []string
		check func(s config.Settings) bool
	}{
		{"default", noSettings, nil, nil, func(s config.Settings) bool {
			return s.Work == "./data/work" && s.Log == config.LogSettings{Format: "text", Level: "info"} &&
				s.S3 == config.S3Settings{Region: "us-east-1", Secure: true}
		}},
		{"nil file is defaults", nil, nil, nil, func(s config.Settings) bool {
			return s.Work == "./data/work" && s.S3.Secure
		}},
		{"file beats default", withFile, nil, nil, func(s config.Settings) bool {
			return s.Work == "s3://file/work" && s.Log.Format == "json" && s.Log.Level == "info" &&
				s.S3.Endpoint == "file:9000" && s.S3.PathStyle && !s.S3.Secure && s.S3.Region == "us-east-1" &&
				s.S3.AccessKey == "file-access" && s.S3.ConnectTimeout == 5*time.Second && s.S3.IdleTimeout == 0
		}},
		{"env beats file", withFile, map[string]string{
			"MEDFLOW_WORK": "/env/work", "MEDFLOW_LOG_FORMAT": "text", "MEDFLOW_LOG_LEVEL": "debug",
			"MEDFLOW_S3_ENDPOINT": "env:9000", "MEDFLOW_S3_SECURE": "true", "MEDFLOW_S3_PATH_STYLE": "0",
			"MEDFLOW_S3_ACCESS_KEY": "env-access", "MEDFLOW_S3_REGION": "eu-west-1",
		}, nil, func(s config.Settings) bool {
			return s.Work == "/env/work" && s.Log == config.LogSettings{Format: "text", Level: "debug"} &&
				s.S3.Endpoint == "env:9000" && s.S3.Secure && !s.S3.PathStyle && s.S3.AccessKey == "env-access" &&
				s.S3.Region == "eu-west-1"
		}},
		{"flag beats env", withFile, map[string]string{"MEDFLOW_WORK": "/env/work", "MEDFLOW_LOG_LEVEL": "debug", "MEDFLOW_S3_ENDPOINT": "env:9000"},
			[]string{"--work=/flag/work", "--log-level=error", "--s3-endpoint=flag:9000"}, func(s config.Settings) bool {
				return s.Work == "/flag/work" && s.Log.Level == "error" && s.Log.Format == "json" && s.S3.Endpoint == "flag:9000"
			}},
		{"unchanged flag does not override", withFile, nil, []string{}, func(s config.Settings) bool {
			return s.Work == "s3://file/work" && s.Log.Format == "json"
		}},
		{"aws fallback", noSettings, map[string]string{"AWS_ACCESS_KEY_ID": "aws-a", "AWS_SECRET_ACCESS_KEY": "aws-s", "AWS_SESSION_TOKEN": "aws-t"}, nil,
			func(s config.Settings) bool {
				return s.S3.AccessKey == "aws-a" && s.S3.SecretKey == "aws-s" && s.S3.SessionToken == "aws-t"
			}},
		{"medflow env beats aws", noSettings, map[string]string{"AWS_ACCESS_KEY_ID": "aws-a", "MEDFLOW_S3_ACCESS_KEY": "mf-a", "MEDFLOW_S3_SECRET_KEY": "mf-s", "AWS_SECRET_ACCESS_KEY": "aws-s"}, nil,
			func(s config.Settings) bool { return s.S3.AccessKey == "mf-a" && s.S3.SecretKey == "mf-s" }},
		{"file beats aws", withFile, map[string]string{"AWS_ACCESS_KEY_ID": "aws-a", "AWS_SECRET_ACCESS_KEY": "aws-s"}, nil,
			func(s config.Settings) bool { return s.S3.AccessKey == "file-access" && s.S3.SecretKey == "aws-s" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var fs *pflag.FlagSet
			if tc.flags != nil {
				fs = pflag.NewFlagSet("test", pflag.ContinueOnError)
				config.BindFlags(fs)
				if err := fs.Parse(tc.flags); err != nil {
					t.Fatal(err)
				}
			}
			s, err := tc.file.Settings(fs)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Errorf("unexpected settings: %#v (raw keys: %q %q)", s, s.S3.AccessKey, s.S3.SecretKey)
			}
		})
	}
}

func TestSettingsInterpolated(t *testing.T) {
	clearEnv(t)
	t.Setenv("MF_SECURE", "false")
	t.Setenv("MF_KEY", "k")
	f := mustParse(t, "settings:\n  s3:\n    secure: ${MF_SECURE}\n    access_key: ${MF_KEY}\n    secret_key: ${MF_NOT_SET_EVER:-}\n")
	s, err := f.Settings(nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.S3.Secure || s.S3.AccessKey != "k" || s.S3.SecretKey != "" {
		t.Errorf("got %#v", s.S3.AccessKey)
	}
}

func TestSettingsErrors(t *testing.T) {
	f := mustParse(t, "settings:\n  log:\n    level: warn\n")
	tests := []struct {
		name  string
		env   map[string]string
		flags []string
		is    error
		want  []string
	}{
		{"bad env format", map[string]string{"MEDFLOW_LOG_FORMAT": "xml"}, nil, config.ErrInvalid,
			[]string{`MEDFLOW_LOG_FORMAT: key "log.format": want one of text, json, got "xml"`}},
		{"bad flag level", map[string]string{"MEDFLOW_LOG_LEVEL": "debug"}, []string{"--log-level=loud"}, config.ErrInvalid,
			[]string{`--log-level: key "log.level": want one of debug, info, warn, error`}},
		{"bad env bool", map[string]string{"MEDFLOW_S3_PATH_STYLE": "perhaps"}, nil, config.ErrType,
			[]string{`MEDFLOW_S3_PATH_STYLE: key "s3.path_style": want a boolean`}},
		{"empty work flag", nil, []string{"--work="}, config.ErrInvalid,
			[]string{`--work: key "work": must not be empty`}},
		{"bad env timeout", map[string]string{"MEDFLOW_S3_IDLE_TIMEOUT": "30"}, nil, config.ErrType,
			[]string{`MEDFLOW_S3_IDLE_TIMEOUT: key "s3.idle_timeout": want a duration like 30s, got "30"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			config.BindFlags(fs)
			if err := fs.Parse(tc.flags); err != nil {
				t.Fatal(err)
			}
			_, err := f.Settings(fs)
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
}

func TestBindFlags(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.BindFlags(fs)
	config.BindFlags(fs) // idempotent
	for name, def := range map[string]string{"work": "./data/work", "log-format": "text", "log-level": "info", "s3-endpoint": ""} {
		fl := fs.Lookup(name)
		if fl == nil || fl.DefValue != def {
			t.Errorf("flag --%s = %+v, want default %q", name, fl, def)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		s    config.Settings
		want error
	}{
		{config.Settings{Work: "w", Log: config.LogSettings{Format: "json", Level: "warn"}}, nil},
		{config.Settings{Work: "w", Log: config.LogSettings{Format: "yaml", Level: "warn"}}, config.ErrInvalid},
		{config.Settings{Work: "w", Log: config.LogSettings{Format: "text", Level: "trace"}}, config.ErrInvalid},
		{config.Settings{Log: config.LogSettings{Format: "text", Level: "info"}}, config.ErrInvalid},
	}
	for _, tc := range tests {
		if err := tc.s.Validate(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Validate(%v) = %v, want %v", tc.s, err, tc.want)
		}
	}
}

func TestRelativeTo(t *testing.T) {
	for _, tc := range []struct{ cfg, p, want string }{
		{"pipelines.yaml", "./data/work", "./data/work"},
		{"/etc/medflow/pipelines.yaml", "work", "/etc/medflow/work"},
		{"conf/pipelines.yaml", "./data", "conf/data"},
		{"conf/pipelines.yaml", "/abs/work", "/abs/work"},
		{"conf/pipelines.yaml", "s3://bucket/work", "s3://bucket/work"},
		{"conf/pipelines.yaml", "", ""},
	} {
		if got := config.RelativeTo(tc.cfg, tc.p); got != tc.want {
			t.Errorf("RelativeTo(%q, %q) = %q, want %q", tc.cfg, tc.p, got, tc.want)
		}
	}
}
