package objstore

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/zeebo/xxh3"
)

// ErrCorrupt reports an object whose content no longer matches the
// checksum (or size) recorded when it was committed.
var ErrCorrupt = errors.New("content differs from the committed checksum")

// checksumPrefix names the algorithm in a checksum string.
const checksumPrefix = "xxh3:"

// NewHash returns the hash whose Checksum is recorded for committed
// objects (XXH3-64: fast enough to verify every byte read back).
func NewHash() hash.Hash64 { return xxh3.New() }

// Checksum formats the sum of h as recorded in manifests: "xxh3:<16 hex>".
func Checksum(h hash.Hash64) string {
	return checksumPrefix + fmt.Sprintf("%016x", h.Sum64())
}

// ChecksumBytes returns the checksum of b.
func ChecksumBytes(b []byte) string {
	return checksumPrefix + fmt.Sprintf("%016x", xxh3.Hash(b))
}

// Verify reads the whole of key and checks its size and checksum against
// the committed ones, returning an *Error naming the key and wrapping
// ErrCorrupt on a mismatch.
func Verify(ctx context.Context, s Store, key string, size int64, checksum string) error {
	rc, err := s.Get(ctx, key, All)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := NewHash()
	n, err := io.Copy(h, rc)
	if err != nil {
		return Errorf("verify", s, key, err)
	}
	return Check(s, key, n, Checksum(h), size, checksum)
}

// Check compares a size and checksum read back (got) with the committed
// ones (want), naming key on a mismatch.
func Check(s fmt.Stringer, key string, gotSize int64, got string, wantSize int64, want string) error {
	switch {
	case gotSize != wantSize:
		return Errorf("verify", s, key, fmt.Errorf("%w: size %d, committed %d bytes", ErrCorrupt, gotSize, wantSize))
	case got != want:
		return Errorf("verify", s, key, fmt.Errorf("%w: %s, committed %s", ErrCorrupt, got, want))
	}
	return nil
}
