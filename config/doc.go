// Package config loads medflow pipelines files (pipelines.yaml): global
// settings plus named pipeline variants, each a DAG of stages, and resolves
// a variant into a pipeline.Spec.
//
// # File format
//
//	settings:               # optional; see Settings
//	  work: ./data/work
//	  log: {format: text, level: info}
//	  s3:
//	    endpoint: 127.0.0.1:9000
//	    access_key: ${AWS_ACCESS_KEY_ID:-}
//	variants:
//	  demo:
//	    description: read CSV, scale a column
//	    stages:
//	      - name: read
//	        kind: files.read
//	        params: {uri: ./data/demo/in}
//	      - name: scale
//	        kind: col.scale
//	        inputs: [read]      # a single name (inputs: read) is also accepted
//	        workers: 2
//	        buffer: 4
//	        materialize: true   # keep the output, addressed by fingerprint, and reuse it
//	        params: {column: value, factor: 2.5}
//	  demo-big:
//	    extends: demo
//	    stages:
//	      - name: read          # existing name: override
//	        params: {uri: ./data/big}
//	      - name: write         # new name: appended
//	        kind: parquet.write
//	        inputs: [scale]
//
// Top-level keys are settings and variants; variant keys are description,
// extends and stages; stage keys are name, kind, inputs, params, workers,
// buffer, materialize and max_error_rate. Any other key is an ErrUnknownKey error with a "did you mean"
// suggestion, except top-level keys starting with "x-", which are ignored
// and can hold YAML anchors. Stage names and param keys keep their case.
// YAML anchors, aliases and merge keys (<<) may be used (an alias inside
// the node it refers to is an ErrInvalid cycle error). Only one YAML
// document is allowed.
//
// # Extends
//
// A variant with `extends: parent` starts from the fully resolved parent
// (multi-level chains work; cycles and unknown parents are ErrExtends). Its
// description replaces the parent's if given. Each of its stages either
// overrides the parent stage of the same name, which keeps its position, or
// is appended (and then needs a kind). On override, kind, inputs, workers and
// buffer (and materialize) replace the inherited value when given; params are merged key by
// key, maps recursively, other values (lists included) replaced; a null
// param value removes the inherited key. Stages cannot be removed.
//
// # Environment interpolation
//
// In scalar values, never in keys or comments, ${VAR} is replaced by the
// value of environment variable VAR, and ${VAR:-default} by default when VAR
// is unset or empty. $${ produces a literal ${. An unset variable without
// default, or a malformed reference, is an ErrEnv error naming file, line and
// variable. Interpolation happens before type checking, and the result is
// re-typed by these rules:
//
//   - a plain (unquoted) scalar is resolved again by the YAML 1.2 core
//     schema: with N=4, `workers: ${N}` is the integer 4 and `flag: ${B}`
//     with B=true is a bool;
//   - a quoted or block scalar ("${N}", '${N}', |) stays a string;
//   - an explicit tag (!!str ${N}) is kept;
//   - a result that is empty is the empty string, never null;
//   - interpolation never creates lists or maps.
//
// Inside flow collections ({...} and [...]) YAML does not allow an unquoted
// ${: write `{n: !!int "${N}"}` there, or use block style.
//
// Interpolated text may be secret: error messages print "value of ${VAR}"
// instead of it.
//
// # Overrides
//
// ParseSet parses the CLI's repeated --set stage.param=value, the value being
// a YAML scalar or flow value; Overrides also reads MEDFLOW_SET
// (`;`-separated, lower precedence than flags). File.Variant applies them in
// order. stage.workers, stage.buffer and stage.max_error_rate set the stage
// fields; every other path sets (nested) params.
//
// # Errors
//
// Parse collects all errors rather than stopping at the first and returns
// them joined with errors.Join. Each is an *Error formatted as
//
//	pipelines.yaml:12: variant "demo": stage "scale": key "workers": want an integer, got "two"
//
// and wraps one class sentinel (ErrSyntax, ErrUnknownKey, ErrType,
// ErrInvalid, ErrDuplicate, ErrMissing, ErrExtends, ErrEnv,
// ErrUnknownVariant, ErrUnknownStage, ErrOverride), for errors.Is.
//
// # Param types
//
// Params hold YAML-decoded Go values: string, bool, int, float64, []any,
// map[string]any, and nil for null. Timestamps and custom-tagged scalars stay
// strings; map keys are always strings (the key's text).
//
// # Settings
//
// File.Settings resolves Settings with viper, precedence flag > environment
// (MEDFLOW_WORK, MEDFLOW_LOG_FORMAT, MEDFLOW_S3_ACCESS_KEY, ...) > file >
// default. BindFlags defines --work, --log-format, --log-level and
// --s3-endpoint. When the S3 credentials are set nowhere else they fall back
// to AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
package config
