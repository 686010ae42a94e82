package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/objstore"
)

// Dataset is a committed dataset opened for reading. It is immutable and
// safe for concurrent use; each Reader is one pass over it.
type Dataset struct {
	store    objstore.Store
	prefix   string
	manifest Manifest
	schema   *arrow.Schema
}

// Open reads the manifest under prefix. Without one it fails with an error
// wrapping ErrNotCommitted.
func Open(ctx context.Context, store objstore.Store, prefix string) (*Dataset, error) {
	mkey := join(prefix, ManifestName)
	b, err := objstore.ReadAll(ctx, store, mkey)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, objstore.Errorf("open dataset", store, mkey, ErrNotCommitted)
	}
	if err != nil {
		return nil, err
	}
	d := &Dataset{store: store, prefix: prefix}
	if err := json.Unmarshal(b, &d.manifest); err != nil {
		return nil, objstore.Errorf("open dataset", store, mkey, fmt.Errorf("bad manifest: %w", err))
	}
	if v := d.manifest.Version; v != ManifestVersion && v != 1 {
		return nil, objstore.Errorf("open dataset", store, mkey, fmt.Errorf("manifest version %d not supported (want %d)", v, ManifestVersion))
	}
	if got := d.manifest.sum(); d.manifest.Version >= 2 && got != d.manifest.Checksum {
		return nil, objstore.Errorf("open dataset", store, mkey, fmt.Errorf("%w: manifest content %s, its checksum says %s", ErrCorrupt, got, d.manifest.Checksum))
	}
	for _, p := range d.manifest.Parts {
		if d.manifest.Version >= 2 && p.Checksum == "" {
			return nil, objstore.Errorf("open dataset", store, mkey, fmt.Errorf("bad manifest: part %s has no checksum", p.Key))
		}
		if err := objstore.ValidateKey(join(prefix, p.Key)); err != nil {
			return nil, objstore.Errorf("open dataset", store, mkey, fmt.Errorf("bad manifest: %w", err))
		}
	}
	if d.schema, err = DecodeSchema(d.manifest.Schema); err != nil {
		return nil, objstore.Errorf("open dataset", store, mkey, fmt.Errorf("manifest schema: %w", err))
	}
	return d, nil
}

// Manifest returns the committed manifest.
func (d *Dataset) Manifest() Manifest { return d.manifest }

// Schema returns the dataset schema.
func (d *Dataset) Schema() *arrow.Schema { return d.schema }

// NumRows returns the committed row count.
func (d *Dataset) NumRows() int64 { return d.manifest.Rows }

// Bytes returns the committed size of all parts together.
func (d *Dataset) Bytes() int64 {
	var n int64
	for _, p := range d.manifest.Parts {
		n += p.Size
	}
	return n
}

// NewReader starts one pass over the parts, in manifest order. Call it
// again for another epoch.
func (d *Dataset) NewReader(ctx context.Context, mem memory.Allocator, opts formats.ReaderOptions) *Reader {
	r := &Reader{ctx: ctx, d: d, mem: mem, opts: opts}
	r.refs.Store(1)
	return r
}

// Reader iterates the batches of every part. It implements
// array.RecordReader; a batch is valid until the next Next.
type Reader struct {
	ctx  context.Context
	d    *Dataset
	mem  memory.Allocator
	opts formats.ReaderOptions
	next int // index of the next part to open
	cur  *formats.Reader
	err  error
	refs atomic.Int64
	// checked, when set, holds the parts already read back intact (a
	// cache entry's): they are not verified again, and the parts this
	// reader verifies join it.
	checked *partSet
}

// partSet is a set of parts (by key and checksum) read back intact. It
// is safe for concurrent use; the nil set is empty and stays so.
type partSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func partID(p Part) string { return p.Key + "@" + p.Checksum }

func (s *partSet) has(p Part) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[partID(p)]
}

func (s *partSet) add(p Part) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[partID(p)] = true
}

var _ array.RecordReader = (*Reader)(nil)

// Schema returns the dataset schema.
func (r *Reader) Schema() *arrow.Schema { return r.d.schema }

// Next advances to the next batch, crossing part boundaries.
func (r *Reader) Next() bool {
	for r.err == nil {
		if r.cur != nil {
			if r.cur.Next() {
				return true
			}
			r.err = r.cur.Err()
			r.closeCur()
			continue
		}
		if r.next >= len(r.d.manifest.Parts) {
			return false
		}
		r.err = r.openPart(r.d.manifest.Parts[r.next])
		r.next++
	}
	return false
}

// Verify reads every part and checks it against its committed size and
// checksum; the error names the first part that differs and wraps
// ErrCorrupt.
func (d *Dataset) Verify(ctx context.Context) error { return d.verifyParts(ctx, nil) }

// verifyParts checks every part checked does not hold yet (nil: every
// part), in manifest order; see checkPart.
func (d *Dataset) verifyParts(ctx context.Context, checked *partSet) error {
	for _, p := range d.manifest.Parts {
		if err := d.checkPart(ctx, p, checked); err != nil {
			return err
		}
	}
	return nil
}

// checkPart checks p against its committed size and checksum unless
// checked holds it, and adds it to checked once read back intact.
func (d *Dataset) checkPart(ctx context.Context, p Part, checked *partSet) error {
	if checked.has(p) {
		return nil
	}
	if err := d.verifyPart(ctx, p); err != nil {
		return err
	}
	checked.add(p)
	return nil
}

// CheckSizes stats every part and checks its committed size (a cheap
// check, without reading: Verify reads every byte); the error names the
// first part missing (ErrNotFound) or of another size (ErrCorrupt).
func (d *Dataset) CheckSizes(ctx context.Context) error {
	for _, p := range d.manifest.Parts {
		if err := d.checkSize(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dataset) checkSize(ctx context.Context, p Part) error {
	key := join(d.prefix, p.Key)
	info, err := d.store.Stat(ctx, key)
	if err != nil {
		return err
	}
	return objstore.Check(d.store, key, info.Size, "", p.Size, "")
}

func (d *Dataset) verifyPart(ctx context.Context, p Part) error {
	key := join(d.prefix, p.Key)
	if p.Checksum == "" { // version 1: sizes only
		return d.checkSize(ctx, p)
	}
	return objstore.Verify(ctx, d.store, key, p.Size, p.Checksum)
}

func (r *Reader) openPart(p Part) (err error) {
	if err := r.d.checkPart(r.ctx, p, r.checked); err != nil {
		return err
	}
	r.cur, err = r.d.openPart(r.ctx, p, r.mem, r.opts)
	return err
}

// NumParts returns the number of committed parts.
func (d *Dataset) NumParts() int { return len(d.manifest.Parts) }

// OpenPart checks part i against its committed checksum, then opens it
// (for callers that read parts selectively, such as a shard of a source).
func (d *Dataset) OpenPart(ctx context.Context, i int, mem memory.Allocator, opts formats.ReaderOptions) (*formats.Reader, error) {
	p := d.manifest.Parts[i]
	if err := d.checkPart(ctx, p, nil); err != nil {
		return nil, err
	}
	return d.openPart(ctx, p, mem, opts)
}

// openPart opens p (checked by the caller: checkPart).
func (d *Dataset) openPart(ctx context.Context, p Part, mem memory.Allocator, opts formats.ReaderOptions) (*formats.Reader, error) {
	key := join(d.prefix, p.Key)
	opts.Size = p.Size
	if d.manifest.Format == formats.CSV {
		opts.Schema = d.schema // CSV carries no types: read with the committed schema
	}
	cur, err := formats.NewReader(ctx, d.store, key, d.manifest.Format, mem, opts)
	if err != nil {
		return nil, err
	}
	if !cur.Schema().Equal(d.schema) {
		cur.Release()
		return nil, objstore.Errorf("read dataset", d.store, key, fmt.Errorf("part schema %s differs from manifest schema %s", cur.Schema(), d.schema))
	}
	return cur, nil
}

func (r *Reader) closeCur() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

// RecordBatch returns the current batch.
func (r *Reader) RecordBatch() arrow.RecordBatch {
	if r.cur == nil {
		return nil
	}
	return r.cur.RecordBatch()
}

// Record returns the current batch.
//
// Deprecated: use RecordBatch (kept for array.RecordReader).
func (r *Reader) Record() arrow.RecordBatch { return r.RecordBatch() }

// Err returns the first error, naming the part.
func (r *Reader) Err() error { return r.err }

// Retain adds a reference.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one closes the open part.
func (r *Reader) Release() {
	if r.refs.Add(-1) == 0 {
		r.closeCur()
	}
}
