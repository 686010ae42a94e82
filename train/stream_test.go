package train

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// idData is n rows whose 1×1 image is the row's number (as 8-bit pixels
// through a LUT x -> x+0.5 when u8, so batch assembly must normalise).
func idData(n, blockRows int, u8 bool) *Data {
	d := &Data{Side: 1, BlockRows: blockRows, NumLabels: 1}
	for i := range n {
		if u8 {
			d.Pixels = append(d.Pixels, uint8(i))
		} else {
			d.Images = append(d.Images, float32(i)+0.5)
		}
		d.Labels = append(d.Labels, float32(i))
		d.Mask = append(d.Mask, 1)
	}
	if u8 {
		var lut [256]float32
		for i := range lut {
			lut[i] = float32(i) + 0.5
		}
		d.PixelLUT = &lut
	}
	return d
}

// epochRows runs one epoch's stream and returns the row numbers of its
// batches in order (from the images; the labels must agree), and the
// shuffle buffer's peak.
func epochRows(t *testing.T, d *Data, seed uint64, epoch int64, k, batch, skip int, tail bool) ([]int, int) {
	t.Helper()
	peak := 0
	s := startStream(context.Background(), streamSpec{src: d, rng: EpochRNG(seed, epoch), k: k, batch: batch,
		skip: skip, tail: tail, peak: &peak})
	defer s.stop()
	var rows []int
	for {
		b, err := s.next()
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return rows, peak
		}
		if b.Pixels != nil || (!tail && b.Len() != batch) {
			t.Fatalf("batch of %d rows (pixels %v), want %d normalised", b.Len(), b.Pixels != nil, batch)
		}
		for i, v := range b.Images {
			if v-0.5 != b.Labels[i] {
				t.Fatalf("image %v and label %v of a row disagree", v, b.Labels[i])
			}
			rows = append(rows, int(v-0.5))
		}
	}
}

// TestEpochStream: every row once per epoch, a different order each
// epoch and seed, the same for the same seed, a buffer of at most k rows
// (all rows when the split fits: a full permutation), and a resumed epoch
// (skip) continues the uninterrupted one's rows exactly.
func TestEpochStream(t *testing.T) {
	cases := []struct {
		n, blockRows, k, batch int
		u8                     bool
	}{
		{100, 7, 16, 10, false},
		{100, 7, 16, 10, true},
		{50, 256, DefaultShuffleRows, 5, false}, // one block, fits: full permutation
		{64, 8, 1, 8, false},                    // buffer of 1: blocks shuffled, rows in block order
		{200, 3, 200, 20, true},                 // k == n
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_block%d_k%d_u8%v", c.n, c.blockRows, c.k, c.u8), func(t *testing.T) {
			d := idData(c.n, c.blockRows, c.u8)
			e0, peak := epochRows(t, d, 1, 0, c.k, c.batch, 0, true)
			if got := slices.Sorted(slices.Values(e0)); !slices.Equal(got, seq(c.n)) {
				t.Fatalf("epoch 0 rows %v, want each of 0..%d once", got, c.n-1)
			}
			if want := min(c.k, c.n); peak != want {
				t.Fatalf("shuffle buffer held at most %d rows, want %d", peak, want)
			}
			e1, _ := epochRows(t, d, 1, 1, c.k, c.batch, 0, true)
			again, _ := epochRows(t, d, 1, 0, c.k, c.batch, 0, true)
			other, _ := epochRows(t, d, 2, 0, c.k, c.batch, 0, true)
			if slices.Equal(e0, e1) || slices.Equal(e0, other) || slices.Equal(e0, seq(c.n)) {
				t.Fatalf("order repeats across epochs or seeds, or is the file order: %v", e0)
			}
			if !slices.Equal(e0, again) {
				t.Fatalf("same seed and epoch, different order")
			}
			if c.k == 1 {
				// Rows within a block stay together and in order.
				for i := 1; i < len(e0); i++ {
					if e0[i]%c.blockRows != 0 && e0[i] != e0[i-1]+1 {
						t.Fatalf("buffer of 1 reordered rows within a block: %v", e0)
					}
				}
			}
			// Without the tail, the full batches only; skipping 3 batches
			// gives the rest of them.
			full, _ := epochRows(t, d, 1, 0, c.k, c.batch, 0, false)
			if want := e0[:c.n/c.batch*c.batch]; !slices.Equal(full, want) {
				t.Fatalf("full batches %v, want %v", full, want)
			}
			rest, _ := epochRows(t, d, 1, 0, c.k, c.batch, 3*c.batch, false)
			if !slices.Equal(rest, full[3*c.batch:]) {
				t.Fatalf("resumed epoch rows %v, want %v", rest, full[3*c.batch:])
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestStreamStops: the prefetch goroutine ends when the context is
// cancelled mid-pass (the consumer then sees the cancellation) and when
// the consumer stops early.
func TestStreamStops(t *testing.T) {
	d := idData(10000, 16, false)
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	s := startStream(ctx, streamSpec{src: d, rng: EpochRNG(1, 0), k: 64, batch: 4})
	if b, err := s.next(); b == nil || err != nil {
		t.Fatalf("first batch: %v %v", b, err)
	}
	cancel()
	waitGoroutines(t, base)
	var err error
	for b := (&Data{}); b != nil && err == nil; b, err = s.next() {
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: err %v, want context.Canceled", err)
	}
	s.stop()

	s = startStream(context.Background(), streamSpec{src: d, rng: EpochRNG(1, 0), k: 64, batch: 4})
	if b, err := s.next(); b == nil || err != nil {
		t.Fatalf("first batch: %v %v", b, err)
	}
	s.stop()
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines after stop, %d before the stream", n, base)
	}
}

func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the stream: the prefetch goroutine did not end", runtime.NumGoroutine(), base)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBlocksOfData: a Data as Blocks covers its rows in BlockRows-row
// views, the last one short.
func TestBlocksOfData(t *testing.T) {
	d := idData(10, 4, true)
	if d.NumBlocks() != 3 {
		t.Fatalf("%d blocks, want 3", d.NumBlocks())
	}
	b, err := d.Block(2)
	if err != nil || b.Len() != 2 || b.Pixels[0] != 8 || b.Labels[1] != 9 {
		t.Fatalf("block 2: %+v, %v", b, err)
	}
	if _, err := d.Block(3); !errors.Is(err, ErrData) {
		t.Fatalf("block 3: err %v, want ErrData", err)
	}
	noLUT := idData(4, 2, true)
	noLUT.PixelLUT = nil
	s := startStream(context.Background(), streamSpec{src: noLUT, batch: 2})
	defer s.stop()
	if _, err := s.next(); !errors.Is(err, ErrData) {
		t.Fatalf("pixels without a LUT: err %v, want ErrData", err)
	}
}

// TestShuffleBufferOffHeap: the shuffle buffer's rows do not grow the Go
// heap (they live in an offheap mapping), so a full buffer costs its size
// in resident memory once, not up to twice; and the rows that come out
// are still every row once (the mapping is read back correctly).
func TestShuffleBufferOffHeap(t *testing.T) {
	const rows, side = 2048, 64 // 8 MiB of 8-bit pixels, all in the buffer
	d := &Data{Side: side, BlockRows: 256, NumLabels: 1}
	d.Pixels = make([]uint8, rows*side*side)
	for i := range rows {
		d.Pixels[i*side*side] = uint8(i)
		d.Labels = append(d.Labels, float32(i))
		d.Mask = append(d.Mask, 1)
	}
	var lut [256]float32
	d.PixelLUT = &lut
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := heap()
	var during int64
	seen := make([]bool, rows)
	err := shuffledRows(d, EpochRNG(1, 0), rows, nil, func(buf *Data, i int) error {
		if during == 0 {
			during = heap() // the buffer is full: its first row is being drawn
		}
		id := int(buf.Labels[i])
		if seen[id] || buf.Pixels[i*side*side] != uint8(id) {
			t.Fatalf("row %d: seen before %v, pixel %d", id, seen[id], buf.Pixels[i*side*side])
		}
		seen[id] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(seen, false) {
		t.Fatal("a row never came out of the shuffle buffer")
	}
	if grew, size := during-before, int64(len(d.Pixels)); grew > size/4 {
		t.Fatalf("the Go heap grew by %d bytes while the shuffle buffer held %d bytes of rows: the buffer is on the heap", grew, size)
	}
}
