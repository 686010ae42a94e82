package dataset

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/objstore"
)

// WriterOptions tunes a Writer. The zero value writes zstd Parquet parts
// of up to DefaultMaxRowsPerPart rows.
type WriterOptions struct {
	Format         formats.Format        // formats.Parquet (default), formats.IPC or formats.CSV
	MaxRowsPerPart int64                 // start a new part once a part has this many rows
	Overwrite      bool                  // allow replacing a committed dataset
	Producer       string                // recorded in the manifest (Manifest.Producer)
	Part           formats.WriterOptions // compression, temp folder
}

// DefaultMaxRowsPerPart is used when WriterOptions.MaxRowsPerPart is 0.
const DefaultMaxRowsPerPart = 1 << 20

// Writer writes a dataset. It is not safe for concurrent use.
type Writer struct {
	ctx    context.Context
	store  objstore.Store
	prefix string
	schema *arrow.Schema
	mem    memory.Allocator
	opts   WriterOptions
	cur    *formats.Writer
	parts  []Part
	gen    string // set when overwriting: part names of this generation
	lease  *Lease // held from NewWriter to Commit or Abort
	done   bool
}

// NewWriter starts a dataset under prefix ("" = store root).
func NewWriter(ctx context.Context, store objstore.Store, prefix string, schema *arrow.Schema, mem memory.Allocator, opts WriterOptions) (*Writer, error) {
	if opts.Format == "" {
		opts.Format = formats.Parquet
	}
	if !opts.Format.Valid() {
		return nil, fmt.Errorf("dataset %s/%s: part format must be parquet, arrow or csv, not %q", store, prefix, opts.Format)
	}
	if opts.MaxRowsPerPart <= 0 {
		opts.MaxRowsPerPart = DefaultMaxRowsPerPart
	}
	lease, err := AcquireLease(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	removeStale(ctx, store, prefix)
	mkey := join(prefix, ManifestName)
	w := &Writer{ctx: ctx, store: store, prefix: prefix, schema: schema, mem: mem, opts: opts, lease: lease}
	switch _, err := store.Stat(ctx, mkey); {
	case err == nil && !opts.Overwrite:
		lease.Release()
		return nil, objstore.Errorf("create dataset", store, mkey, fmt.Errorf("%w (set Overwrite to replace it)", ErrExists))
	case err == nil:
		// The committed dataset stays readable until Commit switches the
		// manifest: the new parts get names of their own.
		w.gen = newGeneration()
	case !errors.Is(err, objstore.ErrNotFound):
		lease.Release()
		return nil, err
	}
	return w, nil
}

// removeStale deletes the temporary objects that writers killed mid-write
// left under prefix, where the store stages writes next to their targets
// (best effort: they are invisible to readers).
func removeStale(ctx context.Context, store objstore.Store, prefix string) {
	if r, ok := store.(objstore.StaleRemover); ok {
		_, _ = r.RemoveStale(ctx, prefix)
	}
}

// newGeneration returns a token that sets the part names of an overwrite
// apart from those of the dataset it replaces.
func newGeneration() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}

// partName names part i of the generation being written.
func (w *Writer) partName(i int) string {
	if w.gen == "" {
		return PartName(i, w.opts.Format)
	}
	return fmt.Sprintf("part-%s-%05d%s", w.gen, i, w.opts.Format.Ext())
}

// Write appends a batch, starting a new part when the current one is full.
// A batch is never split across parts.
func (w *Writer) Write(rec arrow.RecordBatch) error {
	if w.done {
		return fmt.Errorf("dataset %s/%s: writer already committed or aborted", w.store, w.prefix)
	}
	if w.cur == nil {
		key := join(w.prefix, w.partName(len(w.parts)))
		cur, err := formats.NewWriter(w.ctx, w.store, key, w.opts.Format, w.schema, w.mem, w.opts.Part)
		if err != nil {
			return err
		}
		w.cur = cur
	}
	if err := w.cur.Write(rec); err != nil {
		return err
	}
	if w.cur.Rows() >= w.opts.MaxRowsPerPart {
		return w.FlushPart()
	}
	return nil
}

// FlushPart closes the current part (if any), making it a complete object.
func (w *Writer) FlushPart() error {
	if w.cur == nil {
		return nil
	}
	cur := w.cur
	w.cur = nil
	if err := cur.Close(); err != nil {
		return err
	}
	w.parts = append(w.parts, Part{Key: w.partName(len(w.parts)), Rows: cur.Rows(), Size: cur.Size(), Checksum: cur.Checksum()})
	return nil
}

// Commit flushes the last part and puts the manifest, which switches
// readers from the dataset committed before (if any) to this one in one
// atomic step; then the parts no longer referenced are deleted (best
// effort: a failure leaves unreferenced parts, which are never read and
// go at the next commit). The dataset is visible to Open only once the
// manifest is put.
func (w *Writer) Commit() (*Manifest, error) {
	if w.done {
		return nil, fmt.Errorf("dataset %s/%s: writer already committed or aborted", w.store, w.prefix)
	}
	if err := w.FlushPart(); err != nil {
		return nil, err
	}
	w.done = true
	defer w.lease.Release()
	if err := w.lease.Check(w.ctx); err != nil {
		return nil, err
	}
	schema, err := EncodeSchema(w.schema)
	if err != nil {
		return nil, err
	}
	fp, err := Fingerprint(w.schema)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Version: ManifestVersion, Format: w.opts.Format, SchemaFingerprint: fp, Schema: schema,
		Parts: append([]Part{}, w.parts...), Producer: w.opts.Producer}
	return m, commit(w.ctx, w.store, w.prefix, m)
}

// commit puts m under prefix (the commit point), then deletes the parts
// directly under prefix that m does not reference: those of the dataset
// it replaced and those of writers that crashed before committing.
// Objects in subfolders (shards) are left alone.
func commit(ctx context.Context, store objstore.Store, prefix string, m *Manifest) error {
	if err := putManifest(ctx, store, prefix, m); err != nil {
		return err
	}
	dir := ""
	if prefix != "" {
		dir = prefix + "/"
	}
	objs, err := store.List(ctx, dir)
	if err != nil {
		return nil // committed; leftovers go next time
	}
	keep := map[string]bool{}
	for _, p := range m.Parts {
		keep[p.Key] = true
	}
	for _, o := range objs {
		name := strings.TrimPrefix(o.Key, dir)
		if !strings.Contains(name, "/") && IsPartName(name) && !keep[name] {
			_ = store.Delete(context.WithoutCancel(ctx), o.Key)
		}
	}
	return nil
}

// IsPartName reports whether base is the name of a part written by a
// Writer (of any generation).
func IsPartName(base string) bool { return strings.HasPrefix(base, "part-") }

// putManifest stamps, totals and puts m under prefix: the commit point.
func putManifest(ctx context.Context, store objstore.Store, prefix string, m *Manifest) error {
	m.Created = time.Now().UTC()
	m.Rows = 0
	for _, p := range m.Parts {
		m.Rows += p.Rows
	}
	m.Checksum = ""
	m.Checksum = m.sum()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return store.Put(ctx, join(prefix, ManifestName), bytes.NewReader(b), int64(len(b)))
}

// Merge commits, under prefix, a dataset made of the committed datasets
// under each of parts (prefixes below prefix, e.g. "_shards/0-of-3"), in
// order, without copying data. They must all be committed and share the
// schema and format; the merged manifest is put last.
func Merge(ctx context.Context, store objstore.Store, prefix string, parts []string) (*Manifest, error) {
	lease, err := AcquireLease(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	var m *Manifest
	for _, sub := range parts {
		d, err := Open(ctx, store, join(prefix, sub))
		if err != nil {
			return nil, fmt.Errorf("merge %s/%s: %w", store, prefix, err)
		}
		dm := d.Manifest()
		if m == nil {
			m = &Manifest{Version: ManifestVersion, Format: dm.Format, SchemaFingerprint: dm.SchemaFingerprint, Schema: dm.Schema}
		} else if dm.SchemaFingerprint != m.SchemaFingerprint || dm.Format != m.Format {
			return nil, fmt.Errorf("merge %s/%s: %s has another schema or format than %s", store, prefix, sub, parts[0])
		}
		for _, p := range dm.Parts {
			p.Key = path.Join(sub, p.Key)
			m.Parts = append(m.Parts, p)
		}
	}
	if m == nil {
		return nil, fmt.Errorf("merge %s/%s: nothing to merge", store, prefix)
	}
	return m, commit(ctx, store, prefix, m)
}

// Abort discards the part in progress and deletes the parts written so
// far (best effort); nothing is committed.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.lease.Release()
	var errs []error
	if w.cur != nil {
		errs = append(errs, w.cur.Abort())
		w.cur = nil
	}
	for _, p := range w.parts {
		errs = append(errs, w.store.Delete(context.WithoutCancel(w.ctx), join(w.prefix, p.Key)))
	}
	return errors.Join(errs...)
}
