package dataset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/objstore"
)

// cacheCompression compresses cached parts. ZSTD, not LZ4: on the demo's
// pairs part (BenchmarkCacheCodecFile) ZSTD stores 1.52 MiB where LZ4
// stores 2.64 (raw 4.70), at about twice LZ4's write+read time (~60 vs
// ~30 ms for the part on 2 loaded cores), which is small next to the
// stages that produce cached outputs, while a cache of 224 px images at
// MIMIC scale on S3 is paid for in bytes stored and moved.
const cacheCompression = formats.Zstd

// Cache keeps materialized stage outputs as committed datasets under
// prefix/<fingerprint>/ (Arrow IPC parts, ZSTD): it satisfies
// pipeline.Cache and pipeline.CacheVerifier. A crashed run leaves only
// uncommitted parts, which are never read and are overwritten by the next
// run of the same stage.
//
// Checks are split by cost. Has reads the manifest and stats every part
// (a missing part or one of another size makes the entry damaged);
// Verify reads an entry's parts back against their checksums, when the
// entry is small enough; Read checks each part it reads that was not
// checked before in this process. A damaged entry found by Has or Verify
// is logged as a warning naming the part, dropped and reported absent, so
// that the stage is recomputed; one found by Read fails the read, naming
// the part and wrapping ErrCorrupt, and is dropped too (the next run
// recomputes it). No part is read back twice by one Cache.
type Cache struct {
	store   objstore.Store
	prefix  string
	mem     memory.Allocator
	log     *slog.Logger
	mu      sync.Mutex
	checked map[string]*partSet // per fingerprint: parts read back intact
}

// NewCache returns a cache in store under prefix. It logs to
// slog.Default until WithLogger.
func NewCache(store objstore.Store, prefix string, mem memory.Allocator) *Cache {
	return &Cache{store: store, prefix: prefix, mem: mem, log: slog.Default(), checked: map[string]*partSet{}}
}

// WithLogger sets where corrupt entries are reported, and returns c.
func (c *Cache) WithLogger(l *slog.Logger) *Cache {
	c.log = l
	return c
}

func (c *Cache) key(fp string) string { return path.Join(c.prefix, fp) }

// parts returns the set of fp's parts read back intact.
func (c *Cache) parts(fp string) *partSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.checked[fp]
	if s == nil {
		s = &partSet{m: map[string]bool{}}
		c.checked[fp] = s
	}
	return s
}

// Has reports whether fp's output is committed with every part present
// at its committed size: it reads the manifest and stats each part, and
// reads no part (Verify and Read check the checksums). A damaged entry
// (missing or resized part, damaged manifest, or one written before parts
// had checksums) is dropped and reported absent.
func (c *Cache) Has(ctx context.Context, fp string) (bool, error) {
	d, err := Open(ctx, c.store, c.key(fp))
	switch {
	case errors.Is(err, ErrNotCommitted):
		return false, nil
	case err == nil && d.manifest.Version < 2:
		err = objstore.Errorf("verify", c.store, path.Join(c.key(fp), ManifestName), fmt.Errorf("%w: written before parts had checksums", ErrCorrupt))
	case err == nil:
		err = d.CheckSizes(ctx)
	}
	return c.intact(ctx, fp, err)
}

// Verify reads fp's committed output back and checks every part against
// its checksum, if the entry holds at most maxBytes (maxBytes < 0: never);
// parts already checked in this process are not read again. A damaged
// entry is dropped (logged) and reported false. An entry larger than
// maxBytes is reported true unread: Read checks its parts as it reads
// them. Call it after Has reported the entry present.
func (c *Cache) Verify(ctx context.Context, fp string, maxBytes int64) (bool, error) {
	if maxBytes < 0 {
		return true, nil
	}
	d, err := Open(ctx, c.store, c.key(fp))
	if err == nil {
		if d.Bytes() > maxBytes {
			return true, nil
		}
		err = d.verifyParts(ctx, c.parts(fp))
	}
	return c.intact(ctx, fp, err)
}

// intact turns the outcome of a check of fp into Has's answer: a damaged
// entry is logged and dropped.
func (c *Cache) intact(ctx context.Context, fp string, err error) (bool, error) {
	if err == nil {
		return true, nil
	}
	var oe *objstore.Error
	damaged := errors.Is(err, ErrCorrupt) || errors.Is(err, objstore.ErrNotFound) || errors.As(err, &oe) && oe.Op == "open dataset"
	if ctx.Err() != nil || !damaged {
		return false, err
	}
	c.log.Warn("cached output is damaged: dropping it, the stage will be recomputed", "fingerprint", fp, "err", err)
	return false, c.drop(ctx, fp)
}

// drop uncommits fp's entry (manifest first), then deletes its objects.
func (c *Cache) drop(ctx context.Context, fp string) error {
	c.mu.Lock()
	delete(c.checked, fp)
	c.mu.Unlock()
	if err := c.store.Delete(ctx, path.Join(c.key(fp), ManifestName)); err != nil {
		return err
	}
	objs, err := c.store.List(ctx, c.key(fp)+"/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := c.store.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}

// Rows returns the number of rows of fp's committed output, from its
// manifest (nothing else is read).
func (c *Cache) Rows(ctx context.Context, fp string) (int64, error) {
	d, err := Open(ctx, c.store, c.key(fp))
	if err != nil {
		return 0, err
	}
	return d.manifest.Rows, nil
}

// Read emits fp's committed output in order; emit owns each batch. Each
// part not yet read back intact by this Cache (Verify, an earlier Read) is
// checked against its checksum before it is decoded. A part that differs
// or is missing fails the read with an error naming it (wrapping
// ErrCorrupt or objstore.ErrNotFound), and the entry is dropped, manifest
// first, so that the next run recomputes it.
func (c *Cache) Read(ctx context.Context, fp string, emit func(arrow.RecordBatch) error) error {
	d, err := Open(ctx, c.store, c.key(fp))
	if err != nil {
		return err
	}
	r := d.NewReader(ctx, c.mem, formats.ReaderOptions{})
	defer r.Release()
	r.checked = c.parts(fp)
	for r.Next() {
		b := r.RecordBatch()
		b.Retain()
		if err := emit(b); err != nil {
			return err
		}
	}
	err = r.Err()
	if err == nil || ctx.Err() != nil || !errors.Is(err, ErrCorrupt) && !errors.Is(err, objstore.ErrNotFound) {
		return err
	}
	c.log.Error("cached output is damaged: dropping it; this run fails, the next one recomputes the stage", "fingerprint", fp, "err", err)
	if derr := c.drop(ctx, fp); derr != nil {
		return fmt.Errorf("%w (dropping the damaged entry failed too: %v)", err, derr)
	}
	return fmt.Errorf("%w (entry dropped: the next run recomputes it)", err)
}

// Create starts fp's output, replacing any uncommitted leftovers.
func (c *Cache) Create(ctx context.Context, fp string, schema *arrow.Schema) (interface {
	Write(arrow.RecordBatch) error
	Commit() error
	Abort()
}, error) {
	w, err := NewWriter(ctx, c.store, c.key(fp), schema, c.mem, WriterOptions{
		Format: formats.IPC, Overwrite: true, Part: formats.WriterOptions{Compression: cacheCompression}})
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
// k), resuming from the parts an unfinished run left unless fresh. Each
// part's name carries its checksum; Has(k) reads part k back and checks
// it, and a part that differs is logged, deleted and reported absent (it
// is recomputed).
func (c *Cache) OpenParts(ctx context.Context, fp string, schema *arrow.Schema, fresh bool) (interface {
	Has(k int) bool
	Replay(ctx context.Context, k int, emit func(arrow.RecordBatch) error) error
	Put(k int, batches []arrow.RecordBatch) error
	Commit(n int) error
}, error) {
	var err error
	p := &partWriter{c: c, ctx: ctx, prefix: c.key(fp), schema: schema, existing: map[int]Part{}, parts: map[int]Part{}}
	// Held until Commit, or until ctx (the run) ends.
	if p.lease, err = AcquireLease(ctx, c.store, p.prefix); err != nil {
		return nil, err
	}
	removeStale(ctx, c.store, p.prefix)
	objs, err := c.store.List(ctx, p.prefix+"/")
	if err != nil {
		p.lease.Release()
		return nil, err
	}
	for _, o := range objs {
		name := path.Base(o.Key)
		if name == LeaseName {
			continue
		}
		k, sum, ok := parseBatchPartName(name)
		if !ok || fresh || name == ManifestName {
			if fresh || name == ManifestName || !ok && strings.HasPrefix(name, "batch-") {
				if err := c.store.Delete(ctx, o.Key); err != nil {
					p.lease.Release()
					return nil, err
				}
			}
			continue
		}
		if old, dup := p.existing[k]; dup { // a crash between two writes of part k
			if err := c.store.Delete(ctx, path.Join(p.prefix, old.Key)); err != nil {
				p.lease.Release()
				return nil, err
			}
		}
		p.existing[k] = Part{Key: name, Size: o.Size, Checksum: sum}
	}
	return p, nil
}

type partWriter struct {
	c        *Cache
	ctx      context.Context
	prefix   string
	schema   *arrow.Schema
	mu       sync.Mutex
	lease    *Lease
	existing map[int]Part // committed by an earlier run (Rows unknown)
	checked  map[int]bool // existing parts Has has read back intact
	parts    map[int]Part // known to this run (replayed or put)
}

// batchPartName names the part holding the output of input batch k with
// the given checksum; it differs from PartName so that parts of the two
// writing modes never mix.
func batchPartName(k int, checksum string) string {
	return fmt.Sprintf("batch-%06d-%s.arrow", k, strings.TrimPrefix(checksum, "xxh3:"))
}

// parseBatchPartName is the inverse of batchPartName.
func parseBatchPartName(name string) (k int, checksum string, ok bool) {
	var hex string
	if _, err := fmt.Sscanf(name, "batch-%06d-%16s", &k, &hex); err != nil {
		return 0, "", false
	}
	checksum = "xxh3:" + hex
	return k, checksum, name == batchPartName(k, checksum)
}

func (p *partWriter) Has(k int) bool {
	p.mu.Lock()
	part, ok := p.existing[k]
	checked := p.checked[k]
	p.mu.Unlock()
	if !ok || checked {
		return ok
	}
	key := path.Join(p.prefix, part.Key)
	if err := objstore.Verify(p.ctx, p.c.store, key, part.Size, part.Checksum); err != nil {
		if p.ctx.Err() == nil {
			p.c.log.Warn("cached part is damaged: deleting it, it will be recomputed", "err", err)
			_ = p.c.store.Delete(p.ctx, key)
		}
		p.mu.Lock()
		delete(p.existing, k)
		p.mu.Unlock()
		return false
	}
	p.mu.Lock()
	if p.checked == nil {
		p.checked = map[int]bool{}
	}
	p.checked[k] = true
	p.mu.Unlock()
	return true
}

func (p *partWriter) record(k int, part Part) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.parts[k] = part
}

func (p *partWriter) Replay(ctx context.Context, k int, emit func(arrow.RecordBatch) error) error {
	p.mu.Lock()
	part, ok := p.existing[k]
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("dataset %s/%s: part %d was not committed by an earlier run", p.c.store, p.prefix, k)
	}
	r, err := formats.NewReader(ctx, p.c.store, path.Join(p.prefix, part.Key), formats.IPC, p.c.mem, formats.ReaderOptions{Size: part.Size})
	if err != nil {
		return err
	}
	defer r.Release()
	for r.Next() {
		b := r.RecordBatch()
		part.Rows += b.NumRows()
		b.Retain()
		if err := emit(b); err != nil {
			return err
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	p.record(k, part)
	return nil
}

func (p *partWriter) Put(k int, batches []arrow.RecordBatch) error {
	w, err := formats.NewWriter(p.ctx, p.c.store, path.Join(p.prefix, fmt.Sprintf("batch-%06d.arrow", k)), formats.IPC, p.schema, p.c.mem,
		formats.WriterOptions{Compression: cacheCompression})
	if err != nil {
		return err
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			w.Abort()
			return err
		}
	}
	name := func(sum string) string { return path.Join(p.prefix, batchPartName(k, sum)) }
	if err := w.CloseAs(name); err != nil {
		return err
	}
	p.record(k, Part{Key: path.Base(w.Key()), Rows: w.Rows(), Size: w.Size(), Checksum: w.Checksum()})
	return nil
}

// Release gives up the entry's lease (and stops renewing it) without
// committing: the parts stay for a rerun to resume from. The engine calls
// it when the stage ends, whatever happened; after Commit it does nothing.
func (p *partWriter) Release() { p.lease.Release() }

func (p *partWriter) Commit(n int) error {
	defer p.lease.Release()
	if err := p.lease.Check(p.ctx); err != nil {
		return err
	}
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
