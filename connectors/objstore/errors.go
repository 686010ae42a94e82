package objstore

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Stores wrap them in *Error; test with errors.Is.
var (
	// ErrNotFound reports a missing object.
	ErrNotFound = errors.New("object not found")
	// ErrInvalidKey reports a key rejected by ValidateKey or one that would
	// escape a store's root.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidRange reports a negative offset or one past the object end.
	ErrInvalidRange = errors.New("invalid range")
)

// Error is the error type returned by stores: it names the operation, the
// (redacted) store URI and the key, and wraps the cause.
type Error struct {
	Op    string // "get", "put", "list", "stat", "delete", "read"
	Store string // store URI, secrets redacted
	Key   string
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s key %q: %v", e.Op, e.Store, e.Key, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error for store s (by its String) wrapping err.
func Errorf(op string, s fmt.Stringer, key string, err error) error {
	// The key is copied: callers pass keys read from Arrow arrays, whose
	// buffers are reused once their batch is released, and an error
	// outlives the batch.
	return &Error{Op: op, Store: s.String(), Key: strings.Clone(key), Err: err}
}
