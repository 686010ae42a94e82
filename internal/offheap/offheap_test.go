package offheap

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

func TestMakeTypes(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1 << 20} {
		f, free := Make[float32](n)
		if len(f) != n || cap(f) != n || f == nil {
			t.Fatalf("Make[float32](%d): len %d cap %d nil %v", n, len(f), cap(f), f == nil)
		}
		for i := range f {
			if f[i] != 0 {
				t.Fatalf("Make[float32](%d)[%d] = %v, want zeroed memory", n, i, f[i])
			}
			f[i] = float32(i)
		}
		for i := range f {
			if f[i] != float32(i) {
				t.Fatalf("element %d reads %v after writing %d", i, f[i], i)
			}
		}
		free()
		free() // twice is safe
		b, freeB := Make[uint8](n)
		if len(b) != n {
			t.Fatalf("Make[uint8](%d): len %d", n, len(b))
		}
		freeB()
	}
}

// TestMakeIsOffHeap: a 64 MiB buffer from Make does not grow the Go heap
// (the collector's pacing ignores it), where make() would.
func TestMakeIsOffHeap(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mappings here: Make falls back to the Go heap (documented)")
	}
	heap := func() uint64 {
		runtime.GC()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	const n = 64 << 20
	before := heap()
	buf, free := Make[uint8](n)
	for i := 0; i < n; i += 4096 {
		buf[i] = 1 // resident
	}
	during := heap()
	var sum int
	for i := 0; i < n; i += 4096 {
		sum += int(buf[i])
	}
	free()
	if sum != n/4096 {
		t.Fatalf("read back %d ones, want %d", sum, n/4096)
	}
	if grew := int64(during) - int64(before); grew > 8<<20 {
		t.Fatalf("the Go heap grew by %d bytes with a 64 MiB buffer from Make: it is on the heap", grew)
	}
	heapBuf := make([]uint8, n)
	heapBuf[n-1] = 1
	if grew := int64(heap()) - int64(before); grew < n/2 {
		t.Fatalf("control: make() of 64 MiB grew the heap by only %d bytes (the test cannot tell)", grew)
	}
	runtime.KeepAlive(heapBuf)
}
