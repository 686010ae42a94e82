package batching

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// batch and item are a minimal batch and row.
type batch struct {
	Group
	id int
}

type item struct {
	b      *batch
	slot   int
	length int
}

func (it item) Batch() *batch { return it.b }

// reportLengths are report-like token counts: 40 to 277, most near 160.
func reportLengths(n int, seed uint64) []int {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]int, n)
	for i := range out {
		out[i] = 40 + r.IntN(80) + r.IntN(80) + r.IntN(80)
	}
	return out
}

// TestHold drives the batcher in hold mode: every row is in exactly one
// call, a call mixes no buckets and stays within the budget, batches come
// out in input order, and the rows held never exceed holdRows by more than
// one input batch.
func TestHold(t *testing.T) {
	tests := []struct {
		name                        string
		batchRows, hold, budget, wd int
	}{
		{"no-hold", 7, 0, 512, 4},
		{"small-hold", 7, 60, 2048, 8},
		{"big-hold", 13, 10000, 8192, 16},
		{"one-row-calls", 5, 30, 1, 16},
	}
	lengths := reportLengths(500, 9)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bucket := func(l int) int { return (l + tc.wd - 1) / tc.wd }
			perCall := func(k int) int { return max(1, tc.budget/(k*tc.wd)) }
			seen := map[[2]int]int{} // (batch, slot) -> calls
			calls := 0
			b := New[*batch](true, tc.hold, perCall, func(_ context.Context, rows []item) error {
				calls++
				k := bucket(rows[0].length)
				if len(rows) > perCall(k) {
					return fmt.Errorf("call of %d rows, budget %d", len(rows), perCall(k))
				}
				for _, r := range rows {
					if bucket(r.length) != k {
						return fmt.Errorf("call mixes buckets %d and %d", k, bucket(r.length))
					}
					seen[[2]int{r.b.id, r.slot}]++
				}
				return nil
			})
			ctx := context.Background()
			next := 0
			check := func(out []*batch) {
				for _, h := range out {
					if h.id != next {
						t.Fatalf("batch %d out, want %d", h.id, next)
					}
					next++
				}
			}
			for start, id := 0, 0; start < len(lengths); start, id = start+tc.batchRows, id+1 {
				end := min(start+tc.batchRows, len(lengths))
				h := &batch{id: id}
				var rows []item
				var keys []int
				for i, l := range lengths[start:end] {
					rows = append(rows, item{b: h, slot: i, length: l})
					keys = append(keys, bucket(l))
				}
				b.Add(h, rows, keys)
				if err := b.Work(ctx, nil, false); err != nil {
					t.Fatal(err)
				}
				check(b.PopDone(false))
				if b.held > tc.hold+tc.batchRows {
					t.Fatalf("after batch %d: %d rows held, holdRows %d", id, b.held, tc.hold)
				}
			}
			if err := b.Work(ctx, nil, true); err != nil {
				t.Fatal(err)
			}
			check(b.PopDone(true))
			if len(seen) != len(lengths) {
				t.Fatalf("%d rows in calls, want %d", len(seen), len(lengths))
			}
			for k, n := range seen {
				if n != 1 {
					t.Fatalf("row %v in %d calls", k, n)
				}
			}
			t.Logf("%d calls for %d rows", calls, len(lengths))
			if tc.hold > 0 && tc.budget > 1 && calls > len(lengths)/2 {
				t.Errorf("%d calls for %d rows: forced partial calls drain too much", calls, len(lengths))
			}
			if n, rows := b.Calls(); n != int64(calls) || rows != int64(len(lengths)) {
				t.Errorf("Calls() = %d, %d; want %d, %d", n, rows, calls, len(lengths))
			}
			if b.held != 0 || b.pending != 0 || len(b.fifo) != 0 {
				t.Fatalf("left held %d pending %d fifo %d", b.held, b.pending, len(b.fifo))
			}
		})
	}
}

// TestOwn: concurrent callers in own mode each return once their own
// batch is done, whichever caller's call embedded its rows.
func TestOwn(t *testing.T) {
	var mu sync.Mutex
	done := map[[2]int]int{}
	b := New[*batch](false, 0, func(int) int { return 4 }, func(_ context.Context, rows []item) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rows {
			done[[2]int{r.b.id, r.slot}]++
		}
		return nil
	})
	var wg sync.WaitGroup
	for id := range 8 {
		wg.Go(func() {
			h := &batch{id: id}
			var rows []item
			var keys []int
			for i := range 3 + id {
				rows = append(rows, item{b: h, slot: i})
				keys = append(keys, i%2)
			}
			b.Add(h, rows, keys)
			if err := b.Work(context.Background(), h, false); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range rows {
				if done[[2]int{id, i}] != 1 {
					t.Errorf("batch %d returned with row %d in %d calls", id, i, done[[2]int{id, i}])
				}
			}
		})
	}
	wg.Wait()
}

// TestFailure: a failed call fails later Work; Drop returns the held
// batches and leaves nothing behind.
func TestFailure(t *testing.T) {
	boom := fmt.Errorf("boom")
	b := New[*batch](true, 0, func(int) int { return 2 }, func(context.Context, []item) error { return boom })
	h := &batch{id: 1}
	b.Add(h, []item{{b: h}, {b: h, slot: 1}}, []int{0, 0})
	if err := b.Work(context.Background(), nil, false); err != boom {
		t.Fatalf("Work: %v, want boom", err)
	}
	if err := b.Work(context.Background(), nil, true); err != boom {
		t.Fatalf("second Work: %v, want boom", err)
	}
	if got := b.Drop(); len(got) != 1 || got[0] != h {
		t.Fatalf("Drop: %v", got)
	}
	if b.held != 0 || b.pending != 0 || len(b.buckets) != 0 {
		t.Fatalf("left held %d pending %d buckets %d", b.held, b.pending, len(b.buckets))
	}
}
