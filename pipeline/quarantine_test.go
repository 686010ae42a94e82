package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
)

var idSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)

// idBatch builds a batch of ids.
func idBatch(mem memory.Allocator, ids []string) arrow.RecordBatch {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(ids, nil)
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(idSchema, []arrow.Array{col}, int64(len(ids)))
}

// idSource emits ids "000".."099" in batches of 10, quarantining (and
// dropping) multiples of 17.
type idSource struct {
	mem memory.Allocator
	q   pipeline.Quarantine
}

func (s *idSource) Schema() *arrow.Schema { return idSchema }
func (s *idSource) Produce(ctx context.Context, out pipeline.Emitter) error {
	for lo := 0; lo < 100; lo += 10 {
		var ids []string
		for i := lo; i < lo+10; i++ {
			if i%17 == 0 {
				if err := s.q.Add(ctx, fmt.Sprintf("%03d", i), "source: multiple of 17"); err != nil {
					return err
				}
				continue
			}
			ids = append(ids, fmt.Sprintf("%03d", i))
		}
		if err := out.Emit(ctx, idBatch(s.mem, ids)); err != nil {
			return err
		}
	}
	return nil
}

// idFilter quarantines (and drops) ids divisible by div, naming them by
// the string taken from the batch; with kill set, it cancels the run when
// it reaches the batch holding id killAt.
type idFilter struct {
	mem    memory.Allocator
	q      pipeline.Quarantine
	div    int
	killAt string
	kill   context.CancelFunc
}

func (f *idFilter) Schema() *arrow.Schema { return idSchema }
func (f *idFilter) Process(ctx context.Context, in arrow.RecordBatch, out pipeline.Emitter) error {
	col := in.Column(0).(*array.String)
	var keep []string
	for i := range col.Len() {
		id := col.Value(i)
		if f.kill != nil && id == f.killAt {
			f.kill()
			return ctx.Err()
		}
		var n int
		fmt.Sscanf(id, "%d", &n)
		if n%f.div == 0 {
			if err := f.q.Add(ctx, id, fmt.Sprintf("filter: multiple of %d", f.div)); err != nil {
				return err
			}
			continue
		}
		keep = append(keep, id)
	}
	return out.Emit(ctx, idBatch(f.mem, keep))
}

// idHold is a barrier that quarantines ids divisible by 7 and emits the rest.
type idHold struct {
	mem memory.Allocator
	q   pipeline.Quarantine
}

func (h *idHold) Schema() *arrow.Schema { return idSchema }
func (h *idHold) Run(ctx context.Context, in []pipeline.Dataset, out pipeline.Emitter) error {
	var keep []string
	for b, err := range in[0].Batches(ctx) {
		if err != nil {
			return err
		}
		col := b.Column(0).(*array.String)
		for i := range col.Len() {
			var n int
			fmt.Sscanf(col.Value(i), "%d", &n)
			if n%7 == 0 {
				if err := h.q.Add(ctx, col.Value(i), "barrier: multiple of 7"); err != nil {
					return err
				}
				continue
			}
			// b is borrowed: its buffers go back to the allocator's pool
			// after this iteration (a cache read's at once).
			keep = append(keep, strings.Clone(col.Value(i)))
		}
	}
	return out.Emit(ctx, idBatch(h.mem, keep))
}

// quarRun runs src -> filter (materialized, resumable, 2 workers) -> hold
// (materialized barrier) -> out against a cache and artifacts in dir
// (filter quarantines multiples of div),
// forcing the stages named; with kill, filter cancels the run at id
// killAt. It returns the run's quarantine as sorted "stage key reason"
// lines, the collected ids and the run.
func quarRun(t *testing.T, dir, killAt string, div int, force ...string) ([]string, []any, *pipeline.Run, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := pipeline.NewRegistry()
	reg.MustRegister(pipeline.Definition{Kind: "test.ids", Doc: "test kind", Role: pipeline.RoleSource,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &idSource{mem: b.Alloc, q: b.Quarantine}, nil
		}})
	reg.MustRegister(pipeline.Definition{Kind: "test.filter", Doc: "test kind", Role: pipeline.RoleTransform, MinInputs: 1, MaxInputs: 1,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			f := &idFilter{mem: b.Alloc, q: b.Quarantine, div: div, killAt: killAt}
			if killAt != "" {
				f.kill = cancel
			}
			return f, nil
		}})
	reg.MustRegister(pipeline.Definition{Kind: "test.hold", Doc: "test kind", Role: pipeline.RoleBarrier, MinInputs: 1, MaxInputs: 1,
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) {
			return &idHold{mem: b.Alloc, q: b.Quarantine}, nil
		}})
	res := &pt.Result{}
	pt.Register(reg, res)
	mem := pt.Allocator(t)
	filter := pipeline.StageSpec{Name: "filter", Kind: "test.filter", Inputs: []string{"src"}, Workers: 2, Materialize: true}
	hold := pipeline.StageSpec{Name: "hold", Kind: "test.hold", Inputs: []string{"filter"}, Materialize: true}
	plan, err := reg.Plan(pipeline.Spec{Variant: "q", Stages: []pipeline.StageSpec{
		pt.Stage("src", "test.ids", nil, nil), filter, hold, pt.Stage("out", "test.collect", []string{"hold"}, nil),
	}}, pipeline.PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Resolve(ctx, dataset.NewCache(store, "cache", mem), force); err != nil {
		t.Fatal(err)
	}
	run := plan.NewRun(pipeline.RunOptions{SpillDir: t.TempDir(), Artifacts: func(fp string) pipeline.Artifacts {
		return dataset.NewArtifacts(store, "artifacts", fp)
	}})
	err = run.Execute(ctx)
	var quar []string
	for _, e := range run.Quarantined() {
		quar = append(quar, e.Stage+" "+e.Key+" "+e.Reason)
	}
	slices.Sort(quar)
	return quar, res.Column("out", "id"), run, err
}

// TestQuarantineKeptWithOutputs: a run that reuses materialized outputs
// (skipping the stages only they needed), a run that resumes a killed
// stage from its committed parts, and a forced run all report the same
// quarantine as a cold run: each stage's entries are kept with its
// committed output and with each committed part.
func TestQuarantineKeptWithOutputs(t *testing.T) {
	cold := t.TempDir()
	want, wantIDs, _, err := quarRun(t, cold, "", 5)
	if err != nil {
		t.Fatal(err)
	}
	// 6 multiples of 17 (0..85); 20 of 5, less 0 and 85; 15 of 7, less 0, 35 and 70.
	if len(want) != 6+(20-2)+(15-3) || len(wantIDs) != 100-36 {
		t.Fatalf("cold run: %d quarantined, %d ids:\n%q", len(want), len(wantIDs), want)
	}
	stageOf := func(r *pipeline.Run, name string) pipeline.StageStats {
		for _, s := range r.Stats() {
			if s.Stage == name {
				return s
			}
		}
		t.Fatalf("no stage %s", name)
		return pipeline.StageStats{}
	}

	t.Run("reuse", func(t *testing.T) {
		got, ids, run, err := quarRun(t, cold, "", 5)
		if err != nil {
			t.Fatal(err)
		}
		if st := stageOf(run, "hold"); st.State != pipeline.Reused {
			t.Fatalf("hold is %v, want reused", st.State)
		}
		if !slices.Equal(got, want) || !slices.Equal(ids, wantIDs) {
			t.Fatalf("reused run quarantined\n%q\nwant\n%q", got, want)
		}
	})
	// Batch k is dispatched once batch k-4 has been emitted, after its
	// part was committed (2 workers, 4 batches in flight): a kill in batch
	// 5 or later leaves committed parts to replay; one in batch 0 none.
	for _, killAt := range []string{"004", "052", "098"} {
		t.Run("resume after a kill at "+killAt, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, _, err := quarRun(t, dir, killAt, 5); !errors.Is(err, context.Canceled) {
				t.Fatalf("killed run: %v", err)
			}
			got, ids, run, err := quarRun(t, dir, "", 5)
			if err != nil {
				t.Fatal(err)
			}
			if st := stageOf(run, "filter"); st.Resumed == 0 && killAt >= "050" {
				t.Fatalf("filter replayed no part after the kill")
			}
			if !slices.Equal(got, want) || !slices.Equal(ids, wantIDs) {
				t.Fatalf("resumed run quarantined\n%q\nwant\n%q", got, want)
			}
			// Reusing what the resumed run committed gives the same again.
			if got, _, _, err = quarRun(t, dir, "", 5); err != nil || !slices.Equal(got, want) {
				t.Fatalf("reuse after resume (%v) quarantined\n%q\nwant\n%q", err, got, want)
			}
		})
	}
	t.Run("force", func(t *testing.T) {
		got, _, _, err := quarRun(t, cold, "", 5, "filter")
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("forced run (%v) quarantined\n%q\nwant\n%q", err, got, want)
		}
	})
}

// TestAllQuarantinedFails: a stage that quarantines every record fails the
// run, with no error budget set, before its output is committed (a later
// run would reuse the empty output) and before any sink commits.
func TestAllQuarantinedFails(t *testing.T) {
	dir := t.TempDir()
	_, ids, _, err := quarRun(t, dir, "", 1)
	if !errors.Is(err, pipeline.ErrAllQuarantined) {
		t.Fatalf("err %v, want ErrAllQuarantined", err)
	}
	var se *pipeline.StageError
	if !errors.As(err, &se) || se.Stage != "filter" || !strings.Contains(err.Error(), ": filter: multiple of 1") {
		t.Fatalf("err %v does not name stage filter and its first record", err)
	}
	if len(ids) != 0 {
		t.Fatalf("%d rows reached the sink", len(ids))
	}
	// Nothing was committed: the same run computes (and fails) again.
	_, _, run, err := quarRun(t, dir, "", 1)
	if !errors.Is(err, pipeline.ErrAllQuarantined) {
		t.Fatalf("rerun: err %v, want ErrAllQuarantined", err)
	}
	for _, st := range run.Stats() {
		if st.State == pipeline.Reused {
			t.Fatalf("rerun reused %s, committed by the failed run", st.Stage)
		}
	}
}
