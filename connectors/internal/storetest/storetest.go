// Package storetest builds the stores that connector tests run against:
// a local folder and an S3 bucket on a versitygw started by
// internal/s3test. It is test support only.
package storetest

import (
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
)

// S3Options returns options for srv with a short retry policy.
func S3Options(srv *s3test.Server) s3.Options {
	return s3.Options{
		Endpoint:  srv.Endpoint(),
		Region:    s3test.Region,
		AccessKey: s3test.AccessKey,
		SecretKey: s3test.SecretKey,
		PathStyle: true,
		Secure:    s3.Bool(false),
		Retry:     s3.Retry{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Deadline: 30 * time.Second},
	}
}

// Local returns a store over a fresh temporary folder.
func Local(t testing.TB) *local.Store {
	t.Helper()
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// S3 returns a store over bucket/prefix on srv; the bucket must exist.
func S3(t testing.TB, srv *s3test.Server, bucket, prefix string) *s3.Store {
	t.Helper()
	s, err := s3.New(t.Context(), bucket, prefix, S3Options(srv))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Stores starts a versitygw for t and returns one fresh store of each
// kind, keyed "local" and "s3".
func Stores(t testing.TB) map[string]objstore.Store {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "medflow")
	return map[string]objstore.Store{"local": Local(t), "s3": S3(t, srv, "medflow", "prefix")}
}
