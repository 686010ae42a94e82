package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
)

// fakeS3 serves one object at /bkt/obj with scripted misbehaviour, to test
// the resumable reader without a real server.
type fakeS3 struct {
	data        []byte
	etag        string
	cutAfter    int  // first full GET: send this many bytes, then drop the connection
	ignoreRange bool // answer ranged GETs with the whole object
	gets        atomic.Int32
	ifMatch     atomic.Value
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/bkt/" || r.URL.Path == "/bkt" { // HEAD bucket
		return
	}
	n := f.gets.Add(1)
	if m := r.Header.Get("If-Match"); m != "" {
		f.ifMatch.Store(m)
	}
	h := w.Header()
	h.Set("ETag", `"`+f.etag+`"`)
	h.Set("Last-Modified", time.Unix(0, 0).UTC().Format(http.TimeFormat))
	start := 0
	if rg := r.Header.Get("Range"); rg != "" && !f.ignoreRange {
		first, _, _ := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
		start, _ = strconv.Atoi(first)
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(f.data)-1, len(f.data)))
		h.Set("Content-Length", strconv.Itoa(len(f.data)-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(f.data[start:])
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(f.data)))
	if n == 1 && f.cutAfter > 0 {
		w.WriteHeader(http.StatusOK)
		w.Write(f.data[:f.cutAfter])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	w.Write(f.data)
}

func fakeStore(t *testing.T, f *fakeS3) *s3.Store {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := s3.New(t.Context(), "bkt", "", s3.Options{
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), Region: "us-east-1", AccessKey: "AKIAFAKE", SecretKey: "fake-secret",
		PathStyle: true, Secure: s3.Bool(false), Retry: s3.Retry{InitialBackoff: time.Millisecond, Deadline: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResumeTruncatedBody(t *testing.T) {
	data, _ := pseudoRandom(1 << 20)
	f := &fakeS3{data: data, etag: "v1", cutAfter: 300_000}
	s := fakeStore(t, f)
	got, err := objstore.ReadAll(t.Context(), s, "obj")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("resumed bytes differ")
	}
	if f.gets.Load() != 2 || f.ifMatch.Load() != `"v1"` {
		t.Fatalf("gets %d, If-Match %v", f.gets.Load(), f.ifMatch.Load())
	}
}

func TestRangeIgnoredIsAnError(t *testing.T) {
	data, _ := pseudoRandom(1000)
	s := fakeStore(t, &fakeS3{data: data, etag: "v1", ignoreRange: true})
	rc, err := s.Get(t.Context(), "obj", objstore.Range{Off: 10, Len: 5})
	if err == nil {
		b, _ := io.ReadAll(rc)
		t.Fatalf("got %d bytes from a server that ignores Range", len(b))
	}
	var se *s3.Error
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "Content-Range") {
		t.Fatalf("got %v", err)
	}
}
