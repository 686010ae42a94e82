package offheap

import "unsafe"

// Elem is an element type without pointers.
type Elem interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~uint64 | ~int64 | ~float32 | ~float64
}

// Make returns a zeroed slice of n elements outside the Go heap and the
// function that frees it (safe to call twice). n == 0 gives an empty,
// non-nil slice. Where the system refuses the mapping, the slice comes
// from the Go heap instead (free then does nothing): Make never fails.
func Make[T Elem](n int) ([]T, func()) {
	var zero T
	size := n * int(unsafe.Sizeof(zero))
	if size == 0 {
		return []T{}, func() {}
	}
	mem, free, ok := mapAnon(size)
	if !ok {
		return make([]T, n), func() {}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n), free
}
