package objstore

import (
	"context"
	"io"
	"time"
)

// Store is a flat namespace of immutable objects addressed by keys.
//
// Keys are slash-separated relative paths (see ValidateKey). All methods are
// safe for concurrent use.
type Store interface {
	// List returns every object whose key starts with prefix (a plain string
	// prefix, not necessarily a directory), recursively, sorted by key in
	// byte order. In-progress temporary objects are never listed.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Get opens key for reading the bytes selected by r. The caller must
	// Close the reader. A missing key yields an error wrapping ErrNotFound.
	Get(ctx context.Context, key string, r Range) (io.ReadCloser, error)
	// Put stores the bytes of r under key. The object is visible only once
	// complete: if r fails or ctx is cancelled, no object (and no partial
	// replacement of an existing one) becomes visible. size is the exact
	// length of r, or -1 when unknown.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Stat returns the metadata of key, or an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes key. Deleting a missing key is not an error (S3
	// semantics), so Delete is idempotent.
	Delete(ctx context.Context, key string) error
	// String returns the store URI with any secret redacted.
	String() string
}

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string    // key relative to the store root
	Size    int64     // size in bytes
	ETag    string    // opaque version tag; changes when content changes
	ModTime time.Time // last modification time
}

// Range selects bytes [Off, Off+Len) of an object. Len < 0 means "to the
// end"; a Len reaching past the end is clamped. Off equal to the object size
// yields an empty read; Off beyond it yields an error wrapping
// ErrInvalidRange. Note that the zero Range selects zero bytes: use All to
// read a whole object.
type Range struct {
	Off int64
	Len int64
}

// All selects a whole object.
var All = Range{Off: 0, Len: -1}

// Validate checks that the range itself is well-formed.
func (r Range) Validate() error {
	if r.Off < 0 {
		return ErrInvalidRange
	}
	return nil
}
