package objstore

import (
	"context"
	"errors"
)

// ErrPrecondition reports a conditional Put that found the object in
// another state than required (present when it had to be absent, or with
// another ETag).
var ErrPrecondition = errors.New("precondition failed")

// ConditionalPutter is implemented by stores that can put an object only
// if it is absent (ifMatch "") or only if its ETag is ifMatch, atomically
// with respect to other conditional Puts (local: a lock file; S3:
// If-None-Match / If-Match). It returns the new object's ETag, or an error
// wrapping ErrPrecondition. Leases are built on it.
type ConditionalPutter interface {
	PutIf(ctx context.Context, key string, data []byte, ifMatch string) (etag string, err error)
}
