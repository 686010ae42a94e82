package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/medflow/medflow/connectors/internal/stale"
	"github.com/medflow/medflow/connectors/objstore"
)

// Store is an objstore.Store rooted at a local folder.
type Store struct {
	dir string // absolute, cleaned
	uri string
}

var _ objstore.Store = (*Store)(nil)

// New returns the store rooted at folder dir. Relative paths are made
// absolute against the working directory. Nothing is created until the
// first Put, so reading a folder that does not exist lists nothing and
// gets ErrNotFound instead of leaving an empty folder behind.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %q: %w", dir, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	return &Store{dir: abs, uri: u.String()}, nil
}

// Dir returns the absolute root folder.
func (s *Store) Dir() string { return s.dir }

// String returns the file:// URI of the root folder.
func (s *Store) String() string { return s.uri }

// openRoot opens the root folder for one operation. Every file access goes
// through the returned os.Root, which refuses paths (including symlink
// targets) outside it. Holding no handle between operations means a Store
// needs no Close.
func (s *Store) openRoot(op, key string) (*os.Root, error) {
	if op == "put" {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, objstore.Errorf(op, s, key, err)
		}
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, s.fail(op, key, err) // a missing root is ErrNotFound
	}
	return root, nil
}

func (s *Store) fail(op, key string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = fmt.Errorf("%w: %w", objstore.ErrNotFound, err)
	case isEscape(err):
		err = fmt.Errorf("%w: %w", objstore.ErrInvalidKey, err)
	}
	return objstore.Errorf(op, s, key, err)
}

// isEscape reports whether err is os.Root refusing a path outside the root.
func isEscape(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes from parent")
}

func (s *Store) check(op, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return objstore.Errorf(op, s, key, err)
	}
	if objstore.IsTemp(key) {
		return objstore.Errorf(op, s, key, fmt.Errorf("%w: reserved temporary name", objstore.ErrInvalidKey))
	}
	return nil
}

func etag(fi fs.FileInfo) string {
	return strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" + strconv.FormatInt(fi.Size(), 36)
}

func info(key string, fi fs.FileInfo) objstore.ObjectInfo {
	return objstore.ObjectInfo{Key: key, Size: fi.Size(), ETag: etag(fi), ModTime: fi.ModTime()}
}

// Stat implements objstore.Store.
func (s *Store) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := s.check("stat", key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	root, err := s.openRoot("stat", key)
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	defer root.Close()
	fi, err := root.Stat(key)
	if err != nil {
		return objstore.ObjectInfo{}, s.fail("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return objstore.ObjectInfo{}, s.fail("stat", key, fs.ErrNotExist)
	}
	return info(key, fi), nil
}

// Get implements objstore.Store.
func (s *Store) Get(ctx context.Context, key string, r objstore.Range) (io.ReadCloser, error) {
	if err := s.check("get", key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, objstore.Errorf("get", s, key, err)
	}
	if err := r.Validate(); err != nil {
		return nil, objstore.Errorf("get", s, key, err)
	}
	root, err := s.openRoot("get", key)
	if err != nil {
		return nil, err
	}
	defer root.Close() // files opened through it stay valid
	f, err := root.Open(key)
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err == nil && r.Off > fi.Size() {
		err = fmt.Errorf("%w: offset %d beyond size %d", objstore.ErrInvalidRange, r.Off, fi.Size())
	}
	if err != nil {
		f.Close()
		return nil, s.fail("get", key, err)
	}
	n := fi.Size() - r.Off
	if r.Len >= 0 && r.Len < n {
		n = r.Len
	}
	return &fileReader{SectionReader: io.NewSectionReader(f, r.Off, n), f: f}, nil
}

type fileReader struct {
	*io.SectionReader
	f *os.File
}

func (r *fileReader) Close() error { return r.f.Close() }

// Put implements objstore.Store: temp file, fsync, rename, fsync folder.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	if err := s.check("put", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return objstore.Errorf("put", s, key, err)
	}
	root, err := s.openRoot("put", key)
	if err != nil {
		return err
	}
	defer root.Close()
	dir := path.Dir(key)
	tmp := path.Join(dir, objstore.TempPrefix+randomSuffix())
	var f *os.File
	// A Delete emptying the folder may remove it between MkdirAll and
	// OpenFile: make it again.
	for attempt := 0; f == nil; attempt++ {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return s.fail("put", key, err)
		}
		f, err = root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil && (attempt == 2 || !errors.Is(err, fs.ErrNotExist)) {
			return s.fail("put", key, err)
		}
	}
	// Locked until renamed or removed: RemoveStale leaves it alone.
	if err := stale.Lock(f); err != nil {
		f.Close()
		_ = root.Remove(tmp)
		return s.fail("put", key, err)
	}
	defer func() {
		if err != nil {
			_ = root.Remove(tmp)
		}
		f.Close()
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return objstore.Errorf("put", s, key, fmt.Errorf("after %d bytes: %w", n, err))
	}
	if size >= 0 && n != size {
		return objstore.Errorf("put", s, key, fmt.Errorf("read %d bytes, declared size %d: %w", n, size, io.ErrUnexpectedEOF))
	}
	if err = f.Sync(); err != nil {
		return s.fail("put", key, err)
	}
	if err = root.Rename(tmp, key); err != nil {
		return s.fail("put", key, err)
	}
	return s.syncDir(root, dir)
}

// lockName is the lock file, in the root folder, that serializes the
// conditional Puts of a store (they are rare: leases).
const lockName = objstore.TempPrefix + "lock"

// PutIf implements objstore.ConditionalPutter: under an exclusive lock
// on the store's lock file (held by every PutIf, in any process on this
// machine or, where flock works over the network file system, on any
// machine), it checks the condition, then Puts.
func (s *Store) PutIf(ctx context.Context, key string, data []byte, ifMatch string) (string, error) {
	if err := s.check("put", key); err != nil {
		return "", err
	}
	root, err := s.openRoot("put", key)
	if err != nil {
		return "", err
	}
	defer root.Close()
	dir := path.Dir(key)
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return "", s.fail("put", key, err)
	}
	lf, err := root.OpenFile(lockName, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", s.fail("put", key, err)
	}
	defer lf.Close()
	if err := stale.Lock(lf); err != nil {
		return "", s.fail("put", key, err)
	}
	fi, err := root.Stat(key)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", s.fail("put", key, err)
	case ifMatch == "" && err == nil:
		return "", objstore.Errorf("put", s, key, fmt.Errorf("%w: object exists", objstore.ErrPrecondition))
	case ifMatch != "" && (err != nil || etag(fi) != ifMatch):
		return "", objstore.Errorf("put", s, key, fmt.Errorf("%w: object changed or gone", objstore.ErrPrecondition))
	}
	if err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
		return "", err
	}
	if fi, err = root.Stat(key); err != nil {
		return "", s.fail("put", key, err)
	}
	return etag(fi), nil
}

// RemoveStale implements objstore.StaleRemover: it deletes the temporary
// files (objstore.TempPrefix) under the folder prefix that no live Put
// holds locked and that are older than a minute.
func (s *Store) RemoveStale(ctx context.Context, prefix string) ([]string, error) {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		if err := s.check("remove stale", prefix); err != nil {
			return nil, err
		}
	}
	removed, err := stale.Remove(filepath.Join(s.dir, filepath.FromSlash(prefix)), true, func(name string) bool {
		return strings.HasPrefix(name, objstore.TempPrefix) && name != lockName
	})
	keys := make([]string, len(removed))
	for i, p := range removed {
		rel, _ := filepath.Rel(s.dir, p)
		keys[i] = filepath.ToSlash(rel)
	}
	if err != nil {
		return keys, s.fail("remove stale", prefix, err)
	}
	return keys, nil
}

func (s *Store) syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return s.fail("put", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return s.fail("put", dir, err)
	}
	return nil
}

func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ctxReader stops a copy when its context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Delete implements objstore.Store. Folders left empty are removed.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check("delete", key); err != nil {
		return err
	}
	root, err := s.openRoot("delete", key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil // nothing there: deleting is a no-op, as on S3
	}
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s.fail("delete", key, err)
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if root.Remove(dir) != nil { // fails when not empty: stop
			break
		}
	}
	return nil
}

// List implements objstore.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
		if err := objstore.ValidateKey(start); err != nil {
			return nil, objstore.Errorf("list", s, prefix, err)
		}
	}
	root, err := s.openRoot("list", prefix)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, nil // no folder, no objects, as on S3
	}
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var out []objstore.ObjectInfo
	err = fs.WalkDir(root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			// Prune folders that cannot contain a match.
			if p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(p, prefix) || objstore.IsTemp(p) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) { // deleted meanwhile
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, info(p, fi))
		return nil
	})
	if err != nil {
		return nil, s.fail("list", prefix, err)
	}
	slices.SortFunc(out, func(a, b objstore.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
