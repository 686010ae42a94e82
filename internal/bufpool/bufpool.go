// Package bufpool is an Arrow memory.Allocator that reuses freed buffers.
//
// Go's allocator (memory.GoAllocator) leaves every released Arrow buffer to
// the garbage collector; a pipeline that streams same-sized batches then
// spends its time in GC and page faults, and its peak RSS follows GC pacing
// rather than the data in flight. This allocator keeps freed buffers in
// size classes (sync.Pool per class) and hands them out again, zeroed and
// 64-byte aligned like GoAllocator's: powers of two from 64 B to 1 MiB,
// then eight classes per doubling up to 64 MiB (1.125, 1.25, ... 2 MiB,
// 2.25, ...), so a large buffer wastes at most 12.5% of its size rather
// than up to half (a trainer's block of 256 rows of 16 KiB images plus
// their labels is 4.03 MiB: a 4.5 MiB buffer, not 8). Larger buffers come
// from Go directly and go back to the GC.
//
// Every slice it hands out has cap == len, as Go's allocator's do: Arrow's
// compute kernels size what they append by cap, so spare capacity past the
// length made them write past the buffer's end. The whole pooled buffer is
// found again from the slice's start and its length (whose size class
// tells the buffer's size).
//
// It relies on exact Retain/Release accounting: a buffer freed while still
// in use would be handed to someone else. Poison mode fills freed buffers
// with 0xDE so that such a bug shows up in tests as wrong data.
package bufpool

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

const (
	minClass = 6  // 64 B
	fineFrom = 20 // classes up to 1 MiB are powers of two
	fineBits = 3  // above, 1<<fineBits classes per doubling
	// maxClass is the class of 64 MiB, the largest pooled size.
	maxClass  = fineFrom + (26-fineFrom)<<fineBits
	alignment = 64
)

// Allocator is safe for concurrent use. The zero value is not usable; call
// New.
type Allocator struct {
	classes [maxClass + 1]sync.Pool
	poison  bool
	allocs  atomic.Int64
	reuses  atomic.Int64
}

// New returns a pooling allocator; poison fills freed buffers with 0xDE.
func New(poison bool) *Allocator { return &Allocator{poison: poison} }

// class is the smallest size class holding size bytes.
func class(size int) int {
	if size <= 1<<minClass {
		return minClass
	}
	p := bits.Len(uint(size - 1)) // 1<<p >= size > 1<<(p-1)
	if p <= fineFrom {
		return p
	}
	base := 1 << (p - 1)
	step := base >> fineBits
	sub := (size - base + step - 1) / step // 1 .. 1<<fineBits
	return fineFrom + (p-1-fineFrom)<<fineBits + sub
}

// classSize is the size of the buffers of class c.
func classSize(c int) int {
	if c <= fineFrom {
		return 1 << c
	}
	k := c - fineFrom - 1
	base := 1 << (fineFrom + k>>fineBits)
	return base + (k&(1<<fineBits-1)+1)*(base>>fineBits)
}

// Allocate returns a zeroed, 64-byte aligned buffer of length size.
func (a *Allocator) Allocate(size int) []byte {
	a.allocs.Add(1)
	c := class(size)
	if c > maxClass {
		return aligned(size)
	}
	if v := a.classes[c].Get(); v != nil {
		a.reuses.Add(1)
		b := (*v.(*[]byte))[:size:size]
		clear(b) // bytes past size are cleared by Reallocate when it grows into them
		return b
	}
	return aligned(classSize(c))[:size:size]
}

// whole returns the pooled buffer b was cut from, or nil when b is not
// one (too large, or nil): b starts it, and b's length is in its class.
func whole(b []byte) []byte {
	c := class(len(b))
	if c > maxClass || unsafe.SliceData(b) == nil {
		return nil
	}
	return unsafe.Slice(unsafe.SliceData(b), classSize(c))
}

// aligned allocates n bytes at a 64-byte boundary with capacity n.
func aligned(n int) []byte {
	buf := make([]byte, n+alignment)
	shift := (alignment - int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))%alignment) % alignment
	return buf[shift : shift+n : shift+n]
}

// Reallocate resizes b, keeping its contents; new bytes are zero. Within
// b's size class it resizes in place.
func (a *Allocator) Reallocate(size int, b []byte) []byte {
	if w := whole(b); w != nil && class(size) == class(len(b)) {
		old := len(b)
		b = w[:size:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	if class(size) > maxClass && class(len(b)) > maxClass && size <= cap(b) {
		return b[:size:size] // not pooled: Go's allocator made it
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

// Free returns b to its size class.
func (a *Allocator) Free(b []byte) {
	b = whole(b)
	if b == nil {
		return // not pooled: leave it to the GC
	}
	if a.poison {
		for i := range b {
			b[i] = 0xDE
		}
	}
	a.classes[class(len(b))].Put(&b)
}

// Stats reports how many allocations were served and how many of them
// reused a freed buffer.
func (a *Allocator) Stats() (allocs, reuses int64) { return a.allocs.Load(), a.reuses.Load() }
