package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
)

// Blocks is a split read block by block: Block(i) is a small Data of
// consecutive rows (the same columns in every block). Training reads its
// split through it every epoch, so only a few blocks, the shuffle buffer
// and the batches in flight are in memory. Block is called from one
// goroutine at a time. A *Data is Blocks of BlockRows rows.
type Blocks interface {
	NumBlocks() int
	Len() int
	Block(i int) (*Data, error)
}

// DefaultBlockRows is the block size of a Data used as Blocks.
const DefaultBlockRows = 256

// DefaultShuffleRows is Config.ShuffleRows when 0.
const DefaultShuffleRows = 4096

func (d *Data) blockRows() int {
	if d.BlockRows > 0 {
		return d.BlockRows
	}
	return DefaultBlockRows
}

// NumBlocks is the number of blocks of d as Blocks.
func (d *Data) NumBlocks() int { return (d.Len() + d.blockRows() - 1) / d.blockRows() }

// Block is rows [i*BlockRows, (i+1)*BlockRows) of d (a view, no copy).
func (d *Data) Block(i int) (*Data, error) {
	n, r := d.Len(), d.blockRows()
	if i < 0 || i*r >= n {
		return nil, fmt.Errorf("%w: block %d of %d", ErrData, i, d.NumBlocks())
	}
	return d.slice(i*r, min(n, (i+1)*r)), nil
}

// EpochRNG is the random source of epoch's block order and shuffle
// buffer, drawn from the seed and the epoch.
func EpochRNG(seed uint64, epoch int64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(epoch)^0x5eed))
}

// errStop ends a row walk early (not an error).
var errStop = errors.New("stop")

// shuffledRows calls yield with each row of src once: blocks in an order
// permuted by rng, through a buffer of at most k rows from which rng picks
// the row to yield (k >= src.Len(): a uniform permutation). With rng nil,
// rows come in order, unbuffered. buf is valid only during the call: it
// lives outside the Go heap (likeOffHeap) and is freed on return.
// peak, when not nil, records the most rows the buffer held.
func shuffledRows(src Blocks, rng *rand.Rand, k int, peak *int, yield func(buf *Data, i int) error) error {
	nb := src.NumBlocks()
	order := make([]int, nb)
	for i := range order {
		order[i] = i
	}
	if rng != nil {
		order = rng.Perm(nb)
	}
	var buf *Data
	free := func() {}
	defer func() { free() }()
	for _, bi := range order {
		blk, err := src.Block(bi)
		if err != nil {
			return fmt.Errorf("block %d: %w", bi, err)
		}
		if blk.Pixels != nil && blk.PixelLUT == nil {
			return fmt.Errorf("%w: block %d has 8-bit pixels but no PixelLUT", ErrData, bi)
		}
		n := blk.Len()
		if rng == nil {
			for i := range n {
				if err := yield(blk, i); err != nil {
					return err
				}
			}
			continue
		}
		if buf == nil {
			buf, free = blk.likeOffHeap(min(k, src.Len()))
		}
		for i := range n {
			if m := buf.Len(); m < k {
				buf.putRow(m, blk, i)
				if peak != nil {
					*peak = max(*peak, m+1)
				}
				continue
			}
			j := rng.IntN(k)
			if err := yield(buf, j); err != nil {
				return err
			}
			buf.putRow(j, blk, i)
		}
	}
	for buf != nil && buf.Len() > 0 {
		m := buf.Len()
		j := rng.IntN(m)
		if err := yield(buf, j); err != nil {
			return err
		}
		buf.putRow(j, buf, m-1)
		buf.truncate(m - 1)
	}
	return nil
}

// streamSpec is one pass over a split in batches.
type streamSpec struct {
	src   Blocks
	rng   *rand.Rand // nil: file order, no shuffle
	k     int        // shuffle buffer rows
	batch int
	skip  int  // rows dropped first (a resumed epoch)
	want  int  // full batches to deliver (0: all)
	tail  bool // deliver the last partial batch
	peak  *int
}

// stream delivers a pass's batches (Images, never Pixels) from a goroutine
// that prepares the next batch while the caller trains on this one.
type stream struct {
	out    chan *Data
	free   chan *Data // batches handed back for reuse
	err    error      // set before out is closed
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startStream(ctx context.Context, sp streamSpec) *stream {
	ctx, cancel := context.WithCancel(ctx)
	s := &stream{out: make(chan *Data, 1), free: make(chan *Data, 2), cancel: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.out)
		s.err = s.run(ctx, sp)
	}()
	return s
}

func (s *stream) run(ctx context.Context, sp streamSpec) error {
	var cur *Data
	seen, sent := 0, 0
	send := func() error {
		select {
		case s.out <- cur:
			cur = nil
			sent++
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	err := shuffledRows(sp.src, sp.rng, sp.k, sp.peak, func(buf *Data, i int) error {
		if seen++; seen <= sp.skip {
			return nil
		}
		if cur == nil {
			select {
			case cur = <-s.free:
				cur.truncate(0)
			default:
				cur = buf.like(sp.batch, true)
			}
		}
		cur.putRow(cur.Len(), buf, i)
		if cur.Len() < sp.batch {
			return nil
		}
		if err := send(); err != nil {
			return err
		}
		if sp.want > 0 && sent == sp.want {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	if err == nil && sp.tail && cur != nil && cur.Len() > 0 {
		err = send()
	}
	return err
}

// next is the next batch; nil and nil at the end of the pass.
func (s *stream) next() (*Data, error) {
	if b, ok := <-s.out; ok {
		return b, nil
	}
	return nil, s.err
}

// recycle hands b back for a later batch of the pass: b must not be used
// after (tensors made from it are copies).
func (s *stream) recycle(b *Data) {
	select {
	case s.free <- b:
	default:
	}
}

// stop ends the goroutine (also mid-pass) and waits for it.
func (s *stream) stop() {
	s.cancel()
	for range s.out {
	}
	s.wg.Wait()
}

// Batches calls fn with each batch of at most batch rows of src in order
// (Pixels normalised), e.g. for inference over a split; a batch is valid
// only during its call.
func Batches(ctx context.Context, src Blocks, batch int, fn func(lo int, b *Data) error) error {
	s := startStream(ctx, streamSpec{src: src, batch: batch, tail: true})
	defer s.stop()
	for lo := 0; ; {
		b, err := s.next()
		if b == nil || err != nil {
			return err
		}
		if err := fn(lo, b); err != nil {
			return err
		}
		lo += b.Len()
		s.recycle(b)
	}
}
