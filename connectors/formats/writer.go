package formats

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/internal/stale"
	"github.com/medflow/medflow/connectors/objstore"
)

// WriterOptions tunes a Writer. The zero value is fine.
type WriterOptions struct {
	Compression Compression // see Compression; CSV ignores it
	TempDir     string      // folder for the staging file; "" = StagingDir()
}

// StagingPrefix starts the name of a Writer's staging file.
const StagingPrefix = "medflow-write-"

var staging struct {
	mu    sync.Mutex
	dir   string          // "" = os.TempDir()
	swept map[string]bool // folders cleaned of stale staging files
}

// SetStagingDir sets the folder of staging files for writers whose
// options name none (the CLI puts it in a local work store).
func SetStagingDir(dir string) {
	staging.mu.Lock()
	staging.dir = dir
	staging.mu.Unlock()
}

// StagingDir returns the folder set by SetStagingDir, or os.TempDir().
func StagingDir() string {
	staging.mu.Lock()
	defer staging.mu.Unlock()
	if staging.dir == "" {
		return os.TempDir()
	}
	return staging.dir
}

// RemoveStaleStaging deletes the staging files in dir that writers killed
// mid-write left (a live writer holds a lock on its file, see
// connectors/internal/stale), and returns their paths.
func RemoveStaleStaging(dir string) ([]string, error) {
	return stale.Remove(dir, false, func(name string) bool { return strings.HasPrefix(name, StagingPrefix) })
}

// stagingFile creates and locks a staging file in dir, removing the
// stale ones there the first time this process stages in dir.
func stagingFile(dir string, format Format) (*os.File, error) {
	if dir == "" {
		dir = StagingDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	staging.mu.Lock()
	first := !staging.swept[dir]
	if staging.swept == nil {
		staging.swept = map[string]bool{}
	}
	staging.swept[dir] = true
	staging.mu.Unlock()
	if first {
		_, _ = RemoveStaleStaging(dir)
	}
	return stale.Create(dir, StagingPrefix+"*"+format.Ext())
}

// encoder is one format's streaming writer.
type encoder interface {
	Write(rec arrow.RecordBatch) error
	Close() error
}

// Writer writes record batches to one object. It is not safe for
// concurrent use. Close or Abort it exactly once.
type Writer struct {
	ctx    context.Context
	store  objstore.Store
	key    string
	schema *arrow.Schema
	tmp    *os.File
	hash   hash.Hash64 // of every byte written to tmp
	enc    encoder
	rows   int64
	size   int64
	done   bool
}

// NewWriter starts an object of the given format under key.
func NewWriter(ctx context.Context, store objstore.Store, key string, format Format, schema *arrow.Schema, mem memory.Allocator, opts WriterOptions) (*Writer, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return nil, objstore.Errorf("write", store, key, err)
	}
	tmp, err := stagingFile(opts.TempDir, format)
	if err != nil {
		return nil, objstore.Errorf("write", store, key, err)
	}
	w := &Writer{ctx: ctx, store: store, key: key, schema: schema, tmp: tmp, hash: objstore.NewHash()}
	sink := io.MultiWriter(tmp, w.hash) // encoders write sequentially: the hash covers the object
	if w.enc, err = newEncoder(sink, format, schema, mem, opts.Compression); err != nil {
		w.removeTemp()
		return nil, objstore.Errorf("write", store, key, err)
	}
	return w, nil
}

// Key returns the destination key.
func (w *Writer) Key() string { return w.key }

// Rows returns the number of rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Size returns the object size once Close has succeeded.
func (w *Writer) Size() int64 { return w.size }

// Checksum returns the content checksum of the object (see
// objstore.Checksum) once Close has succeeded.
func (w *Writer) Checksum() string { return objstore.Checksum(w.hash) }

// Write appends one record batch; its schema must equal the writer's.
func (w *Writer) Write(rec arrow.RecordBatch) error {
	if w.done {
		return objstore.Errorf("write", w.store, w.key, errors.New("writer already closed"))
	}
	if !rec.Schema().Equal(w.schema) {
		return objstore.Errorf("write", w.store, w.key, fmt.Errorf("row %d: batch schema %s differs from writer schema %s", w.rows, rec.Schema(), w.schema))
	}
	if err := w.ctx.Err(); err != nil {
		return objstore.Errorf("write", w.store, w.key, err)
	}
	if err := w.enc.Write(rec); err != nil {
		return objstore.Errorf("write", w.store, w.key, fmt.Errorf("batch at row %d: %w", w.rows, err))
	}
	w.rows += rec.NumRows()
	return nil
}

// Close finishes the file and Puts it; the object exists only if Close
// returns nil. The staging file is removed in every case.
func (w *Writer) Close() error { return w.CloseAs(nil) }

// CloseAs is Close, but the object is put under keyFor(checksum) (see
// Checksum) when keyFor is not nil: a name can carry the checksum of the
// content, known only once every byte is written. Key then returns it.
func (w *Writer) CloseAs(keyFor func(checksum string) string) error {
	if w.done {
		return objstore.Errorf("write", w.store, w.key, errors.New("writer already closed"))
	}
	w.done = true
	defer w.removeTemp()
	if err := w.enc.Close(); err != nil {
		return objstore.Errorf("write", w.store, w.key, err)
	}
	size, err := w.tmp.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = w.tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		return objstore.Errorf("write", w.store, w.key, err)
	}
	if keyFor != nil {
		w.key = keyFor(w.Checksum())
	}
	if err := w.store.Put(w.ctx, w.key, w.tmp, size); err != nil {
		return err
	}
	w.size = size
	return nil
}

// Abort discards everything written; nothing is Put. Abort after Close is
// a no-op.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.enc.Close()
	w.removeTemp()
	return err
}

func (w *Writer) removeTemp() {
	os.Remove(w.tmp.Name()) // before Close: the lock guards it until gone
	w.tmp.Close()
}
