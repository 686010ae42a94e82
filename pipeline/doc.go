// Package pipeline is medflow's engine: it turns a Spec (one variant of a
// pipelines.yaml) into a validated Plan, and runs the plan as a DAG of
// concurrent stages that stream Arrow record batches to each other. It
// knows nothing of X-rays, object stores or models; stage kinds are
// registered by other packages.
//
// # Stages
//
// A stage kind is a Definition in a Registry: a name, a Role, declared
// Params and a constructor. Roles:
//
//   - Source: no inputs; Produce emits batches.
//   - Transform: Process maps each input batch to zero or more output
//     batches; Workers > 1 runs Process concurrently. Output keeps input
//     order unless RunOptions.Unordered. A transform that holds rows back
//     (batching, bucketing) implements Flusher to emit them at the end.
//   - Sink: Consume takes every batch on one goroutine; Close commits,
//     Abort discards.
//   - Barrier: Run gets each input whole as a re-iterable Dataset (for
//     training, joins), once every input is complete. An input whose
//     stage is materialized in a cache that knows its rows (CacheRows) is
//     read from the cache at each iteration, with no copy: when the run
//     reuses it, straight away; when the run computes it, the barrier
//     drains its edge without keeping the batches (the materialization
//     writes them) and, once the edge closes, after the stage has
//     committed its output, reads the committed output (an upstream that
//     fails, or whose commit fails, fails the run with its error and Run
//     never starts). Any other input is held in memory up to
//     RunOptions.SpillBytes and the rest spilled to an Arrow IPC file, so
//     memory stays bounded (StageStats.Spilled counts the file's bytes).
//     Discard frees an input the barrier no longer needs. TempDir(ctx) is
//     the run's SpillDir, for a barrier's own temporary files (it removes
//     them).
//
// Transforms and sinks with several inputs receive them merged (the
// schemas must be equal); barriers receive one Dataset per input.
//
// # Params
//
// A Param declares a param's type, default and Doc (Register refuses one
// without) and what it accepts: Options (each documented), a numeric
// Range such as "[1,)", a list's Elem type, NonEmpty, and a Format (a
// FormatPath file joins the fingerprint by content). Plan checks every
// declared constraint before it builds a stage, so Definition.New reads
// checked values; it reports what the spec cannot express (rules across
// params, input columns) with ParamErrorf or AtParam, and never names the
// stage itself. Params accessors panic on a name the kind does not
// declare. Package specdoc renders the same declarations as text,
// Markdown and a JSON Schema of the pipelines file.
//
// # Ownership
//
// Edges are bounded channels of arrow.RecordBatch (capacity
// StageSpec.Buffer, default DefaultBuffer), which gives backpressure.
// Emit takes ownership of a batch; fan-out Retains once per extra
// consumer; the engine Releases a transform's or sink's input after the
// callback returns; batches left in edges after a failure are released
// before Execute returns. Tests run with a checked allocator.
//
// # Errors
//
// Planning reports every problem at once as *PlanError values naming the
// config file and line, variant, stage and key, wrapping sentinels such as
// ErrUnknownKind, ErrMissingInput, ErrCycle, ErrSchemaMismatch,
// ErrMissingParam, ErrParamType and ErrParamValue. At run
// time the first failure cancels the run and is returned as a *StageError
// ("stage "X": record N: cause"); a stage names the record with
// RecordError. Panics in stages become errors wrapping ErrPanic.
// Per-record faults that should not stop the run go to the Quarantine,
// limited by PlanOptions.MaxQuarantined (a count) and MaxErrorRate (a
// per-stage fraction, StageSpec.MaxErrorRate for one stage); a stage that
// quarantines records and emits none fails with ErrAllQuarantined. Both
// are checked before any sink or materialized output commits. Entries are
// kept with committed outputs (QuarantineArtifact), so a run that reuses
// or resumes a stage reports what it quarantined when it was computed.
//
// # Observability
//
// Run.Stats gives live per-stage counters (rows, batches, bytes, busy time,
// time blocked on downstream, time idle waiting for upstream).
//
// # Materialization and reuse
//
// A stage with StageSpec.Materialize keeps its output in a Cache, addressed
// by Node.Fingerprint: hash(kind, version, code version, params, upstream
// fingerprints, the identity of each file a FormatPath param names (an
// ONNX model's with its external data files, FileIdentity), and, for
// stages implementing InputFingerprinter, the listing of the objects they
// read). Plan.Resolve marks each materialized
// stage whose output is committed Reuse (read instead of computed), and
// stages that only reused stages need Skip; a forced stage and everything
// downstream of it is computed afresh (their artifacts, such as the
// checkpoints of an interrupted run, are deleted first). A materialized stage's output is committed
// only when the stage finishes cleanly. With a PartCache, a materialized
// transform with one input that does not hold rows back commits the output
// of each input batch k as part k as soon as it is emitted; a rerun after a
// crash replays the committed parts instead of recomputing them (this
// relies on the input arriving in the same batches, i.e. a deterministic
// upstream). A materialized Flusher that implements PartKeyer (a key
// column, unique in its input) resumes by keyed parts instead: every batch
// it emits is committed as a part, with the list of its keys
// (KeyedPartPattern), as soon as it is emitted; a rerun drops the input
// rows that committed parts hold before the stage sees them and emits each
// committed part when its first row's turn comes in input order, so the
// output equals an uninterrupted run's row for row (the stage must emit
// rows in input order; the engine checks it). StageStats.ResumedRows
// counts the rows replayed. Sinks implementing Committer record their
// fingerprint with what they commit, and are marked Reuse when the
// committed output already carries it.
//
// Checking reused outputs costs by need. Resolve looks each materialized
// stage up with Cache.Has, which for dataset.Cache reads only the
// manifest and stats each part; with a CacheVerifier it then verifies
// (reads back against checksums) the reused outputs that a computed stage
// reads, when they hold at most PlanOptions.VerifyBytes (default
// DefaultVerifyBytes, 256 MiB): a damaged one is recomputed in the same
// run, and the decisions are taken again (its inputs may now be needed).
// Larger ones are checked part by part as the run reads them (streamed to
// consumers, or read by a barrier, CacheRows): a damaged part fails the
// run naming the stage and the part (wrapping dataset.ErrCorrupt), and the
// cache drops the entry so that the next run recomputes it. Skipped
// outputs, and reused ones nothing reads, are never verified.
//
// # Not implemented
//
// A barrier over a materialized input computed in the run reads
// nothing until the input is committed, and then each epoch reads and
// decodes the cache's compressed parts (the first read also checks them
// against their checksums) where a spill file is read uncompressed: no
// temp-dir copy, for some more time (BenchmarkBarrierInput); there is no
// option to keep the copy instead. A cache without CacheRows still gives
// barriers a spilled copy. Part-level resume for barriers, multi-input
// transforms, Flushers that name no key (PartKeyer) and unordered runs
// (they resume at stage granularity), and for sinks (files.write rewrites its dataset). Keyed
// parts need the key artifacts (RunOptions.Artifacts persistent across
// runs, as the CLI's are); record numbers in errors of a resumed keyed
// stage count every row received, the dropped ones included. A reused
// output above VerifyBytes found damaged while the run reads it is not
// recomputed within that run: the run fails, and the next one recomputes
// it.
package pipeline
