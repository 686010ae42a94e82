package s3_test

import (
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/medflow/medflow/connectors/internal/storetest"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
)

const bucket = "medflow-test"

// sharedServer is started once per test binary by the first test that
// needs it and is never killed; fault tests start their own.
var (
	sharedOnce sync.Once
	shared     *s3test.Server
)

func sharedServer(t *testing.T) *s3test.Server {
	t.Helper()
	s3test.Require(t) // skip or fail every caller, not only the first
	sharedOnce.Do(func() {
		// Start registers cleanup with this t; keep the server for the
		// whole binary by starting it from a long-lived helper.
		shared = s3test.StartShared(t)
		shared.CreateBucket(t, bucket)
	})
	if shared == nil {
		t.Fatal("shared S3 server failed to start")
	}
	return shared
}

func options(srv *s3test.Server) s3.Options { return storetest.S3Options(srv) }

// newStore returns a store on the shared server under a prefix unique to t.
func newStore(t *testing.T) *s3.Store {
	t.Helper()
	srv := sharedServer(t)
	s, err := s3.New(t.Context(), bucket, strings.ReplaceAll(t.Name(), " ", "_"), options(srv))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pseudoRandom returns n deterministic bytes and their sha256.
func pseudoRandom(n int) ([]byte, [32]byte) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b, sha256.Sum256(b)
}
