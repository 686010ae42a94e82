package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// Settings are the global, non-pipeline settings. They are resolved by
// File.Settings with precedence flag > environment > file > default.
type Settings struct {
	// Work is the run store URI: a local folder or s3://bucket/prefix.
	Work string
	Log  LogSettings
	S3   S3Settings
	// MaxErrorRate is every stage's default error budget: a run fails,
	// before anything is committed, when a stage quarantines more than
	// this fraction of its records (0: no limit). A stage's
	// max_error_rate replaces it.
	MaxErrorRate float64
}

// DefaultMaxErrorRate is the default of settings.max_error_rate.
const DefaultMaxErrorRate = 0.5

// LogSettings configure logging.
type LogSettings struct {
	Format string // "text" or "json"
	Level  string // "debug", "info", "warn" or "error"
}

// S3Settings configure the S3-compatible object store. Its String, GoString
// and LogValue methods redact AccessKey, SecretKey and SessionToken.
type S3Settings struct {
	Endpoint           string // host:port, empty for AWS
	Region             string
	PathStyle          bool
	Secure             bool // use https
	InsecureSkipVerify bool
	AccessKey          string
	SecretKey          string
	SessionToken       string
	// Bounds on each request's waits (0: the s3 package defaults).
	ConnectTimeout        time.Duration
	ResponseHeaderTimeout time.Duration
	IdleTimeout           time.Duration
}

// Allowed values of the log settings.
var (
	LogFormats = []string{"text", "json"}
	LogLevels  = []string{"debug", "info", "warn", "error"}
)

// EnvPrefix prefixes the environment variable of each setting: the key in
// upper case with '.' replaced by '_', e.g. MEDFLOW_LOG_FORMAT,
// MEDFLOW_S3_ACCESS_KEY.
const EnvPrefix = "MEDFLOW"

type settingDef struct {
	key    string // viper key, e.g. "log.format"
	isBool bool
	def    any
	oneOf  []string
	usage  string // non-empty: BindFlags defines a flag for it
}

var settingDefs = []settingDef{
	{key: "work", def: "./data/work", usage: "run store URI: local folder or s3://bucket/prefix"},
	{key: "log.format", def: "text", oneOf: LogFormats, usage: "log format: text or json"},
	{key: "log.level", def: "info", oneOf: LogLevels, usage: "log level: debug, info, warn or error"},
	{key: "s3.endpoint", def: "", usage: "S3 endpoint host:port (empty for AWS)"},
	{key: "s3.region", def: "us-east-1"},
	{key: "s3.path_style", isBool: true, def: false},
	{key: "s3.secure", isBool: true, def: true},
	{key: "s3.insecure_skip_verify", isBool: true, def: false},
	{key: "s3.access_key", def: ""},
	{key: "s3.secret_key", def: ""},
	{key: "s3.session_token", def: ""},
	{key: "s3.connect_timeout", def: ""},
	{key: "s3.response_header_timeout", def: ""},
	{key: "s3.idle_timeout", def: ""},
	// No flag of its own: `medflow run --max-error-rate` is bound to it.
	{key: "max_error_rate", def: strconv.FormatFloat(DefaultMaxErrorRate, 'g', -1, 64)},
}

// awsFallback: used when neither flag, MEDFLOW_ variable nor file sets the key.
var awsFallback = map[string]string{
	"s3.access_key":    "AWS_ACCESS_KEY_ID",
	"s3.secret_key":    "AWS_SECRET_ACCESS_KEY",
	"s3.session_token": "AWS_SESSION_TOKEN",
}

func (s settingDef) env() string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(s.key, ".", "_"))
}

func (s settingDef) flag() string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(s.key)
}

// BindFlags defines the settings flags --work, --log-format, --log-level
// and --s3-endpoint on fs. File.Settings reads them back from the same
// FlagSet; flags not changed on the command line do not override.
func BindFlags(fs *pflag.FlagSet) {
	for _, d := range settingDefs {
		if d.usage == "" || fs.Lookup(d.flag()) != nil {
			continue
		}
		if d.isBool {
			fs.Bool(d.flag(), d.def.(bool), d.usage)
		} else {
			fs.String(d.flag(), d.def.(string), d.usage)
		}
	}
}

// settings decodes the `settings` section (already known to be a mapping)
// into nested maps for viper, reporting unknown keys and wrong types.
func (d *decoder) settings(f *File, m *yaml.Node, l loc, prefix string) map[string]any {
	out := map[string]any{}
	var known []string
	for _, def := range settingDefs {
		if rest, ok := strings.CutPrefix(def.key, prefix); ok {
			first, _, _ := strings.Cut(rest, ".")
			if !slices.Contains(known, first) {
				known = append(known, first)
			}
		}
	}
	for _, p := range d.pairs(m, l) {
		full := prefix + p.key
		kl := l.with(p.key)
		i := slices.IndexFunc(settingDefs, func(s settingDef) bool { return s.key == full })
		switch {
		case i >= 0:
			def := settingDefs[i]
			f.settingsLines[full] = p.v.Line
			if def.isBool {
				if b, ok := d.boolean(p.v, kl); ok {
					out[p.key] = b
				}
				continue
			}
			s, ok := d.str(p.v, kl)
			if !ok {
				continue
			}
			if def.oneOf != nil && !slices.Contains(def.oneOf, s) {
				d.el.add(p.v.Line, kl, ErrInvalid, "want one of %s, got %s", strings.Join(def.oneOf, ", "), d.describe(p.v))
				continue
			}
			if _, interpolated := d.raw[deref(p.v)]; full == "work" && !interpolated {
				s = RelativeTo(f.name, s)
			}
			out[p.key] = s
		case slices.Contains(known, p.key):
			if sub := d.mapping(p.v, kl, "settings section"); sub != nil {
				out[p.key] = d.settings(f, sub, kl, full+".")
			}
		default:
			d.unknownKey(p, l, known)
		}
	}
	return out
}

// RelativeTo resolves a relative local path written in the config file at
// configPath against the file's folder, so a run gives the same result
// from any working directory. URIs (s3://...), absolute paths and paths in
// a file of the current folder are returned as they are.
func RelativeTo(configPath, p string) string {
	dir := filepath.Dir(configPath)
	if p == "" || dir == "." || strings.Contains(p, "://") || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Settings resolves the global settings with precedence
// flag > environment > file > default:
//
//   - flags: those of fs that were changed on the command line (see
//     BindFlags); any flag named after a key ("s3-region" for s3.region) is
//     honoured. fs may be nil.
//   - environment: MEDFLOW_<KEY>, e.g. MEDFLOW_WORK, MEDFLOW_LOG_LEVEL,
//     MEDFLOW_S3_PATH_STYLE, MEDFLOW_S3_SECRET_KEY. Empty means unset.
//   - file: the `settings` section (f may be nil: no file).
//   - for the S3 credentials only, when still empty: AWS_ACCESS_KEY_ID,
//     AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
//   - defaults: work ./data/work, log text/info, s3 region us-east-1,
//     secure true.
//
// The result is validated (ErrInvalid, ErrType); errors name the source of
// the bad value but never print credentials.
func (f *File) Settings(fs *pflag.FlagSet) (Settings, error) {
	v := viper.New()
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	for _, d := range settingDefs {
		v.SetDefault(d.key, d.def)
		if err := v.BindEnv(d.key, d.env()); err != nil {
			return Settings{}, err
		}
		if fs != nil {
			if fl := fs.Lookup(d.flag()); fl != nil {
				if err := v.BindPFlag(d.key, fl); err != nil {
					return Settings{}, err
				}
			}
		}
	}
	if f != nil && f.settings != nil {
		if err := v.MergeConfigMap(f.settings); err != nil {
			return Settings{}, err
		}
	}

	var errs []error
	str := func(key string) string {
		s := v.GetString(key)
		if s == "" {
			if env, ok := awsFallback[key]; ok {
				s = os.Getenv(env)
			}
		}
		return s
	}
	boolean := func(key string) bool {
		switch x := v.Get(key).(type) {
		case bool:
			return x
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err == nil {
				return b
			}
		}
		def := settingDefs[slices.IndexFunc(settingDefs, func(s settingDef) bool { return s.key == key })]
		e := f.sourceError(def, fs, ErrType, "want a boolean (true or false)")
		errs = append(errs, e)
		return false
	}
	duration := func(key string) time.Duration {
		v := strings.TrimSpace(str(key))
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			def := settingDefs[slices.IndexFunc(settingDefs, func(s settingDef) bool { return s.key == key })]
			errs = append(errs, f.sourceError(def, fs, ErrType, fmt.Sprintf("want a duration like 30s, got %q", truncate(v, 40))))
		}
		return d
	}
	s := Settings{
		Work: str("work"),
		Log:  LogSettings{Format: str("log.format"), Level: str("log.level")},
		S3: S3Settings{
			Endpoint:           str("s3.endpoint"),
			Region:             str("s3.region"),
			PathStyle:          boolean("s3.path_style"),
			Secure:             boolean("s3.secure"),
			InsecureSkipVerify: boolean("s3.insecure_skip_verify"),
			AccessKey:          str("s3.access_key"),
			SecretKey:          str("s3.secret_key"),
			SessionToken:       str("s3.session_token"),

			ConnectTimeout:        duration("s3.connect_timeout"),
			ResponseHeaderTimeout: duration("s3.response_header_timeout"),
			IdleTimeout:           duration("s3.idle_timeout"),
		},
	}
	if r, err := strconv.ParseFloat(strings.TrimSpace(v.GetString("max_error_rate")), 64); err != nil || !(r >= 0 && r <= 1) {
		def := settingDefs[slices.IndexFunc(settingDefs, func(s settingDef) bool { return s.key == "max_error_rate" })]
		errs = append(errs, f.sourceError(def, fs, ErrInvalid, fmt.Sprintf("want a number from 0 to 1, got %q", truncate(v.GetString(def.key), 40))))
	} else {
		s.MaxErrorRate = r
	}
	for _, d := range settingDefs {
		switch {
		case d.oneOf != nil && !slices.Contains(d.oneOf, v.GetString(d.key)):
			errs = append(errs, f.sourceError(d, fs, ErrInvalid,
				fmt.Sprintf("want one of %s, got %q", strings.Join(d.oneOf, ", "), truncate(v.GetString(d.key), 40))))
		case d.key == "work" && s.Work == "":
			errs = append(errs, f.sourceError(d, fs, ErrInvalid, "must not be empty"))
		}
	}
	if len(errs) > 0 {
		return Settings{}, joinErrs(errs)
	}
	return s, nil
}

// sourceError builds an error naming where the effective value of d came
// from: a flag, an environment variable, the file (with line) or the default.
func (f *File) sourceError(d settingDef, fs *pflag.FlagSet, class error, msg string) error {
	e := &Error{Key: d.key, Err: class, Msg: msg}
	switch {
	case fs != nil && fs.Lookup(d.flag()) != nil && fs.Lookup(d.flag()).Changed:
		e.File = "--" + d.flag()
	case os.Getenv(d.env()) != "":
		e.File = d.env()
	case f != nil && f.settingsLines[d.key] > 0:
		e.File, e.Line, e.Key = f.name, f.settingsLines[d.key], "settings."+d.key
	default:
		e.File = "default"
	}
	return e
}

// Validate checks the log format and level and that Work is set.
func (s Settings) Validate() error {
	var errs []error
	if !slices.Contains(LogFormats, s.Log.Format) {
		errs = append(errs, &Error{Key: "log.format", Err: ErrInvalid, Msg: fmt.Sprintf("want one of %s, got %q", strings.Join(LogFormats, ", "), s.Log.Format)})
	}
	if !slices.Contains(LogLevels, s.Log.Level) {
		errs = append(errs, &Error{Key: "log.level", Err: ErrInvalid, Msg: fmt.Sprintf("want one of %s, got %q", strings.Join(LogLevels, ", "), s.Log.Level)})
	}
	if s.Work == "" {
		errs = append(errs, &Error{Key: "work", Err: ErrInvalid, Msg: "must not be empty"})
	}
	if len(errs) > 0 {
		return joinErrs(errs)
	}
	return nil
}

const redacted = "[REDACTED]"

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String renders the settings with credentials redacted.
func (s Settings) String() string {
	return fmt.Sprintf("{Work:%s Log:{Format:%s Level:%s} S3:%s}", s.Work, s.Log.Format, s.Log.Level, s.S3)
}

// GoString is like String, so that %#v does not leak credentials either.
func (s Settings) GoString() string { return "config.Settings" + s.String() }

// LogValue implements slog.LogValuer with credentials redacted.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("work", s.Work),
		slog.Group("log", slog.String("format", s.Log.Format), slog.String("level", s.Log.Level)),
		slog.Attr{Key: "s3", Value: s.S3.LogValue()},
	)
}

// String renders the S3 settings with credentials redacted.
func (s S3Settings) String() string {
	return fmt.Sprintf("{Endpoint:%s Region:%s PathStyle:%t Secure:%t InsecureSkipVerify:%t AccessKey:%s SecretKey:%s SessionToken:%s ConnectTimeout:%v ResponseHeaderTimeout:%v IdleTimeout:%v}",
		s.Endpoint, s.Region, s.PathStyle, s.Secure, s.InsecureSkipVerify,
		redact(s.AccessKey), redact(s.SecretKey), redact(s.SessionToken), s.ConnectTimeout, s.ResponseHeaderTimeout, s.IdleTimeout)
}

// GoString is like String, so that %#v does not leak credentials either.
func (s S3Settings) GoString() string { return "config.S3Settings" + s.String() }

// LogValue implements slog.LogValuer with credentials redacted.
func (s S3Settings) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", s.Endpoint),
		slog.String("region", s.Region),
		slog.Bool("path_style", s.PathStyle),
		slog.Bool("secure", s.Secure),
		slog.Bool("insecure_skip_verify", s.InsecureSkipVerify),
		slog.String("access_key", redact(s.AccessKey)),
		slog.String("secret_key", redact(s.SecretKey)),
		slog.String("session_token", redact(s.SessionToken)),
		slog.Duration("connect_timeout", s.ConnectTimeout),
		slog.Duration("response_header_timeout", s.ResponseHeaderTimeout),
		slog.Duration("idle_timeout", s.IdleTimeout),
	)
}
