// Package runrecord keeps a record of every run in the work store:
// runs/<id>/record.json (variant, code version, config file, stages with
// their kinds, fingerprints and params, start and end, outcome, quarantine
// count) and runs/<id>/stages.arrow (per-stage counters as an Arrow IPC
// table). Param values whose key looks secret are redacted. Listing and
// reading records is what `medflow runs` and `medflow show` do.
package runrecord

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	"github.com/zeebo/xxh3"
)

// Record describes one run.
type Record struct {
	ID          string    `json:"id"`
	Variant     string    `json:"variant"`
	Config      string    `json:"config"`
	Version     string    `json:"version"`
	Shard       string    `json:"shard,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Status      string    `json:"status"` // succeeded or failed
	Error       string    `json:"error,omitempty"`
	Quarantined int       `json:"quarantined"`
	// PeakRSSBytes is the process's peak resident set size over the run.
	PeakRSSBytes int64   `json:"peak_rss_bytes,omitempty"`
	Stages       []Stage `json:"stages"`
	// Outputs are the datasets and files the run's stages left, for
	// readers (the report's Outputs table, DuckDB/pandas users).
	Outputs []Output `json:"outputs,omitempty"`
}

// Output is one dataset or file a stage wrote or reused.
type Output struct {
	Stage string `json:"stage"`
	// What: "dataset" (a sink's committed output), "cache" (a materialized
	// stage's output) or "artifact" (a stage's side file: metric tables,
	// checkpoints, curves, plots).
	What   string `json:"what"`
	Path   string `json:"path"`
	Format string `json:"format"`
	Rows   int64  `json:"rows"` // -1: not a table, or not known
}

// Stage is one stage of a recorded run.
type Stage struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"`
	Inputs      []string `json:"inputs,omitempty"`
	Fingerprint string   `json:"fingerprint"`
	Decision    string   `json:"decision"`
	State       string   `json:"state"`
	RowsIn      int64    `json:"rows_in"`
	RowsOut     int64    `json:"rows_out"`
	Resumed     int64    `json:"resumed_batches,omitempty"`
	// ResumedRows counts the rows of the keyed parts the stage replayed
	// (pipeline.StageStats.ResumedRows); Resumed then counts those parts.
	ResumedRows int64 `json:"resumed_rows,omitempty"`
	Quarantined int   `json:"quarantined,omitempty"`
	// Seconds is when the stage ended, from the start of the run (stages
	// start together and wait for their inputs); WorkSeconds is the time
	// it spent working, summed over its workers, without waiting for
	// input or for downstream.
	Seconds     float64        `json:"seconds"`
	WorkSeconds float64        `json:"work_seconds,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	// FingerprintParts are digests of what the fingerprint hashes
	// (pipeline.Node.FingerprintParts), so a later plan can say what
	// changed; digests, never values (params may hold secrets).
	FingerprintParts map[string]string `json:"fingerprint_parts,omitempty"`
	// PeakRSSBytes is the process's peak RSS sampled while the stage ran
	// (stages overlap: not memory the stage alone held).
	PeakRSSBytes int64 `json:"peak_rss_bytes,omitempty"`
	// QuarantineSample is the first SampleSize quarantined records of the
	// stage, by key.
	QuarantineSample []QuarantinedRecord `json:"quarantine_sample,omitempty"`
}

// QuarantinedRecord is one record a stage set aside.
type QuarantinedRecord struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// SampleSize is how many quarantined records a stage's record lists.
const SampleSize = 10

// SetPeaks records per-stage RSS peaks (by stage name) and the run's.
func (r *Record) SetPeaks(stages map[string]int64, run int64) {
	r.PeakRSSBytes = run
	for i := range r.Stages {
		r.Stages[i].PeakRSSBytes = stages[r.Stages[i].Name]
		r.PeakRSSBytes = max(r.PeakRSSBytes, r.Stages[i].PeakRSSBytes)
	}
}

// NewID returns a run id that sorts by start time.
func NewID(start time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return start.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

var secretWords = []string{"secret", "token", "password", "passwd", "credential", "credentials", "apikey"}

// secret reports whether a param name looks like it holds a credential
// ("access_key", "api_token", "password"), not a column ("key_column"), a
// grouping key ("key") or a count ("max_tokens"): its words (split at '_')
// include a secret word, or it ends in "_key".
func secret(name string) bool {
	words := strings.Split(strings.ToLower(name), "_")
	if len(words) > 1 && words[len(words)-1] == "key" {
		return true
	}
	return slices.ContainsFunc(words, func(w string) bool { return slices.Contains(secretWords, w) })
}

func redact(params map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for k, v := range params {
		if secret(k) {
			v = "[REDACTED]"
		}
		out[k] = v
	}
	return out
}

// Digests maps each fingerprint part to a short xxh3 digest of its value.
func Digests(parts map[string]string) map[string]string {
	out := make(map[string]string, len(parts))
	for k, v := range parts {
		out[k] = fmt.Sprintf("%016x", xxh3.HashString(v))
	}
	return out
}

// Explain sets each node's Changed to the fingerprint parts that differ
// from the latest of records (newest first) that ran the same variant and
// stage with another fingerprint and recorded its parts. It reads records
// only until every stage of the plan has found its latest run (or
// MaxExplainRecords of the variant were read: a stage not run in that
// many runs gets no answer) and returns how many it read.
// MaxExplainRecords of the variant were read: a stage not run in that
// many runs gets no answer) and returns how many it read.
func Explain(plan *pipeline.Plan, records iter.Seq2[Record, error]) (int, error) {
	open := map[string]*pipeline.Node{}
	for _, n := range plan.Nodes {
		open[n.Spec.Name] = n
	}
	count, ofVariant := 0, 0
	for rec, err := range records {
		if err != nil {
			return count, err
		}
		count++
		if rec.Variant != plan.Spec.Variant {
			continue
		}
		for _, st := range rec.Stages {
			n, ok := open[st.Name]
			if !ok {
				continue
			}
			delete(open, st.Name)
			if st.Fingerprint != n.Fingerprint && st.FingerprintParts != nil {
				n.Changed = pipeline.Changes(st.FingerprintParts, Digests(n.FingerprintParts()))
			}
		}
		if ofVariant++; len(open) == 0 || ofVariant >= MaxExplainRecords {
			break
		}
	}
	return count, nil
}

// MaxExplainRecords bounds the records of a variant Explain reads.
const MaxExplainRecords = 100

// New builds the record of a finished run.
func New(id, config, version string, plan *pipeline.Plan, run *pipeline.Run, start, end time.Time, runErr error) Record {
	r := Record{ID: id, Variant: plan.Spec.Variant, Config: config, Version: version, Start: start, End: end,
		Status: "succeeded", Quarantined: len(run.Quarantined())}
	if runErr != nil {
		r.Status, r.Error = "failed", runErr.Error()
	}
	stats := run.Stats()
	quar := map[string]int{}
	samples := map[string][]QuarantinedRecord{}
	for _, e := range run.Quarantined() {
		quar[e.Stage]++
		samples[e.Stage] = append(samples[e.Stage], QuarantinedRecord{Key: e.Key, Reason: e.Reason})
	}
	for stage, s := range samples {
		slices.SortFunc(s, func(a, b QuarantinedRecord) int {
			return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.Reason, b.Reason))
		})
		samples[stage] = s[:min(len(s), SampleSize)]
	}
	for i, n := range plan.Nodes {
		var ins []string
		for _, up := range n.Inputs {
			ins = append(ins, up.Spec.Name)
		}
		st := stats[i]
		r.Stages = append(r.Stages, Stage{Name: n.Spec.Name, Kind: n.Spec.Kind, Inputs: ins, Fingerprint: n.Fingerprint,
			Decision: n.Decision.String(), State: st.State.String(), RowsIn: st.RowsIn, RowsOut: st.RowsOut,
			Resumed: st.Resumed, ResumedRows: st.ResumedRows, Quarantined: quar[n.Spec.Name], QuarantineSample: samples[n.Spec.Name],
			Seconds: st.Elapsed.Seconds(), WorkSeconds: st.Work().Seconds(), Params: redact(n.Params.Values()),
			FingerprintParts: Digests(n.FingerprintParts())})
	}
	return r
}

var statsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "stage", Type: arrow.BinaryTypes.String},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "fingerprint", Type: arrow.BinaryTypes.String},
	{Name: "decision", Type: arrow.BinaryTypes.String},
	{Name: "state", Type: arrow.BinaryTypes.String},
	{Name: "rows_in", Type: arrow.PrimitiveTypes.Int64},
	{Name: "rows_out", Type: arrow.PrimitiveTypes.Int64},
	{Name: "seconds", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// Write stores the record (JSON) and its stage table (Arrow IPC) under
// runs/<id>/ in store.
func Write(ctx context.Context, store objstore.Store, r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	dir := path.Join("runs", r.ID)
	mem := memory.DefaultAllocator
	bld := array.NewRecordBuilder(mem, statsSchema)
	defer bld.Release()
	for _, s := range r.Stages {
		for i, v := range []string{s.Name, s.Kind, s.Fingerprint, s.Decision, s.State} {
			bld.Field(i).(*array.StringBuilder).Append(v)
		}
		bld.Field(5).(*array.Int64Builder).Append(s.RowsIn)
		bld.Field(6).(*array.Int64Builder).Append(s.RowsOut)
		bld.Field(7).(*array.Float64Builder).Append(s.Seconds)
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	w, err := formats.NewWriter(ctx, store, path.Join(dir, "stages.arrow"), formats.IPC, statsSchema, mem, formats.WriterOptions{})
	if err != nil {
		return err
	}
	if err := w.Write(rec); err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return objstore.PutBytes(ctx, store, path.Join(dir, "record.json"), b) // last: the run is listed once complete
}

// List returns the records in store, oldest first.
func List(ctx context.Context, store objstore.Store) ([]Record, error) {
	keys, err := recordKeys(ctx, store)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, k := range keys {
		r, err := read(ctx, store, k)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// recordKeys lists the keys of the run records, oldest first (run ids sort
// by start time): one LIST, no GET.
func recordKeys(ctx context.Context, store objstore.Store) ([]string, error) {
	objs, err := store.List(ctx, "runs/")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, o := range objs {
		if path.Base(o.Key) == "record.json" {
			keys = append(keys, o.Key)
		}
	}
	return keys, nil
}

// Newest yields the records newest first, reading each only when the
// caller asks for it: a caller that stops early (Explain once every stage
// has its answer) costs one LIST and a few GETs, not one GET per run ever
// made. An unreadable record ends the sequence with its error.
func Newest(ctx context.Context, store objstore.Store) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		keys, err := recordKeys(ctx, store)
		if err != nil {
			yield(Record{}, err)
			return
		}
		for i := len(keys) - 1; i >= 0; i-- {
			r, err := read(ctx, store, keys[i])
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

// Read returns the record of run id (a unique prefix of it is enough),
// reading only the records whose id has that prefix.
func Read(ctx context.Context, store objstore.Store, id string) (Record, error) {
	keys, err := recordKeys(ctx, store)
	if err != nil {
		return Record{}, err
	}
	var match []string
	for _, k := range keys {
		if strings.HasPrefix(strings.TrimPrefix(k, "runs/"), id) {
			match = append(match, k)
		}
	}
	switch len(match) {
	case 0:
		return Record{}, fmt.Errorf("no run %q in %s", id, store)
	case 1:
		return read(ctx, store, match[0])
	}
	return Record{}, fmt.Errorf("run id %q is ambiguous (%d runs match)", id, len(match))
}

func read(ctx context.Context, store objstore.Store, key string) (Record, error) {
	b, err := objstore.ReadAll(ctx, store, key)
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("%s/%s: %w", store, key, err)
	}
	return r, nil
}
