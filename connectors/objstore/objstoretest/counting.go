package objstoretest

import (
	"context"
	"io"
	"strings"
	"sync"

	"github.com/medflow/medflow/connectors/objstore"
)

// Counting wraps a Store and counts the bytes read through Get, per key,
// so that tests can check what a piece of code reads.
type Counting struct {
	objstore.Store
	mu   sync.Mutex
	read map[string]int64
}

// NewCounting returns s counting the bytes read from it.
func NewCounting(s objstore.Store) *Counting {
	return &Counting{Store: s, read: map[string]int64{}}
}

// Get opens key and counts what is read from it.
func (c *Counting) Get(ctx context.Context, key string, r objstore.Range) (io.ReadCloser, error) {
	rc, err := c.Store.Get(ctx, key, r)
	if err != nil {
		return nil, err
	}
	return &countingReader{ReadCloser: rc, c: c, key: key}, nil
}

// Read returns the bytes read so far from the keys that start with
// prefix, and resets their counts.
func (c *Counting) Read(prefix string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for k, v := range c.read {
		if strings.HasPrefix(k, prefix) {
			n += v
			delete(c.read, k)
		}
	}
	return n
}

type countingReader struct {
	io.ReadCloser
	c   *Counting
	key string
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.c.mu.Lock()
	r.c.read[r.key] += int64(n)
	r.c.mu.Unlock()
	return n, err
}
