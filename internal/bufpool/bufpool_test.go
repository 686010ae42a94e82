package bufpool

import (
	"context"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
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

// TestFilterLists: Arrow's compute kernels size what they append by the
// capacity of the slices the allocator returns (cap == len, as Go's
// allocator gives); a pooled buffer handed out with its class's spare
// capacity made filtering a list column run past its end (a panic seen in
// text.embed dropping quarantined rows).
func TestFilterLists(t *testing.T) {
	for _, poison := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(New(poison))
		for round := range 30 {
			lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
			vb := lb.ValueBuilder().(*array.Int32Builder)
			var want [][]int32
			for i := range 60 {
				lb.Append(true)
				var row []int32
				for k := range (i*13 + round*5) % 37 {
					vb.Append(int32(i*100 + k))
					row = append(row, int32(i*100+k))
				}
				if i%3 != 0 {
					want = append(want, row)
				}
			}
			lists := lb.NewListArray()
			lb.Release()
			mb := array.NewBooleanBuilder(mem)
			for i := range 60 {
				mb.Append(i%3 != 0)
			}
			mask := mb.NewBooleanArray()
			mb.Release()
			out, err := compute.FilterArray(compute.WithAllocator(context.Background(), mem), lists, mask, *compute.DefaultFilterOptions())
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*array.List)
			if got.Len() != len(want) {
				t.Fatalf("poison %v: %d rows, want %d", poison, got.Len(), len(want))
			}
			vals := got.ListValues().(*array.Int32)
			for i, row := range want {
				lo, hi := got.ValueOffsets(i)
				if int(hi-lo) != len(row) {
					t.Fatalf("poison %v: row %d has %d values, want %d", poison, i, hi-lo, len(row))
				}
				for k, v := range row {
					if vals.Value(int(lo)+k) != v {
						t.Fatalf("poison %v: row %d value %d = %d, want %d", poison, i, k, vals.Value(int(lo)+k), v)
					}
				}
			}
			out.Release()
			lists.Release()
			mask.Release()
		}
		mem.AssertSize(t, 0)
	}
}

// TestCapacityIsLength: every buffer handed out has cap == len, also after
// growing and shrinking, and bytes a buffer grows into are zero even when
// its class's spare bytes were poisoned.
func TestCapacityIsLength(t *testing.T) {
	a := New(true)
	b := a.Allocate(100) // class 128
	if cap(b) != len(b) {
		t.Fatalf("Allocate: cap %d, len %d", cap(b), len(b))
	}
	for i := range b {
		b[i] = 9
	}
	for _, size := range []int{120, 128, 70, 3, 300, 5000, 64 << 20, 65 << 20, 100} {
		old := len(b)
		b = a.Reallocate(size, b)
		if len(b) != size || cap(b) != size {
			t.Fatalf("Reallocate(%d): len %d cap %d", size, len(b), cap(b))
		}
		for i := min(old, size); i < size; i++ {
			if b[i] != 0 {
				t.Fatalf("Reallocate(%d) from %d: byte %d = %#x, want 0", size, old, i, b[i])
			}
		}
		for i := range b {
			b[i] = 9
		}
	}
	a.Free(b)
}

// TestClasses: every size gets the smallest class that holds it, classes
// grow with size, and above 1 MiB a buffer is at most 12.5% larger than
// asked (power-of-two classes wasted up to half).
func TestClasses(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{1, 64}, {64, 64}, {65, 128}, {1000, 1024},
		{1 << 20, 1 << 20}, {1<<20 + 1, 1<<20 + 1<<17},
		{2 << 20, 2 << 20}, {2<<20 + 1, 2<<20 + 1<<18},
		{4<<20 + 256*14*8, 4<<20 + 1<<19}, // a 256-row block of 16 KiB images with 14 labels and masks
		{64 << 20, 64 << 20},
	} {
		if got := classSize(class(tc.size)); got != tc.want {
			t.Errorf("size %d: class %d of %d bytes, want %d", tc.size, class(tc.size), got, tc.want)
		}
	}
	if class(64<<20) != maxClass || class(64<<20+1) <= maxClass {
		t.Fatalf("64 MiB is class %d and 64 MiB + 1 class %d; maxClass is %d", class(64<<20), class(64<<20+1), maxClass)
	}
	prev := minClass
	for size := 1; size <= 64<<20; size += 1 + size/97 {
		c := class(size)
		cs := classSize(c)
		if cs < size || c < prev {
			t.Fatalf("size %d: class %d (%d bytes) after class %d", size, c, cs, prev)
		}
		if c > minClass && classSize(c-1) >= size {
			t.Fatalf("size %d: class %d, but class %d (%d bytes) holds it", size, c, c-1, classSize(c-1))
		}
		if size > 1<<20 && 8*(cs-size) > size {
			t.Fatalf("size %d: class of %d bytes wastes more than 12.5%%", size, cs)
		}
		prev = c
	}
}
