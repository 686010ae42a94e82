package embed

import (
	"context"
	"fmt"
	"testing"
)

// TestBatcherHold drives the batcher in hold mode without a model: every
// row is embedded exactly once, a call mixes no length classes and stays
// within the budget, batches come out in input order, and the rows held
// never exceed hold_rows by more than one input batch.
func TestBatcherHold(t *testing.T) {
	tests := []struct {
		name                        string
		batchRows, hold, budget, wd int
	}{
		{"no-hold", 7, 0, 512, 4},
		{"small-hold", 7, 60, 2048, 8},
		{"big-hold", 13, 10000, 8192, 16},
		{"one-row-calls", 5, 30, 1, 16},
	}
	lengths := lognormalLengths(500, 9)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := &TextEmbed{width: tc.wd, budget: tc.budget}
			seen := map[[2]int]int{} // (batch, slot) -> calls
			calls := 0
			var b *batcher
			b = newBatcher(true, tc.hold, 1, te.rowsPerCall, func(_ context.Context, rows []row) error {
				calls++
				k := te.bucket(len(rows[0].tokens))
				if len(rows) > te.rowsPerCall(k) {
					return fmt.Errorf("call of %d rows, budget %d", len(rows), te.rowsPerCall(k))
				}
				for _, r := range rows {
					if te.bucket(len(r.tokens)) != k {
						return fmt.Errorf("call mixes classes %d and %d", k, te.bucket(len(r.tokens)))
					}
					seen[[2]int{int(r.h.emb[0]), r.slot}]++
				}
				return nil
			})
			ctx := context.Background()
			var next float32
			check := func(out []*held) {
				for _, h := range out {
					if h.emb[0] != next {
						t.Fatalf("batch %v emitted, want %v", h.emb[0], next)
					}
					next++
				}
			}
			for start, id := 0, 0; start < len(lengths); start, id = start+tc.batchRows, id+1 {
				end := min(start+tc.batchRows, len(lengths))
				h := &held{emb: []float32{float32(id)}}
				var rows []row
				var keys []int
				for i, l := range lengths[start:end] {
					h.keep = append(h.keep, i)
					rows = append(rows, row{h: h, slot: i, tokens: make([]int32, l)})
					keys = append(keys, te.bucket(l))
				}
				b.add(h, rows, keys)
				if err := b.work(ctx, nil, false); err != nil {
					t.Fatal(err)
				}
				check(b.popDone(false))
				if b.held > tc.hold+tc.batchRows {
					t.Fatalf("after batch %d: %d rows held, hold_rows %d", id, b.held, tc.hold)
				}
			}
			if err := b.work(ctx, nil, true); err != nil {
				t.Fatal(err)
			}
			check(b.popDone(true))
			if len(seen) != len(lengths) {
				t.Fatalf("%d rows embedded, want %d", len(seen), len(lengths))
			}
			for k, n := range seen {
				if n != 1 {
					t.Fatalf("row %v embedded %d times", k, n)
				}
			}
			t.Logf("%d calls for %d rows", calls, len(lengths))
			if tc.hold > 0 && tc.budget > 1 && calls > len(lengths)/2 {
				t.Errorf("%d calls for %d rows: forced partial calls drain too much", calls, len(lengths))
			}
			if b.held != 0 || b.pending != 0 || len(b.fifo) != 0 {
				t.Fatalf("left held %d pending %d fifo %d", b.held, b.pending, len(b.fifo))
			}
		})
	}
}
