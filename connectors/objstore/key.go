package objstore

import (
	"context"
	"fmt"
	"strings"
)

// ValidateKey reports whether key is acceptable to every Store. A key is a
// non-empty, relative, slash-separated path whose segments are neither
// empty, "." nor "..", containing no backslash and no NUL byte. Unicode and
// spaces are allowed. Errors wrap ErrInvalidKey.
func ValidateKey(key string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why) }
	switch {
	case key == "":
		return bad("empty")
	case strings.HasPrefix(key, "/"):
		return bad("absolute")
	case strings.ContainsRune(key, '\\'):
		return bad("contains a backslash")
	case strings.ContainsRune(key, 0):
		return bad("contains NUL")
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad("contains a " + seg + " segment")
		}
	}
	return nil
}

// TempPrefix starts the base name of in-progress objects written by stores
// that stage writes next to their target. List never returns such names.
const TempPrefix = ".medflow-tmp-"

// StaleRemover is implemented by stores that stage writes next to their
// targets (local folders): RemoveStale deletes the staging objects under
// the folder prefix ("" = everywhere) that writers killed mid-write left
// behind, never those of a live writer, and returns their keys.
type StaleRemover interface {
	RemoveStale(ctx context.Context, prefix string) ([]string, error)
}

// IsTemp reports whether the last segment of key marks an in-progress
// temporary object.
func IsTemp(key string) bool {
	base := key[strings.LastIndexByte(key, '/')+1:]
	return strings.HasPrefix(base, TempPrefix)
}
