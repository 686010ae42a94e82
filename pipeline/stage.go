package pipeline

import (
	"context"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Role is what a stage does with batches.
type Role int

const (
	// RoleSource has no inputs and emits batches.
	RoleSource Role = iota + 1
	// RoleTransform maps each input batch to zero or more output batches;
	// it may run with several workers.
	RoleTransform
	// RoleSink consumes batches and emits nothing.
	RoleSink
	// RoleBarrier needs its whole input before it can work (training,
	// joins, sorts). It receives each input as a re-iterable Dataset.
	RoleBarrier
)

func (r Role) String() string {
	switch r {
	case RoleSource:
		return "source"
	case RoleTransform:
		return "transform"
	case RoleSink:
		return "sink"
	case RoleBarrier:
		return "barrier"
	}
	return "invalid"
}

// Emitter receives a stage's output batches.
//
// Emit takes ownership of b: the stage must not Release it afterwards (it
// Retains first if it keeps a reference). Emit blocks while downstream is
// full (backpressure) and returns ctx's error if the run is cancelled; b is
// released in that case too. The batch's schema must equal the stage's
// declared Schema.
type Emitter interface {
	Emit(ctx context.Context, b arrow.RecordBatch) error
}

// Stage is what a Definition builds. Every stage also implements exactly
// one of Source, Transform, Sink or Barrier, matching its Definition's Role.
type Stage interface {
	// Schema is the schema of every batch the stage emits; nil for sinks.
	Schema() *arrow.Schema
}

// Source produces the stream. It should honour BuildContext.Shard when
// its input can be split deterministically.
type Source interface {
	Stage
	Produce(ctx context.Context, out Emitter) error
}

// Transform handles one input batch at a time. The batch is borrowed: it is
// valid until Process returns and the engine releases it then. With
// Workers > 1, Process is called concurrently and must be safe for that.
type Transform interface {
	Stage
	Process(ctx context.Context, in arrow.RecordBatch, out Emitter) error
}

// Flusher is implemented by transforms that hold rows back (batching,
// bucketing) or report totals: Flush is called once, after the last input
// batch has been processed by every worker, and may still emit. It is not
// called when the run fails.
type Flusher interface {
	Flush(ctx context.Context, out Emitter) error
}

// Releaser is implemented by stages that hold resources across callbacks
// (model sessions, rows held for batching): ReleaseRun is called once
// after the run ends, succeeded or failed, when every callback of every
// stage has returned, so a failing run elsewhere leaks nothing. It is not
// called for stages the run reused from the cache or skipped.
type Releaser interface {
	ReleaseRun()
}

// Sink consumes the stream from a single goroutine. Close is called once
// after the last batch when the run succeeded; Abort instead when it failed
// (a sink must leave no visible partial output then).
type Sink interface {
	Stage
	Consume(ctx context.Context, in arrow.RecordBatch) error
	Close(ctx context.Context) error
	Abort()
}

// ShardMerger is implemented by sinks whose sharded runs (Shard i/n) each
// commit their part of the output separately: MergeShards commits the
// whole once all count shards are committed (`medflow merge`).
type ShardMerger interface {
	MergeShards(ctx context.Context, count int) error
}

// Barrier receives its inputs whole, one Dataset per input in declared
// order, and may iterate them several times (epochs).
type Barrier interface {
	Stage
	Run(ctx context.Context, in []Dataset, out Emitter) error
}

// Definition registers a stage kind.
type Definition struct {
	// Kind is the name used in the config ("files.read").
	Kind string
	Role Role
	// Doc is one line shown by `medflow kinds`.
	Doc string
	// Version is part of the stage fingerprint: bump it when the stage's
	// output for the same input and params changes.
	Version string
	// Params the kind accepts. Unknown params are a plan error.
	Params []Param
	// MinInputs and MaxInputs bound the number of inputs; MaxInputs < 0
	// means unbounded. Both zero means: 0 for sources, exactly 1 otherwise.
	MinInputs, MaxInputs int
	// New builds the stage. It must be cheap and do no I/O: it runs at
	// plan time (validate, plan) as well as before a run, and only when
	// every param passed the checks its Param declares. It checks what
	// the spec cannot express (input schemas, rules across params) and
	// returns errors wrapping ErrSchemaMismatch etc.; ParamErrorf and
	// AtParam attribute one to a param. It does not name the stage: the
	// engine does.
	New func(b *BuildContext) (Stage, error)
}

// InputBounds returns the number of inputs the kind takes: at least lo,
// at most hi (hi < 0: unbounded), with MinInputs/MaxInputs' defaults
// applied.
func (d *Definition) InputBounds() (lo, hi int) {
	lo, hi = d.MinInputs, d.MaxInputs
	if lo == 0 && hi == 0 {
		if d.Role == RoleSource {
			return 0, 0
		}
		return 1, 1
	}
	return lo, hi
}

// BuildContext is what Definition.New receives.
type BuildContext struct {
	Variant string
	Stage   string
	Params  Params
	// Inputs are the output schemas of the stage's inputs, in order.
	Inputs []*arrow.Schema
	// Workers is the stage's configured concurrency (>= 1).
	Workers int
	Shard   Shard
	Alloc   memory.Allocator
	Logger  *slog.Logger
	// Quarantine records per-record faults; never nil.
	Quarantine Quarantine
	// Artifacts stores the stage's side outputs (checkpoints, curves,
	// metric tables) under its fingerprint; never nil, usable only while
	// the stage runs (ErrNoArtifacts otherwise).
	Artifacts Artifacts
}

// Quarantine records a record that a stage could not handle, so the run can
// go on without it. Key identifies the record (e.g. a file key or study id);
// ctx is the one the stage's callback got (it ties the record to the input
// batch being processed, so a resumed stage keeps it).
type Quarantine interface {
	Add(ctx context.Context, key, reason string) error
}
