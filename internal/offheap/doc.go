// Package offheap allocates large, long-lived numeric buffers outside the
// Go heap: anonymous private memory mappings (mmap) on Unix.
//
// Why: Go's collector lets the heap grow to live × (1 + GOGC/100) before
// it collects, so a buffer of B live bytes on the heap costs up to 2B of
// resident memory at the default GOGC. A mapping counts once: pages become
// resident as they are first written and leave when the mapping is freed,
// and the collector neither scans them nor paces itself by them. Training
// keeps its shuffle buffer (train.Config.ShuffleRows rows of images, up to
// hundreds of MiB at 224 px) here.
//
// Make returns the slice (length n) and a free function. The slice must not
// be used after free; nothing the caller keeps may point into it (copy what
// outlives it). Types hold no pointers (uint8, float32 and the like), so
// the collector has nothing to find there.
//
// Not implemented: Windows and other non-Unix systems get an ordinary Go
// slice (free does nothing); huge pages; a pool of mappings.
package offheap
