package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/medflow/medflow/schemas"
)

// Sentinel errors. Every error the engine returns wraps one of them, so
// callers can branch with errors.Is while users read a message that names
// the variant, stage and key.
var (
	ErrUnknownKind    = errors.New("unknown stage kind")
	ErrMissingInput   = errors.New("missing input")
	ErrCycle          = errors.New("cycle")
	ErrSchemaMismatch = schemas.ErrMismatch
	ErrMissingParam   = errors.New("missing required param")
	ErrUnknownParam   = errors.New("unknown param")
	ErrParamType      = errors.New("wrong param type")
	ErrParamValue     = errors.New("invalid param value")
	ErrDuplicateStage = errors.New("duplicate stage name")
	ErrUnknownStage   = errors.New("unknown stage")
	ErrInputCount     = errors.New("wrong number of inputs")
	ErrPanic          = errors.New("stage panicked")
	ErrDiscarded      = errors.New("barrier input discarded")
)

// PlanError is a validation failure found before anything runs. File and
// Line locate it in the config file when known (the param's line, else
// the stage's).
type PlanError struct {
	File    string
	Line    int
	Variant string
	Stage   string // empty for variant-level errors
	Key     string // the offending key ("kind", "inputs", "params.uri"), may be empty
	Err     error
}

func (e *PlanError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "variant %q", e.Variant)
	if e.Stage != "" {
		fmt.Fprintf(&b, ": stage %q", e.Stage)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *PlanError) Unwrap() error { return e.Err }

// StageError is a failure while running a stage. Record is the zero-based
// index of the offending record in the stage's input stream (for sources:
// in its output stream), or -1 when the failure is not tied to a record.
// When the stage failed on a batch without saying which record, Batch is
// true and Record is the batch's first record.
type StageError struct {
	Stage  string
	Record int64
	Batch  bool
	Err    error
}

func (e *StageError) Error() string {
	switch {
	case e.Record >= 0 && e.Batch:
		return fmt.Sprintf("stage %q: batch at record %d: %v", e.Stage, e.Record, e.Err)
	case e.Record >= 0:
		return fmt.Sprintf("stage %q: record %d: %v", e.Stage, e.Record, e.Err)
	}
	return fmt.Sprintf("stage %q: %v", e.Stage, e.Err)
}

func (e *StageError) Unwrap() error { return e.Err }

// recordError marks an error as caused by one record of the batch a stage
// was processing. Stages create it with RecordError.
type recordError struct {
	row int64
	err error
}

func (e *recordError) Error() string { return fmt.Sprintf("record %d: %v", e.row, e.err) }
func (e *recordError) Unwrap() error { return e.err }

// RecordError tells the engine that err was caused by row i of the batch
// the stage is processing (for sources: row i of the stream they emit).
// The engine turns it into a StageError whose Record is the row's index in
// the whole stream.
func RecordError(i int, err error) error {
	if err == nil {
		return nil
	}
	return &recordError{row: int64(i), err: err}
}

// wrapStage turns err into a *StageError for stage. base is the stream
// index of the first record of the batch being handled (0 for sources, -1
// when no batch is involved); a RecordError's row is added to it.
func wrapStage(stage string, base int64, err error) error {
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	var re *recordError
	if errors.As(err, &re) {
		return &StageError{Stage: stage, Record: max(base, 0) + re.row, Err: re.err}
	}
	return &StageError{Stage: stage, Record: base, Batch: base >= 0, Err: err}
}
