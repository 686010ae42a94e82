//go:build !unix

package offheap

// mapAnon is not available here: Make falls back to the Go heap.
func mapAnon(int) ([]byte, func(), bool) { return nil, nil, false }
