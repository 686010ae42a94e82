package bufpool

import (
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var _ memory.Allocator = (*Allocator)(nil)

func TestAllocate(t *testing.T) {
	a := New(true)
	for _, size := range []int{0, 1, 63, 64, 65, 1000, 1 << 20, 3<<20 + 5} {
		b := a.Allocate(size)
		if len(b) != size {
			t.Fatalf("len %d, want %d", len(b), size)
		}
		if size > 0 && uintptr(unsafe.Pointer(&b[0]))%64 != 0 {
			t.Fatalf("size %d: not 64-byte aligned", size)
		}
		for i := range b {
			b[i] = 7
		}
		a.Free(b)
		c := a.Allocate(size) // likely the same buffer, poisoned then zeroed
		c = a.Reallocate(cap(c), c)
		for i, x := range c {
			if x != 0 {
				t.Fatalf("size %d: byte %d = %d after reuse, want 0", size, i, x)
			}
		}
	}
}

func TestReallocateKeepsAndZeroes(t *testing.T) {
	a := New(false)
	b := a.Allocate(10)
	copy(b, "0123456789")
	b = a.Reallocate(5, b)
	b = a.Reallocate(100, b) // within capacity 64? no: grows
	if string(b[:5]) != "01234" {
		t.Fatalf("contents %q", b[:5])
	}
	for i, x := range b[5:] {
		if x != 0 {
			t.Fatalf("byte %d = %d, want 0", 5+i, x)
		}
	}
}

func TestReuse(t *testing.T) {
	a := New(false)
	for range 100 {
		bld := array.NewInt64Builder(a)
		for i := range 10000 {
			bld.Append(int64(i))
		}
		arr := bld.NewInt64Array()
		bld.Release()
		if arr.Value(9999) != 9999 {
			t.Fatal("wrong value")
		}
		arr.Release()
	}
	allocs, reuses := a.Stats()
	if reuses < allocs/2 {
		t.Fatalf("%d of %d allocations reused a buffer", reuses, allocs)
	}
}
