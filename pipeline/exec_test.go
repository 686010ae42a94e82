package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
)

// runSpec plans and runs stages with a checked allocator, failing the test
// on any leaked byte or goroutine. It returns the sinks and the run.
func runSpec(t *testing.T, ctx context.Context, opts RunOptions, stages ...StageSpec) (map[string]*collectSink, *Run, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	goroutines := runtime.NumGoroutine()
	t.Cleanup(func() {
		mem.AssertSize(t, 0)
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > goroutines {
			t.Errorf("goroutines: %d before, %d after the run", goroutines, n)
		}
	})
	sinks := map[string]*collectSink{}
	plan, err := testRegistry(sinks).Plan(Spec{Variant: "t", Stages: stages}, PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	run := plan.NewRun(opts)
	return sinks, run, run.Execute(ctx)
}

// sumTo is 0+1+...+(n-1).
func sumTo(n int64) int64 { return n * (n - 1) / 2 }

func TestChain(t *testing.T) {
	sinks, run, err := runSpec(t, context.Background(), RunOptions{},
		stage("gen", "gen", nil, map[string]any{"batches": 10, "rows": 1000}),
		stage("a", "add", []string{"gen"}, map[string]any{"delta": 1}),
		stage("b", "add", []string{"a"}, map[string]any{"delta": 2}),
		stage("out", "collect", []string{"b"}, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	n, s := sinks["out"].sum()
	if n != 10000 || s != sumTo(10000)+3*10000 {
		t.Fatalf("got %d rows sum %d", n, s)
	}
	if !sinks["out"].closed || sinks["out"].aborted {
		t.Fatal("sink not closed cleanly")
	}
	for _, st := range run.Stats() {
		if st.State != Done {
			t.Errorf("%s: state %s", st.Stage, st.State)
		}
		if st.Role != RoleSink && (st.RowsOut != 10000 || st.BatchesOut != 10 || st.BytesOut < 80000 || st.BytesOut > 90000) {
			t.Errorf("%s: out %d rows %d batches %d bytes", st.Stage, st.RowsOut, st.BatchesOut, st.BytesOut)
		}
		if st.Role != RoleSource && st.RowsIn != 10000 {
			t.Errorf("%s: in %d rows", st.Stage, st.RowsIn)
		}
	}
}

func TestFanOutFanIn(t *testing.T) {
	// gen feeds a and b (fan-out); out merges both (fan-in); cnt is a
	// barrier over both, and all feeds a second sink.
	sinks, _, err := runSpec(t, context.Background(), RunOptions{},
		stage("gen", "gen", nil, map[string]any{"batches": 20, "rows": 500}),
		stage("a", "add", []string{"gen"}, map[string]any{"delta": 0}),
		stage("b", "add", []string{"gen"}, map[string]any{"delta": 1}),
		stage("out", "collect", []string{"a", "b"}, nil),
		stage("cnt", "count", []string{"a", "b", "gen"}, nil),
		stage("counts", "collect", []string{"cnt"}, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 20 * 500
	n, s := sinks["out"].sum()
	if n != 2*rows || s != 2*sumTo(rows)+rows {
		t.Fatalf("merged sink: %d rows sum %d", n, s)
	}
	if got := sinks["counts"].xs; !slices.Equal(got, []int64{rows, rows, rows}) {
		t.Fatalf("barrier counts %v", got)
	}
}

func TestWorkersKeepOrder(t *testing.T) {
	for _, unordered := range []bool{false, true} {
		t.Run(map[bool]string{false: "ordered", true: "unordered"}[unordered], func(t *testing.T) {
			spec := stage("a", "add", []string{"gen"}, map[string]any{"delta": 0, "jitter": true})
			spec.Workers = 4
			sinks, run, err := runSpec(t, context.Background(), RunOptions{Unordered: unordered},
				stage("gen", "gen", nil, map[string]any{"batches": 64, "rows": 100}),
				spec,
				stage("out", "collect", []string{"a"}, nil),
			)
			if err != nil {
				t.Fatal(err)
			}
			xs := sinks["out"].xs
			if len(xs) != 6400 {
				t.Fatalf("%d rows", len(xs))
			}
			sorted := slices.IsSorted(xs)
			if !unordered && !sorted {
				t.Fatal("ordered transform reordered its output")
			}
			slices.Sort(xs)
			for i, x := range xs {
				if x != int64(i) {
					t.Fatalf("row %d = %d: lost or duplicated rows", i, x)
				}
			}
			if st := run.Stats()[1]; st.Workers != 4 || st.BatchesIn != 64 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stages  []StageSpec
		workers int
		want    string
		is      error
		record  int64
	}{
		{
			name: "transform record",
			stages: []StageSpec{
				stage("gen", "gen", nil, map[string]any{"batches": 50, "rows": 100}),
				stage("a", "add", []string{"gen"}, map[string]any{"delta": 0, "fail_on": 1234}),
				stage("out", "collect", []string{"a"}, nil),
			},
			want: `stage "a": record 1234: value 1234: boom`, is: errBoom, record: 1234,
		},
		{
			name: "transform record with workers",
			stages: []StageSpec{
				stage("gen", "gen", nil, map[string]any{"batches": 50, "rows": 100}),
				stage("a", "add", []string{"gen"}, map[string]any{"delta": 0, "fail_on": 2345}),
				stage("out", "collect", []string{"a"}, nil),
			},
			workers: 3,
			want:    `stage "a": record 2345: value 2345: boom`, is: errBoom, record: 2345,
		},
		{
			name: "source record",
			stages: []StageSpec{
				stage("gen", "gen", nil, map[string]any{"batches": 50, "rows": 100, "fail_at": 777}),
				stage("out", "collect", []string{"gen"}, nil),
			},
			want: `stage "gen": record 777: boom`, is: errBoom, record: 777,
		},
		{
			name: "transform panic",
			stages: []StageSpec{
				stage("gen", "gen", nil, map[string]any{"batches": 50, "rows": 100}),
				stage("a", "add", []string{"gen"}, map[string]any{"delta": 0, "panic_on": 4321}),
				stage("out", "collect", []string{"a"}, nil),
			},
			want: `stage "a": batch at record 4300: stage panicked: assignment to entry in nil map`, is: ErrPanic, record: 4300,
		},
		{
			name: "source panic",
			stages: []StageSpec{
				stage("gen", "gen", nil, map[string]any{"batches": 50, "rows": 100, "panic_at": 500}),
				stage("out", "collect", []string{"gen"}, nil),
			},
			want: `stage "gen": stage panicked: source exploded`, is: ErrPanic, record: -1,
		},
		{
			name: "wrong schema emitted",
			stages: []StageSpec{
				stage("gen", "gen", nil, map[string]any{"batches": 5, "wrong_schema_at_batch": 3}),
				stage("out", "collect", []string{"gen"}, nil),
			},
			want: `stage "gen": schema mismatch: emitted batch {y: int64}, declared {x: int64}`, is: ErrSchemaMismatch, record: -1,
		},
		{
			name: "sink close",
			stages: []StageSpec{
				stage("gen", "gen", nil, nil),
				stage("out", "collect", []string{"gen"}, map[string]any{"fail_close": true}),
			},
			want: `stage "out": commit failed`, record: -1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.workers > 0 {
				tc.stages[1].Workers = tc.workers
			}
			sinks, run, err := runSpec(t, context.Background(), RunOptions{}, tc.stages...)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if got := strings.SplitN(err.Error(), "\n", 2)[0]; got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v) false", tc.is)
			}
			var se *StageError
			if !errors.As(err, &se) || se.Record != tc.record {
				t.Errorf("StageError record: %+v", se)
			}
			if out := sinks["out"]; !out.aborted {
				t.Error("sink of a failed run was not aborted")
			}
			failed := 0
			for _, st := range run.Stats() {
				if st.State == Failed {
					failed++
				}
			}
			if failed == 0 {
				t.Error("no stage marked failed")
			}
		})
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	sinks, _, err := runSpec(t, ctx, RunOptions{},
		stage("gen", "gen", nil, map[string]any{"batches": 100000, "rows": 10}),
		stage("a", "add", []string{"gen"}, map[string]any{"delta": 1}),
		stage("out", "collect", []string{"a"}, map[string]any{"delay": "1ms"}),
	)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	if !sinks["out"].aborted {
		t.Fatal("sink not aborted")
	}
}

// peakAllocator tracks the most bytes live at once.
type peakAllocator struct {
	*memory.CheckedAllocator
	mu   sync.Mutex
	peak int
}

func (p *peakAllocator) Allocate(n int) []byte {
	b := p.CheckedAllocator.Allocate(n)
	p.mu.Lock()
	p.peak = max(p.peak, p.CurrentAlloc())
	p.mu.Unlock()
	return b
}

func TestBackpressure(t *testing.T) {
	// A fast source into a slow sink: the source must spend most of its
	// time blocked and live memory must stay at a few batches, not grow
	// with the 200 batches produced.
	mem := &peakAllocator{CheckedAllocator: memory.NewCheckedAllocator(memory.NewGoAllocator())}
	defer mem.AssertSize(t, 0)
	const rows = 1024
	plan, err := testRegistry(nil).Plan(Spec{Variant: "bp", Stages: []StageSpec{
		stage("gen", "gen", nil, map[string]any{"batches": 200, "rows": rows}),
		stage("a", "add", []string{"gen"}, map[string]any{"delta": 1}),
		stage("out", "collect", []string{"a"}, map[string]any{"delay": "2ms"}),
	}}, PlanOptions{Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	run := plan.NewRun(RunOptions{})
	if err := run.Execute(context.Background()); err != nil {
		t.Fatal(err)
	}
	// gen->a and a->out each hold DefaultBuffer batches; each stage holds
	// up to two more (its input and the output it is blocked emitting).
	batch := rows * 8
	if limit := (2*DefaultBuffer + 8) * batch; mem.peak > limit {
		t.Fatalf("peak live memory %d bytes > %d (%d batches)", mem.peak, limit, mem.peak/batch)
	}
	st := run.Stats()
	if st[0].Blocked < st[0].Busy/2 {
		t.Fatalf("source blocked %v of %v busy: no backpressure", st[0].Blocked, st[0].Busy)
	}
	if st[2].Idle > st[2].Busy {
		t.Fatalf("slow sink idle %v > busy %v", st[2].Idle, st[2].Busy)
	}
}

func TestBarrierSpills(t *testing.T) {
	dir := t.TempDir()
	sinks, run, err := runSpec(t, context.Background(), RunOptions{SpillDir: dir, SpillBytes: 64 << 10},
		stage("gen", "gen", nil, map[string]any{"batches": 40, "rows": 4096}),
		stage("cnt", "count", []string{"gen"}, nil),
		stage("out", "collect", []string{"cnt"}, nil),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := sinks["out"].xs; !slices.Equal(got, []int64{40 * 4096}) {
		t.Fatalf("count %v", got)
	}
	// All but the first 64 KiB (two batches) went to the spill file.
	if got, min := run.Stats()[1].Spilled, int64(38*4096*8); got < min || got > min+64<<10 {
		t.Fatalf("spilled %d bytes, want %d and IPC framing", got, min)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Fatalf("spill files left behind: %v", left)
	}
}

func TestBarrierSpillIsUsed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := newSpillDataset(xSchema, mem, 100, t.TempDir())
	defer d.release()
	g := &genSource{alloc: mem, batches: 3, rows: 10, failAt: -1, panicAt: -1, wrongSchemaAtBatch: -1}
	col := &collector{s: &stageRun{node: &Node{Stage: g}}}
	if err := g.Produce(context.Background(), col); err != nil {
		t.Fatal(err)
	}
	for _, b := range col.out {
		if err := d.add(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.seal(); err != nil {
		t.Fatal(err)
	}
	if len(d.mem) != 1 || d.spilled != 2 {
		t.Fatalf("mem %d spilled %d, want 1 and 2", len(d.mem), d.spilled)
	}
	if _, err := os.Stat(d.file.Name()); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for b, err := range d.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b.NumRows())
	}
	if !slices.Equal(got, []int64{10, 10, 10}) || d.NumRows() != 30 {
		t.Fatalf("batches %v rows %d", got, d.NumRows())
	}
	// Discard frees the batches held in memory (the checked allocator
	// sees them released) and removes the spill file; iterating fails.
	spill := d.file.Name()
	Discard(d)
	mem.AssertSize(t, 0)
	if _, err := os.Stat(spill); !os.IsNotExist(err) {
		t.Fatalf("spill file after Discard: %v", err)
	}
	for _, err := range d.Batches(context.Background()) {
		if !errors.Is(err, ErrDiscarded) {
			t.Fatalf("iterating a discarded input: %v, want ErrDiscarded", err)
		}
	}
	Discard(d) // twice, then release by the deferred call: no panic, no double free
}

func TestQuarantineBudget(t *testing.T) {
	plan, err := testRegistry(nil).Plan(Spec{Variant: "q", Stages: []StageSpec{stage("gen", "gen", nil, nil)}},
		PlanOptions{MaxQuarantined: 2})
	if err != nil {
		t.Fatal(err)
	}
	q := plan.quar.forStage("gen")
	for i, want := range []bool{true, true, false} {
		if err := q.Add(context.Background(), "key"+string(rune('a'+i)), "bad"); (err == nil) != want {
			t.Fatalf("add %d: %v", i, err)
		} else if err != nil && !errors.Is(err, ErrErrorBudget) {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	run := plan.NewRun(RunOptions{})
	if got := run.Quarantined(); len(got) != 3 || got[0] != (QuarantineEntry{"gen", "keya", "bad"}) {
		t.Fatalf("quarantined %+v", got)
	}
}

func TestFlush(t *testing.T) {
	for _, workers := range []int{1, 3} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		sinks, holds := map[string]*collectSink{}, map[string]*holdTransform{}
		h := stage("h", "hold", []string{"gen"}, nil)
		h.Workers = workers
		plan, err := testRegistryHolds(sinks, holds).Plan(Spec{Variant: "f", Stages: []StageSpec{
			stage("gen", "gen", nil, map[string]any{"batches": 9, "rows": 10}), h,
			stage("out", "collect", []string{"h"}, nil),
		}}, PlanOptions{Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		if err := plan.NewRun(RunOptions{}).Execute(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n, s := sinks["out"].sum(); n != 90 || s != sumTo(90) {
			t.Errorf("workers %d: %d rows sum %d after flush", workers, n, s)
		}
		if f := holds["h"].flushes.Load(); f != 1 {
			t.Errorf("workers %d: Flush called %d times", workers, f)
		}
		mem.AssertSize(t, 0)
	}
}

// A run that fails elsewhere never flushes the holding transform; its
// ReleaseRun frees what it held, once, whatever the outcome.
func TestReleaseRunAfterFailure(t *testing.T) {
	for _, failAt := range []int{-1, 5} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		holds := map[string]*holdTransform{}
		plan, err := testRegistryHolds(nil, holds).Plan(Spec{Variant: "f", Stages: []StageSpec{
			stage("gen", "gen", nil, map[string]any{"batches": 9, "rows": 10, "fail_at": failAt}),
			stage("h", "hold", []string{"gen"}, nil),
			stage("out", "collect", []string{"h"}, nil),
		}}, PlanOptions{Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		err = plan.NewRun(RunOptions{}).Execute(context.Background())
		if (failAt >= 0) != errors.Is(err, errBoom) {
			t.Fatalf("fail_at %d: %v", failAt, err)
		}
		if r := holds["h"].releases.Load(); r != 1 {
			t.Errorf("fail_at %d: ReleaseRun called %d times, want 1", failAt, r)
		}
		mem.AssertSize(t, 0)
	}
}

// Blocked time is part of busy time in every mode, so shares never go
// negative.
func TestStatsConsistent(t *testing.T) {
	for _, workers := range []int{1, 3} {
		a := stage("a", "add", []string{"gen"}, map[string]any{"delta": 1})
		a.Workers = workers
		_, run, err := runSpec(t, context.Background(), RunOptions{},
			stage("gen", "gen", nil, map[string]any{"batches": 50, "rows": 100}), a,
			stage("out", "collect", []string{"a"}, map[string]any{"delay": "2ms"}),
		)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range run.Stats() {
			if st.Blocked > st.Busy || st.Work() < 0 || st.Idle < 0 {
				t.Errorf("workers %d: %s: busy %v blocked %v idle %v", workers, st.Stage, st.Busy, st.Blocked, st.Idle)
			}
		}
		if st := run.Stats()[1]; st.Blocked == 0 {
			t.Errorf("workers %d: transform before a slow sink never blocked", workers)
		}
	}
}

func TestMaxErrorRate(t *testing.T) {
	rate := func(f float64) *float64 { return &f }
	for _, tc := range []struct {
		every      int
		run, stage *float64 // PlanOptions.MaxErrorRate, StageSpec.MaxErrorRate
		fail       string
	}{
		{every: 4, run: rate(0.2), fail: `stage "q": error budget exceeded: 250 of 1000 records quarantined (25.0%), max error rate 20.0%; first: 0: multiple`},
		{every: 10, run: rate(0.2)},
		{every: 4, run: rate(0.2), stage: rate(0.3)},
		{every: 4, run: rate(0.2), stage: rate(0)},
		{every: 10, stage: rate(0.05), fail: `stage "q": error budget exceeded: 100 of 1000 records quarantined (10.0%), max error rate 5.0%; first: 0: multiple`},
	} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		sinks := map[string]*collectSink{}
		q := stage("q", "quar", []string{"gen"}, map[string]any{"every": tc.every})
		q.MaxErrorRate = tc.stage
		opts := PlanOptions{Alloc: mem}
		if tc.run != nil {
			opts.MaxErrorRate = *tc.run
		}
		plan, err := testRegistry(sinks).Plan(Spec{Variant: "r", Stages: []StageSpec{
			stage("gen", "gen", nil, map[string]any{"batches": 10, "rows": 100}), q,
			stage("out", "collect", []string{"q"}, nil),
		}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		err = plan.NewRun(RunOptions{}).Execute(context.Background())
		if tc.fail != "" {
			want := tc.fail
			if err == nil || err.Error() != want || !errors.Is(err, ErrErrorBudget) {
				t.Errorf("every %d: err %v, want %s", tc.every, err, want)
			}
			if sinks["out"].closed || !sinks["out"].aborted {
				t.Errorf("every %d: the sink committed despite the error rate", tc.every)
			}
		} else if err != nil {
			t.Errorf("every %d: %v", tc.every, err)
		}
		mem.AssertSize(t, 0)
	}
}

// A materialized transform that does not finish (here: the run is
// cancelled) commits its output per input batch; the rerun replays those
// parts instead of recomputing them, computes the rest and commits the
// whole, which the run after reuses. Every run's sink sees all rows, in
// order.
func TestMaterializedResume(t *testing.T) {
	for _, workers := range []int{1, 3} {
		dir := t.TempDir()
		store, err := local.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []Decision{Compute, Compute, Reuse} {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			a := stage("a", "add", []string{"gen"}, map[string]any{"delta": 1})
			a.Materialize, a.Workers = true, workers
			sink := map[string]any{}
			if i == 0 {
				sink["delay"] = "5ms" // the sink's params are not in a's fingerprint
			}
			sinks := map[string]*collectSink{}
			plan, err := testRegistry(sinks).Plan(Spec{Variant: "m", Stages: []StageSpec{
				stage("gen", "gen", nil, map[string]any{"batches": 40, "rows": 500}), a,
				stage("out", "collect", []string{"a"}, sink),
			}}, PlanOptions{Alloc: mem})
			if err != nil {
				t.Fatal(err)
			}
			cache := dataset.NewCache(store, "cache", mem)
			if err := plan.Resolve(context.Background(), cache, nil); err != nil {
				t.Fatal(err)
			}
			if d := plan.Node("a").Decision; d != want {
				t.Fatalf("workers %d run %d: a is %v, want %v", workers, i, d, want)
			}
			ctx, cancel := context.WithCancel(context.Background())
			run := plan.NewRun(RunOptions{})
			var watch sync.WaitGroup
			if i == 0 {
				// Interrupt once the sink has 10 of the 40 batches (a
				// fixed delay found nothing committed on a loaded machine).
				watch.Go(func() {
					for ctx.Err() == nil && run.Stats()[2].BatchesIn < 10 {
						time.Sleep(time.Millisecond)
					}
					cancel()
				})
			}
			err = run.Execute(ctx)
			cancel()
			watch.Wait()
			if (err != nil) != (i == 0) {
				t.Fatalf("workers %d run %d: %v", workers, i, err)
			}
			has, _ := cache.Has(context.Background(), plan.Node("a").Fingerprint)
			if has != (i > 0) {
				t.Fatalf("workers %d run %d: committed = %v", workers, i, has)
			}
			if i > 0 {
				xs := sinks["out"].xs
				if len(xs) != 20000 || !slices.IsSorted(xs) || xs[0] != 1 || xs[len(xs)-1] != 20000 {
					t.Fatalf("workers %d run %d: sink got %d rows, sorted %v", workers, i, len(xs), slices.IsSorted(xs))
				}
			}
			if i == 1 {
				r := run.Stats()[1].Resumed
				if r == 0 || r >= 40 {
					t.Fatalf("workers %d: rerun replayed %d of 40 input batches, want some but not all", workers, r)
				}
				t.Logf("workers %d: rerun replayed %d of 40 input batches", workers, r)
			}
			mem.AssertSize(t, 0)
		}
	}
}

// TestBarrierReadsReusedInputFromCache: a barrier whose input the run
// reuses reads it from the cache, twice (two epochs, NumRows from the
// manifest), holding no copy: with a spill dir that cannot be created and
// a 1-byte memory budget the rerun succeeds, as does a run that forces
// the input (computed in the run, read from the cache once committed:
// TestBarrierReadsComputedInputFromCache), while a run over an input that
// is not materialized fails to spill. A streaming consumer of the same
// stage still gets it through its edge.
func TestBarrierReadsReusedInputFromCache(t *testing.T) {
	dir := t.TempDir()
	store, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	noDir := filepath.Join(dir, "file")
	if err := os.WriteFile(noDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		spillDir string
		want     Decision
		fails    bool
	}{
		{dir, Compute, false},   // computes and commits a
		{noDir, Reuse, false},   // a reused: cnt reads the cache, nothing spills
		{noDir, Compute, false}, // a forced: cnt reads the cache once a commits, nothing spills
		{noDir, Compute, true},  // a not materialized: its output reaches cnt by an edge, which must spill
	} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		a := stage("a", "add", []string{"gen"}, map[string]any{"delta": 1})
		a.Materialize = i < 3
		sinks := map[string]*collectSink{}
		plan, err := testRegistry(sinks).Plan(Spec{Variant: "d", Stages: []StageSpec{
			stage("gen", "gen", nil, map[string]any{"batches": 20, "rows": 1000}), a,
			stage("cnt", "count", []string{"a"}, nil),
			stage("out", "collect", []string{"cnt"}, nil),
			stage("rows", "collect", []string{"a"}, nil),
		}}, PlanOptions{Alloc: mem})
		if err != nil {
			t.Fatal(err)
		}
		var force []string
		if i == 2 {
			force = []string{"a"}
		}
		if err := plan.Resolve(context.Background(), dataset.NewCache(store, "cache", mem), force); err != nil {
			t.Fatal(err)
		}
		if d := plan.Node("a").Decision; d != tc.want {
			t.Fatalf("run %d: a is %v, want %v", i, d, tc.want)
		}
		run := plan.NewRun(RunOptions{SpillDir: tc.spillDir, SpillBytes: 1})
		err = run.Execute(context.Background())
		if tc.fails {
			if err == nil || !strings.Contains(err.Error(), "spill") {
				t.Fatalf("run %d: err = %v, want a spill failure", i, err)
			}
			mem.AssertSize(t, 0)
			continue
		}
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if got := sinks["out"].xs; !slices.Equal(got, []int64{20000}) {
			t.Fatalf("run %d: count %v, want [20000]", i, got)
		}
		if got := len(sinks["rows"].xs); got != 20000 {
			t.Fatalf("run %d: the streaming consumer got %d rows", i, got)
		}
		if st := run.Stats()[2]; st.RowsIn != 20000 || st.Spilled != 0 {
			t.Fatalf("run %d: cnt rows in %d, %d bytes spilled", i, st.RowsIn, st.Spilled)
		}
		mem.AssertSize(t, 0)
	}
}
