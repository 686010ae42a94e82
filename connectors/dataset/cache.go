package dataset

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"

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

// OpenParts starts fp's output part by part (part k = output of input batch
// k), resuming from the parts an unfinished run left unless fresh.
func (c *Cache) OpenParts(ctx context.Context, fp string, schema *arrow.Schema, fresh bool) (interface {
	Has(k int) bool
	Replay(ctx context.Context, k int, emit func(arrow.RecordBatch) error) error
	Put(k int, batches []arrow.RecordBatch) error
	Commit(n int) error
}, error) {
	p := &partWriter{c: c, ctx: ctx, prefix: c.key(fp), schema: schema, existing: map[int]bool{}, parts: map[int]Part{}}
	objs, err := c.store.List(ctx, p.prefix+"/")
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		name := path.Base(o.Key)
		var k int
		if _, err := fmt.Sscanf(name, "batch-%d.arrow", &k); err != nil || name != batchPartName(k) {
			if fresh || name == ManifestName {
				if err := c.store.Delete(ctx, o.Key); err != nil {
					return nil, err
				}
			}
			continue
		}
		if fresh {
			if err := c.store.Delete(ctx, o.Key); err != nil {
				return nil, err
			}
			continue
		}
		p.existing[k] = true
	}
	return p, nil
}

type partWriter struct {
	c        *Cache
	ctx      context.Context
	prefix   string
	schema   *arrow.Schema
	mu       sync.Mutex
	existing map[int]bool // committed by an earlier run
	parts    map[int]Part // known to this run (replayed or put)
}

// batchPartName names the part holding the output of input batch k; it
// differs from PartName so that parts of the two writing modes never mix.
func batchPartName(k int) string { return fmt.Sprintf("batch-%06d.arrow", k) }

func (p *partWriter) key(k int) string { return path.Join(p.prefix, batchPartName(k)) }

func (p *partWriter) Has(k int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.existing[k]
}

func (p *partWriter) record(k int, rows, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parts[k] = Part{Key: batchPartName(k), Rows: rows, Size: size}
}

func (p *partWriter) Replay(ctx context.Context, k int, emit func(arrow.RecordBatch) error) error {
	r, err := formats.NewReader(ctx, p.c.store, p.key(k), formats.IPC, p.c.mem, formats.ReaderOptions{})
	if err != nil {
		return err
	}
	defer r.Release()
	var rows int64
	for r.Next() {
		b := r.RecordBatch()
		rows += b.NumRows()
		b.Retain()
		if err := emit(b); err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	info, err := p.c.store.Stat(ctx, p.key(k))
	if err != nil {
		return err
	}
	p.record(k, rows, info.Size)
	return nil
}

func (p *partWriter) Put(k int, batches []arrow.RecordBatch) error {
	w, err := formats.NewWriter(p.ctx, p.c.store, p.key(k), formats.IPC, p.schema, p.c.mem,
		formats.WriterOptions{Compression: formats.LZ4})
	if err != nil {
		return err
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			w.Abort()
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	p.record(k, w.Rows(), w.Size())
	return nil
}

func (p *partWriter) Commit(n int) error {
	schema, err := EncodeSchema(p.schema)
	if err != nil {
		return err
	}
	fp, err := Fingerprint(p.schema)
	if err != nil {
		return err
	}
	m := &Manifest{Version: ManifestVersion, Format: formats.IPC, SchemaFingerprint: fp, Schema: schema}
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range n {
		part, ok := p.parts[k]
		if !ok {
			return fmt.Errorf("dataset %s/%s: part %d was neither written nor replayed", p.c.store, p.prefix, k)
		}
		m.Parts = append(m.Parts, part)
	}
	return putManifest(p.ctx, p.c.store, p.prefix, m)
}
