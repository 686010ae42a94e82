// Package bufpool is an Arrow memory.Allocator that reuses freed buffers.
//
// Go's allocator (memory.GoAllocator) leaves every released Arrow buffer to
// the garbage collector; a pipeline that streams same-sized batches then
// spends its time in GC and page faults, and its peak RSS follows GC pacing
// rather than the data in flight. This allocator keeps freed buffers in
// power-of-two size classes (64 B to 64 MiB, sync.Pool per class) and hands
// them out again, zeroed and 64-byte aligned like GoAllocator's. Larger
// buffers come from Go directly and go back to the GC.
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
	minClass  = 6  // 64 B
	maxClass  = 26 // 64 MiB
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

func class(size int) int {
	if size <= 1<<minClass {
		return minClass
	}
	return bits.Len(uint(size - 1))
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
		b := (*v.(*[]byte))[:size]
		clear(b) // bytes past size are cleared by Reallocate when it grows into them
		return b
	}
	return aligned(1 << c)[:size]
}

// aligned allocates n bytes at a 64-byte boundary with capacity n.
func aligned(n int) []byte {
	buf := make([]byte, n+alignment)
	shift := (alignment - int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))%alignment) % alignment
	return buf[shift : shift+n : shift+n]
}

// Reallocate resizes b, keeping its contents; new bytes are zero.
func (a *Allocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

// Free returns b to its size class.
func (a *Allocator) Free(b []byte) {
	c := cap(b)
	if c < 1<<minClass || c > 1<<maxClass || c&(c-1) != 0 {
		return // not one of ours: leave it to the GC
	}
	b = b[:c]
	if a.poison {
		for i := range b {
			b[i] = 0xDE
		}
	}
	a.classes[bits.Len(uint(c-1))].Put(&b)
}

// Stats reports how many allocations were served and how many of them
// reused a freed buffer.
func (a *Allocator) Stats() (allocs, reuses int64) { return a.allocs.Load(), a.reuses.Load() }
