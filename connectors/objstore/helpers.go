package objstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"time"
)

// ReadAll returns the whole content of key.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, error) {
	rc, err := s.Get(ctx, key, All)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, Errorf("read", s, key, err)
	}
	return b, nil
}

// PutBytes stores b under key.
func PutBytes(ctx context.Context, s Store, key string, b []byte) error {
	return s.Put(ctx, key, bytes.NewReader(b), int64(len(b)))
}

// ReaderAt returns a random-access reader over key whose every ReadAt is a
// ranged Get. size is the object size; pass -1 to Stat it. The returned
// *io.SectionReader also implements io.Seeker and io.Reader, as required by
// the Parquet and Arrow IPC file readers. It holds no resources: there is
// nothing to close.
func ReaderAt(ctx context.Context, s Store, key string, size int64) (*io.SectionReader, error) {
	if size < 0 {
		info, err := s.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		size = info.Size
	}
	return io.NewSectionReader(&rangeReaderAt{ctx: ctx, s: s, key: key, size: size}, 0, size), nil
}

type rangeReaderAt struct {
	ctx  context.Context
	s    Store
	key  string
	size int64
}

func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		if len(p) == 0 && off == r.size {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := int64(len(p))
	if rest := r.size - off; n > rest {
		n = rest
	}
	rc, err := r.s.Get(r.ctx, r.key, Range{Off: off, Len: n})
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	got, err := io.ReadFull(rc, p[:n])
	if err != nil {
		return got, Errorf("read", r.s, r.key, fmt.Errorf("at offset %d: %w", off+int64(got), err))
	}
	if got < len(p) {
		return got, io.EOF
	}
	return got, nil
}

// Fingerprint hashes the listing under prefix (key, size and ETag, or
// modification time where the store has no ETag, of every object keep
// accepts; nil keeps all): equal fingerprints mean the same
// objects with the same contents, as far as the store can tell without
// reading them. Sources use it so that changed inputs change their stage
// fingerprint.
func Fingerprint(ctx context.Context, s Store, prefix string, keep func(key string) bool) (string, error) {
	_, fp, err := TakeSnapshot(ctx, s, prefix, keep)
	return fp, err
}

// ErrChanged reports an object whose identity (size, ETag or modification
// time) differs from the listing its stage was fingerprinted with.
var ErrChanged = errors.New("object changed since the run's inputs were listed")

// Snapshot is the identity of the objects a stage was fingerprinted with,
// by key, to check them again when they are read: an input rewritten
// during a run must not flow into an output recorded under the
// fingerprint of the old one. It is held for the whole run, so it keeps
// 24 bytes per object (a 64-bit hash of the key, the size, a 64-bit hash
// of the ETag or modification time), not the listing: ~9 MB for
// MIMIC-CXR's 377,110 images instead of ~130 MB. Keys whose hashes
// collide are kept whole, so a lookup never confuses two listed objects;
// an unlisted key taken for a listed one (chance 2^-64 per lookup) still
// fails the check unless its size and version hash match too.
type Snapshot struct {
	seed  maphash.Seed
	ids   map[uint64]objID // by hash of the key
	exact map[string]objID // keys sharing a hash with another key
}

// keyHash hashes keys (a variable so that tests can force collisions).
var keyHash = maphash.String

type objID struct {
	size int64
	ver  uint64 // hash of version()
}

func (sn *Snapshot) id(o ObjectInfo) objID {
	return objID{size: o.Size, ver: maphash.String(sn.seed, version(o))}
}

// version is what tells two contents of an object apart.
func version(o ObjectInfo) string {
	if o.ETag != "" {
		return o.ETag
	}
	return o.ModTime.UTC().Format(time.RFC3339Nano)
}

// TakeSnapshot lists prefix and returns the objects keep accepts (nil
// keeps all) and their Fingerprint.
func TakeSnapshot(ctx context.Context, s Store, prefix string, keep func(key string) bool) (*Snapshot, string, error) {
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return nil, "", err
	}
	sn := &Snapshot{seed: maphash.MakeSeed(), ids: map[uint64]objID{}}
	var dup map[uint64]bool
	h := sha256.New()
	for _, o := range objs { // List is sorted by key
		if keep == nil || keep(o.Key) {
			k := keyHash(sn.seed, o.Key)
			if _, seen := sn.ids[k]; seen {
				if dup == nil {
					dup = map[uint64]bool{}
				}
				dup[k] = true
			}
			sn.ids[k] = sn.id(o)
			fmt.Fprintf(h, "%s\t%d\t%s\n", o.Key, o.Size, version(o))
		}
	}
	if dup != nil {
		sn.exact = map[string]objID{}
		for _, o := range objs {
			if k := keyHash(sn.seed, o.Key); dup[k] && (keep == nil || keep(o.Key)) {
				sn.exact[o.Key] = sn.id(o)
				delete(sn.ids, k)
			}
		}
	}
	return sn, hex.EncodeToString(h.Sum(nil)), nil
}

// Len is the number of objects in the snapshot.
func (sn *Snapshot) Len() int {
	if sn == nil {
		return 0
	}
	return len(sn.ids) + len(sn.exact)
}

// Check stats key and fails, naming it and wrapping ErrChanged, when it
// was not in the snapshot or its size or version differs. A nil Snapshot
// (no fingerprint was taken) checks nothing.
func (sn *Snapshot) Check(ctx context.Context, s Store, key string) error {
	if sn == nil {
		return nil
	}
	was, ok := sn.exact[key]
	if !ok {
		was, ok = sn.ids[keyHash(sn.seed, key)]
	}
	if !ok {
		return Errorf("check", s, key, fmt.Errorf("%w: it was not there", ErrChanged))
	}
	now, err := s.Stat(ctx, key)
	if err != nil {
		return err
	}
	switch {
	case now.Size != was.size:
		return Errorf("check", s, key, fmt.Errorf("%w: size %d then, %d now", ErrChanged, was.size, now.Size))
	case sn.id(now) != was:
		return Errorf("check", s, key, fmt.Errorf("%w: same size, version %s now differs from the listed one", ErrChanged, version(now)))
	}
	return nil
}
