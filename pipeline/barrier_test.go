package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
)

// cachedRun plans stages with a checked allocator (asserted empty when
// the test ends) and resolves the plan against a dataset cache in store.
func cachedRun(t *testing.T, store objstore.Store, stages ...StageSpec) (*Plan, map[string]*collectSink, *dataset.Cache) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	sinks := map[string]*collectSink{}
	plan, err := testRegistry(sinks).Plan(Spec{Variant: "b", Stages: stages}, PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	cache := dataset.NewCache(store, "cache", mem)
	if err := plan.Resolve(t.Context(), cache, nil); err != nil {
		t.Fatal(err)
	}
	return plan, sinks, cache
}

// statsOf returns the stats of stage name.
func statsOf(t *testing.T, r *Run, name string) StageStats {
	t.Helper()
	for _, s := range r.Stats() {
		if s.Stage == name {
			return s
		}
	}
	t.Fatalf("no stage %q", name)
	return StageStats{}
}

// uncreatable returns a spill dir that cannot be created (a file's
// child): a barrier that spills anything fails.
func uncreatable(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(f, "spill")
}

// TestBarrierReadsComputedInputFromCache: barriers (echo, two epochs;
// count) whose input a is materialized and computed in the same run drain
// its edge without keeping it and read a's output from the cache once a
// has committed it, so with a spill dir that cannot be created and a
// 1-byte memory budget the run succeeds (it failed to spill before). The
// echo sees the rows a emits, in order, in each epoch, as the streaming
// consumer of a does, and as the run that reuses a gives. a is committed
// by parts (a transform on 3 workers) or by one writer (a Flusher). A run
// interrupted in the middle leaves nothing the next run misreads: it
// resumes and gives the same output.
func TestBarrierReadsComputedInputFromCache(t *testing.T) {
	stores := testStores(t)
	spill := uncreatable(t)
	for _, kind := range []string{"add", "hold"} {
		for storeName, newStore := range stores {
			t.Run(kind+"/"+storeName, func(t *testing.T) {
				store := newStore(t)
				var want []int64 // a's rows
				for i := range 3 {
					a := stage("a", kind, []string{"gen"}, nil)
					if kind == "add" {
						a.Params, a.Workers = map[string]any{"delta": 1}, 3
					}
					a.Materialize = true
					rows := map[string]any{}
					if i == 0 {
						rows["delay"] = "2ms" // not in a's fingerprint
					}
					plan, sinks, _ := cachedRun(t, store,
						stage("gen", "gen", nil, map[string]any{"batches": 20, "rows": 1000}), a,
						stage("e", "echo", []string{"a"}, nil),
						stage("out", "collect", []string{"e"}, nil),
						stage("rows", "collect", []string{"a"}, rows),
						stage("cnt", "count", []string{"a"}, nil),
						stage("n", "collect", []string{"cnt"}, nil),
					)
					// interrupted, resumed (a by parts, or afresh), a reused
					wantA := []Decision{Compute, Compute, Reuse}[i]
					if d := plan.Node("a").Decision; d != wantA {
						t.Fatalf("run %d: a is %v, want %v", i, d, wantA)
					}
					ctx, cancel := context.WithCancel(t.Context())
					run := plan.NewRun(RunOptions{SpillDir: spill, SpillBytes: 1})
					var watch sync.WaitGroup
					if i == 0 { // interrupted once rows has 5 of the 20 batches
						watch.Go(func() {
							for ctx.Err() == nil && statsOf(t, run, "rows").BatchesIn < 5 {
								time.Sleep(time.Millisecond)
							}
							cancel()
						})
					}
					err := run.Execute(ctx)
					cancel()
					watch.Wait()
					if i == 0 {
						if !errors.Is(err, context.Canceled) {
							t.Fatalf("interrupted run: %v", err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("run %d: %v", i, err)
					}
					got := sinks["rows"].xs
					if i == 1 {
						want = got
						first := int64(0)
						if kind == "add" {
							first = 1
						}
						if len(want) != 20000 || !slices.IsSorted(want) || want[0] != first {
							t.Fatalf("a emitted %d rows, sorted %v", len(want), slices.IsSorted(want))
						}
					} else if !slices.Equal(got, want) {
						t.Fatalf("run %d: the streaming consumer got %d rows, not the first run's", i, len(got))
					}
					if got := sinks["out"].xs; !slices.Equal(got, slices.Concat(want, want)) {
						t.Fatalf("run %d: the barrier emitted %d rows, want a's %d rows twice, in order", i, len(got), len(want))
					}
					if got := sinks["n"].xs; !slices.Equal(got, []int64{20000}) {
						t.Fatalf("run %d: count %v", i, got)
					}
					for _, b := range []string{"e", "cnt"} {
						if st := statsOf(t, run, b); st.RowsIn != 20000 || st.State != Done {
							t.Fatalf("run %d: %s: %d rows in, %v", i, b, st.RowsIn, st.State)
						}
					}
				}
			})
		}
	}
}

// TestBarrierInputFailsUpstream: when the materialized upstream of a
// barrier fails, or its output cannot be committed (here its error
// budget), the run fails with that error, naming the upstream; the
// barrier's Run never starts, and nothing is committed.
func TestBarrierInputFailsUpstream(t *testing.T) {
	for storeName, newStore := range testStores(t) {
		for _, tc := range []struct {
			name string
			a    StageSpec
			is   error
			msg  string
		}{
			{"fails", stage("a", "add", []string{"gen"}, map[string]any{"delta": 1, "fail_on": 12345}), errBoom,
				`stage "a": record 12345: value 12345: boom`},
			{"commit fails", func() StageSpec {
				s := stage("a", "quar", []string{"gen"}, map[string]any{"every": 4})
				r := 0.2
				s.MaxErrorRate = &r
				return s
			}(), ErrErrorBudget, `stage "a": error budget exceeded`},
		} {
			t.Run(tc.name+"/"+storeName, func(t *testing.T) {
				store := newStore(t)
				a := tc.a
				a.Materialize = true
				plan, sinks, cache := cachedRun(t, store,
					stage("gen", "gen", nil, map[string]any{"batches": 20, "rows": 1000}), a,
					stage("e", "echo", []string{"a"}, nil),
					stage("out", "collect", []string{"e"}, nil),
					stage("rows", "collect", []string{"a"}, nil),
				)
				run := plan.NewRun(RunOptions{SpillDir: uncreatable(t), SpillBytes: 1})
				err := run.Execute(t.Context())
				var se *StageError
				if !errors.Is(err, tc.is) || !errors.As(err, &se) || se.Stage != "a" || !strings.HasPrefix(err.Error(), tc.msg) {
					t.Fatalf("err %v, want %q", err, tc.msg)
				}
				if n := len(sinks["out"].xs); n != 0 {
					t.Fatalf("the barrier emitted %d rows", n)
				}
				if st := statsOf(t, run, "e"); st.State != Failed {
					t.Fatalf("the barrier is %v", st.State)
				}
				if ok, err := cache.Has(t.Context(), plan.Node("a").Fingerprint); ok || err != nil {
					t.Fatalf("a's output committed: %v, %v", ok, err)
				}
			})
		}
	}
}
