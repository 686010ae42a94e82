package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
)

// keyHold is a Flusher resuming by keyed parts (key x): it holds rows and
// emits them in groups of `group` rows that cross input batches, in input
// order, quarantining rows whose x is a multiple of `every`. After
// cancelAfter groups (> 0) it cancels the run, as a crash would end it.
type keyHold struct {
	alloc       memory.Allocator
	q           Quarantine
	group       int
	every       int64
	cancelAfter int
	cancel      func()
	mu          sync.Mutex
	held        []int64
	groups      int
	processed   *atomic.Int64 // rows Process got
}

func (k *keyHold) Schema() *arrow.Schema { return xSchema }
func (k *keyHold) PartKey() string       { return "x" }
func (k *keyHold) Process(ctx context.Context, in arrow.RecordBatch, out Emitter) error {
	k.processed.Add(in.NumRows())
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, x := range in.Column(0).(*array.Int64).Int64Values() {
		if x%k.every == 0 {
			if err := k.q.Add(ctx, "x", "multiple"); err != nil {
				return err
			}
			continue
		}
		k.held = append(k.held, x)
	}
	for len(k.held) >= k.group {
		if err := k.emit(ctx, out, k.group); err != nil {
			return err
		}
	}
	return nil
}

func (k *keyHold) Flush(ctx context.Context, out Emitter) error {
	if len(k.held) == 0 {
		return nil
	}
	return k.emit(ctx, out, len(k.held))
}

func (k *keyHold) emit(ctx context.Context, out Emitter, n int) error {
	b := array.NewInt64Builder(k.alloc)
	b.AppendValues(k.held[:n], nil)
	col := b.NewArray()
	b.Release()
	k.held = k.held[n:]
	rec := array.NewRecordBatch(xSchema, []arrow.Array{col}, int64(n))
	col.Release()
	if err := out.Emit(ctx, rec); err != nil {
		return err
	}
	if k.groups++; k.groups == k.cancelAfter {
		k.cancel()
	}
	return nil
}

// A keyed Flusher killed (cancelled) after some parts resumes: each rerun
// gives the stage only the rows no committed part holds, replays the
// parts, and the final output equals an uninterrupted run's row for row,
// with the same quarantine.
func TestKeyedPartResume(t *testing.T) {
	run := func(t *testing.T, dir string, cancelAfter int) (xs []int64, quarantined int, processed int64, st StageStats, err error) {
		store, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var n atomic.Int64
		sinks := map[string]*collectSink{}
		reg := testRegistry(sinks)
		reg.MustRegister(Definition{Kind: "keyhold", Doc: "test kind", Role: RoleTransform,
			New: func(b *BuildContext) (Stage, error) {
				return &keyHold{alloc: b.Alloc, q: b.Quarantine, group: 130, every: 7, cancelAfter: cancelAfter, cancel: cancel, processed: &n}, nil
			}})
		k := stage("k", "keyhold", []string{"gen"}, nil)
		k.Materialize = true
		plan, err := reg.Plan(Spec{Variant: "k", Stages: []StageSpec{
			stage("gen", "gen", nil, map[string]any{"batches": 40, "rows": 50}), k,
			stage("out", "collect", []string{"k"}, nil),
		}}, PlanOptions{Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		if err := plan.Resolve(ctx, dataset.NewCache(store, "cache", mem), nil); err != nil {
			t.Fatal(err)
		}
		r := plan.NewRun(RunOptions{Artifacts: func(fp string) Artifacts { return dataset.NewArtifacts(store, "artifacts", fp) }})
		err = r.Execute(ctx)
		return sinks["out"].xs, len(r.Quarantined()), n.Load(), r.Stats()[1], err
	}
	want, wantQ, _, _, err := run(t, t.TempDir(), 0)
	if err != nil || len(want) != 2000-286 || wantQ != 286 {
		t.Fatalf("clean run: %d rows, %d quarantined, %v", len(want), wantQ, err)
	}
	dir := t.TempDir()
	replayed := int64(0)
	for i, after := range []int{3, 2, 4, 1, 0} {
		xs, q, processed, st, err := run(t, dir, after)
		if after > 0 {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("run %d: %v", i, err)
			}
		} else if err != nil {
			t.Fatalf("last run: %v", err)
		}
		if i > 0 && (st.ResumedRows <= replayed || st.Resumed == 0) {
			t.Fatalf("run %d replayed %d rows (%d parts), the run before %d", i, st.ResumedRows, st.Resumed, replayed)
		}
		// The stage got every row but those of the replayed parts.
		if after == 0 && processed != 2000-st.ResumedRows {
			t.Errorf("run %d: the stage processed %d rows, %d were replayed of 2000", i, processed, st.ResumedRows)
		}
		replayed = st.ResumedRows
		if after == 0 {
			if !slices.Equal(xs, want) || q != wantQ {
				t.Fatalf("resumed output: %d rows (clean %d), equal %v; quarantined %d (clean %d)", len(xs), len(want), slices.Equal(xs, want), q, wantQ)
			}
		} else if !slices.Equal(xs, want[:len(xs)]) {
			t.Fatalf("run %d: the rows emitted before the crash are not the clean run's first %d", i, len(xs))
		}
	}
	// The committed output is reused as it is.
	xs, _, processed, st, err := run(t, dir, 0)
	if err != nil || !slices.Equal(xs, want) || processed != 0 || st.State != Reused {
		t.Fatalf("reuse: %v, equal %v, processed %d, %v", err, slices.Equal(xs, want), processed, st.State)
	}
}

// A key column with a repeated value cannot identify parts: the run fails
// naming the first repeated key (here one already emitted), and commits
// nothing.
func TestKeyedPartDuplicateKey(t *testing.T) {
	dir := t.TempDir()
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var n atomic.Int64
	reg := testRegistry(map[string]*collectSink{})
	reg.MustRegister(Definition{Kind: "keyhold", Doc: "test kind", Role: RoleTransform,
		New: func(b *BuildContext) (Stage, error) {
			return &keyHold{alloc: b.Alloc, q: b.Quarantine, group: 30, every: 1 << 40, processed: &n}, nil
		}})
	k := stage("k", "keyhold", []string{"twice"}, nil)
	k.Materialize = true
	plan, err := reg.Plan(Spec{Variant: "k", Stages: []StageSpec{
		stage("gen", "gen", nil, map[string]any{"batches": 2, "rows": 50}),
		stage("twice", "add", []string{"gen", "gen"}, map[string]any{"delta": 1}), k,
		stage("out", "collect", []string{"k"}, nil),
	}}, PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	cache := dataset.NewCache(store, "cache", mem)
	if err := plan.Resolve(context.Background(), cache, nil); err != nil {
		t.Fatal(err)
	}
	err = plan.NewRun(RunOptions{}).Execute(context.Background())
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "k" || !strings.Contains(err.Error(), `key "1" of column "x" is not unique`) {
		t.Fatalf("got %v, want stage k's duplicate key error", err)
	}
	if has, _ := cache.Has(context.Background(), plan.Node("k").Fingerprint); has {
		t.Fatal("a run with duplicate keys committed its output")
	}
}
