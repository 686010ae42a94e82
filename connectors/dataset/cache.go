package dataset

import (
	"context"
	"errors"
	"path"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/objstore"
)

// Cache keeps materialized stage outputs as committed datasets under
// prefix/<fingerprint>/ (Arrow IPC parts, LZ4): it satisfies
// pipeline.Cache. A crashed run leaves only uncommitted parts, which are
// never read and are overwritten by the next run of the same stage.
type Cache struct {
	store  objstore.Store
	prefix string
	mem    memory.Allocator
}

// NewCache returns a cache in store under prefix.
func NewCache(store objstore.Store, prefix string, mem memory.Allocator) *Cache {
	return &Cache{store: store, prefix: prefix, mem: mem}
}

func (c *Cache) key(fp string) string { return path.Join(c.prefix, fp) }

// Has reports whether fp's output is committed.
func (c *Cache) Has(ctx context.Context, fp string) (bool, error) {
	_, err := c.store.Stat(ctx, path.Join(c.key(fp), ManifestName))
	if errors.Is(err, objstore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Read emits fp's committed output in order; emit owns each batch.
func (c *Cache) Read(ctx context.Context, fp string, emit func(arrow.RecordBatch) error) error {
	d, err := Open(ctx, c.store, c.key(fp))
	if err != nil {
		return err
	}
	r := d.NewReader(ctx, c.mem, formats.ReaderOptions{})
	defer r.Release()
	for r.Next() {
		b := r.RecordBatch()
		b.Retain()
		if err := emit(b); err != nil {
			return err
		}
	}
	return r.Err()
}

// Create starts fp's output, replacing any uncommitted leftovers.
func (c *Cache) Create(ctx context.Context, fp string, schema *arrow.Schema) (interface {
	Write(arrow.RecordBatch) error
	Commit() error
	Abort()
}, error) {
	w, err := NewWriter(ctx, c.store, c.key(fp), schema, c.mem, WriterOptions{
		Format: formats.IPC, Overwrite: true, Part: formats.WriterOptions{Compression: formats.LZ4}})
	if err != nil {
		return nil, err
	}
	return cacheWriter{w}, nil
}

type cacheWriter struct{ w *Writer }

func (c cacheWriter) Write(b arrow.RecordBatch) error { return c.w.Write(b) }
func (c cacheWriter) Commit() error                   { _, err := c.w.Commit(); return err }
func (c cacheWriter) Abort()                          { c.w.Abort() }
