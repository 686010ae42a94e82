package files

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	"github.com/medflow/medflow/schemas"
	"github.com/medflow/medflow/stages/stagekit"
)

// formatOptions are the values of the format params.
var formatOptions = []pipeline.Option{
	{Value: string(formats.CSV), Doc: "comma-separated text with a header row"},
	{Value: string(formats.Parquet), Doc: "Apache Parquet"},
	{Value: string(formats.IPC), Doc: "Arrow IPC file"},
}

// Register adds files.read and files.write to r.
func Register(r *pipeline.Registry, d stagekit.Deps) error {
	if err := d.Check("files"); err != nil {
		return err
	}
	if err := r.Register(pipeline.Definition{
		Kind: "files.read", Role: pipeline.RoleSource, Version: "1",
		Doc: "read CSV/Parquet/Arrow files under a URI, in key order",
		Params: []pipeline.Param{
			{Name: "uri", Type: pipeline.String, Required: true, NonEmpty: true, Format: pipeline.FormatURI, Doc: "folder or s3://bucket/prefix"},
			{Name: "format", Type: pipeline.String, Default: "csv", Options: formatOptions, Doc: "file format"},
			{Name: "columns", Type: pipeline.List, Elem: pipeline.String, Required: true, NonEmpty: true,
				Doc: `schema as ["name:type", ...]`, Example: []any{"id:int64", "group:utf8", "value:float64"}},
			{Name: "pattern", Type: pipeline.String, Doc: "glob on the key relative to uri; default *.<format>"},
			{Name: "batch_rows", Type: pipeline.Int, Default: 65536, Range: "[1,)", Doc: "rows per emitted batch"},
			{Name: "on_error", Type: pipeline.String, Default: "fail", Doc: "what a file that cannot be read does",
				Options: []pipeline.Option{{Value: "fail", Doc: "fail the run naming the file"}, {Value: "quarantine", Doc: "set the file aside with the reason and go on"}}},
			{Name: "allow_uncommitted", Type: pipeline.Bool, Default: false, Doc: "read dataset parts (part-*) in a folder that has no _manifest.json"},
		},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newRead(b, d) },
	}); err != nil {
		return err
	}
	return r.Register(pipeline.Definition{
		Kind: "files.write", Role: pipeline.RoleSink, Version: "1",
		Doc: "write a dataset (parts + manifest committed last) under a URI",
		Params: []pipeline.Param{
			{Name: "uri", Type: pipeline.String, Required: true, NonEmpty: true, Format: pipeline.FormatURI, Doc: "folder or s3://bucket/prefix of the dataset"},
			{Name: "format", Type: pipeline.String, Default: "parquet", Options: formatOptions, Doc: "file format of the parts"},
			{Name: "rows_per_part", Type: pipeline.Int, Default: int(dataset.DefaultMaxRowsPerPart), Range: "[1,)", Doc: "most rows in one part file"},
			{Name: "overwrite", Type: pipeline.Bool, Default: true, Doc: "replace a committed dataset"},
		},
		New: func(b *pipeline.BuildContext) (pipeline.Stage, error) { return newWrite(b, d) },
	})
}

// Read is files.read.
type Read struct {
	store   *stagekit.Store // uri's
	uri     string
	format  formats.Format
	schema  *arrow.Schema
	pattern string
	batch   int64
	quar    bool
	uncomm  bool               // allow_uncommitted
	snap    *objstore.Snapshot // what InputFingerprint listed, checked again at read
	shard   pipeline.Shard
	alloc   memory.Allocator
	q       pipeline.Quarantine
}

func newRead(b *pipeline.BuildContext, d stagekit.Deps) (pipeline.Stage, error) {
	f := formats.Format(b.Params.String("format"))
	schema, err := schemas.ParseColumns(b.Params.Strings("columns"))
	if err != nil {
		return nil, pipeline.ParamErrorf("columns", "%v (like \"id:int64\")", err)
	}
	pat := b.Params.String("pattern")
	if pat == "" {
		pat = "*" + f.Ext()
	}
	if _, err := path.Match(pat, ""); err != nil {
		return nil, pipeline.ParamErrorf("pattern", "%q: %v", pat, err)
	}
	onErr := b.Params.String("on_error")
	return &Read{store: stagekit.NewStore(d.Open, b.Params.String("uri")), uri: b.Params.String("uri"), format: f, schema: schema, pattern: pat,
		batch: int64(b.Params.Int("batch_rows")), quar: onErr == "quarantine", uncomm: b.Params.Bool("allow_uncommitted"),
		shard: b.Shard, alloc: b.Alloc, q: b.Quarantine}, nil
}

func (r *Read) Schema() *arrow.Schema { return r.schema }

// ErrNotCommitted: the folder holds dataset parts but no manifest (a
// writer died, or is still writing); allow_uncommitted reads them anyway.
var ErrNotCommitted = dataset.ErrNotCommitted

// inputs returns what the stage reads under uri: the committed dataset
// when the folder holds a manifest (exactly its parts; pattern and format
// do not apply), else the objects matching pattern. Dataset parts without
// a manifest are refused unless allow_uncommitted.
func (r *Read) inputs(ctx context.Context) (objstore.Store, *dataset.Dataset, []objstore.ObjectInfo, error) {
	store, err := r.store.Get(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := dataset.Open(ctx, store, "")
	switch {
	case err == nil:
		return store, d, nil, nil
	case !errors.Is(err, dataset.ErrNotCommitted):
		return nil, nil, nil, err
	}
	objs, err := store.List(ctx, "")
	if err != nil {
		return nil, nil, nil, err
	}
	var matched []objstore.ObjectInfo
	for _, o := range objs {
		if ok, _ := path.Match(r.pattern, o.Key); !ok {
			continue
		}
		if !r.uncomm && dataset.IsPartName(path.Base(o.Key)) {
			return nil, nil, nil, fmt.Errorf("%s: %w: it holds dataset parts (%s) but no %s (a writer died or is still writing); set params.allow_uncommitted: true to read them anyway",
				store, ErrNotCommitted, o.Key, dataset.ManifestName)
		}
		matched = append(matched, o)
	}
	return store, nil, matched, nil
}

func (r *Read) Produce(ctx context.Context, out pipeline.Emitter) error {
	store, d, objs, err := r.inputs(ctx)
	if err != nil {
		return err
	}
	if d != nil {
		if err := r.snap.Check(ctx, store, dataset.ManifestName); err != nil {
			return err // another dataset was committed since the listing
		}
	}
	n := len(objs)
	if d != nil {
		n = d.NumParts()
	} else if n == 0 {
		return fmt.Errorf("no files matching %q under %s", r.pattern, store)
	}
	for i := range n {
		if !r.shard.Owns(i) {
			continue
		}
		var err error
		name := ""
		if d != nil {
			name = d.Manifest().Parts[i].Key
			err = r.readPart(ctx, store, d, i, out)
		} else {
			name = objs[i].Key
			err = r.readFile(ctx, store, objs[i], out)
		}
		if err == nil {
			// Read as listed when the run started (the stage fingerprint
			// covers that version), not rewritten meanwhile.
			err = r.snap.Check(ctx, store, name)
		}
		switch {
		case err == nil:
		// A committed part that changed after its commit, or an input
		// that changed during the run, fails the run.
		case r.quar && ctx.Err() == nil && !errors.Is(err, errEmit) && !errors.Is(err, dataset.ErrCorrupt) && !errors.Is(err, objstore.ErrChanged):
			if qerr := r.q.Add(ctx, store.String()+"/"+name, err.Error()); qerr != nil {
				return qerr
			}
		default:
			return err
		}
	}
	return nil
}

// InputFingerprint identifies the files the stage would read now (keys,
// sizes, ETags; for a committed dataset, its manifest and parts), so that
// changed files change the stage fingerprint.
func (r *Read) InputFingerprint(ctx context.Context) (string, error) {
	store, d, _, err := r.inputs(ctx)
	if err != nil {
		return "", err
	}
	keep := func(key string) bool {
		ok, _ := path.Match(r.pattern, key)
		return ok
	}
	if d != nil {
		keys := map[string]bool{dataset.ManifestName: true}
		for _, p := range d.Manifest().Parts {
			keys[p.Key] = true
		}
		keep = func(key string) bool { return keys[key] }
	}
	var fp string
	r.snap, fp, err = objstore.TakeSnapshot(ctx, store, "", keep)
	return fp, err
}

// readPart emits committed part i of d, checked against its checksum.
func (r *Read) readPart(ctx context.Context, store objstore.Store, d *dataset.Dataset, i int, out pipeline.Emitter) error {
	rd, err := d.OpenPart(ctx, i, r.alloc, formats.ReaderOptions{BatchSize: r.batch})
	if err != nil {
		return err
	}
	defer rd.Close()
	return r.emitAll(ctx, store, d.Manifest().Parts[i].Key, rd, out)
}

// errEmit marks failures downstream of the file (cancellation), which are
// never the file's fault.
var errEmit = errors.New("emit")

func (r *Read) readFile(ctx context.Context, store objstore.Store, o objstore.ObjectInfo, out pipeline.Emitter) error {
	opts := formats.ReaderOptions{BatchSize: r.batch, Size: o.Size}
	if r.format == formats.CSV {
		opts.Schema = r.schema
	}
	rd, err := formats.NewReader(ctx, store, o.Key, r.format, r.alloc, opts)
	if err != nil {
		return err
	}
	defer rd.Close()
	return r.emitAll(ctx, store, o.Key, rd, out)
}

// emitAll checks rd's schema against params.columns and emits its batches.
func (r *Read) emitAll(ctx context.Context, store objstore.Store, key string, rd *formats.Reader, out pipeline.Emitter) error {
	if !rd.Schema().Equal(r.schema) {
		return fmt.Errorf("%s/%s: %w: file has {%s}, params.columns declare {%s}", store, key,
			schemas.ErrMismatch, schemas.String(rd.Schema()), schemas.String(r.schema))
	}
	for rd.Next() {
		b := rd.RecordBatch()
		b.Retain()
		if err := out.Emit(ctx, b); err != nil {
			return fmt.Errorf("%w: %w", errEmit, err)
		}
	}
	return rd.Err()
}

// Write is files.write.
type Write struct {
	store  *stagekit.Store // uri's
	uri    string
	opts   dataset.WriterOptions
	schema *arrow.Schema
	alloc  memory.Allocator
	log    *slog.Logger
	shard  pipeline.Shard
	w      *dataset.Writer
}

// Committed reports whether the dataset committed at uri (or at this
// shard's place) was written for fingerprint fp.
func (w *Write) Committed(ctx context.Context, fp string) (bool, error) {
	store, err := w.store.Get(ctx)
	if err != nil {
		return false, err
	}
	d, err := dataset.Open(ctx, store, w.prefix())
	switch {
	case errors.Is(err, dataset.ErrNotCommitted) || errors.Is(err, objstore.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	if d.Manifest().Producer != "medflow/"+fp {
		return false, nil
	}
	// A part gone or resized since the commit: write the output again
	// rather than keep a broken one (sizes only: reading every byte on
	// each unchanged rerun would cost as much as a cold run's reads).
	if err := d.CheckSizes(ctx); errors.Is(err, dataset.ErrCorrupt) || errors.Is(err, objstore.ErrNotFound) {
		w.log.Warn("committed output is damaged: it will be written again", "uri", w.uri, "err", err)
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// SetFingerprint records fp in the manifest at commit.
func (w *Write) SetFingerprint(fp string) { w.opts.Producer = "medflow/" + fp }

func (w *Write) prefix() string {
	if w.shard.All() {
		return ""
	}
	return shardDir(w.shard.Index, w.shard.Count)
}

// shardDir is where shard i of n commits its part of the output.
func shardDir(i, n int) string { return fmt.Sprintf("_shards/%d-of-%d", i, n) }

func newWrite(b *pipeline.BuildContext, d stagekit.Deps) (pipeline.Stage, error) {
	f := formats.Format(b.Params.String("format"))
	return &Write{store: stagekit.NewStore(d.Open, b.Params.String("uri")), uri: b.Params.String("uri"), schema: b.Inputs[0], alloc: b.Alloc, log: b.Logger, shard: b.Shard,
		opts: dataset.WriterOptions{Format: f, MaxRowsPerPart: int64(b.Params.Int("rows_per_part")),
			Overwrite: b.Params.Bool("overwrite")}}, nil
}

func (w *Write) Schema() *arrow.Schema { return nil }

func (w *Write) open(ctx context.Context) error {
	if w.w != nil {
		return nil
	}
	store, err := w.store.Get(ctx)
	if err != nil {
		return err
	}
	w.w, err = dataset.NewWriter(ctx, store, w.prefix(), w.schema, w.alloc, w.opts)
	return err
}

// MergeShards commits the dataset made of the count shards' outputs.
func (w *Write) MergeShards(ctx context.Context, count int) error {
	store, err := w.store.Get(ctx)
	if err != nil {
		return err
	}
	parts := make([]string, count)
	for i := range parts {
		parts[i] = shardDir(i, count)
	}
	m, err := dataset.Merge(ctx, store, "", parts)
	if err != nil {
		return err
	}
	w.log.Info("shards merged", "uri", w.uri, "shards", count, "rows", m.Rows, "parts", len(m.Parts))
	return nil
}

func (w *Write) Consume(ctx context.Context, in arrow.RecordBatch) error {
	if err := w.open(ctx); err != nil {
		return err
	}
	return w.w.Write(in)
}

func (w *Write) Close(ctx context.Context) error {
	if err := w.open(ctx); err != nil {
		return err
	}
	m, err := w.w.Commit()
	if err != nil {
		return err
	}
	w.log.Info("dataset committed", "uri", w.uri, "rows", m.Rows, "parts", len(m.Parts))
	return nil
}

func (w *Write) Abort() {
	if w.w != nil {
		w.w.Abort()
	}
}
