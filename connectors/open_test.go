package connectors_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		want    connectors.URI
		wantErr string
	}{
		{in: "file:///data/runs", want: connectors.URI{Scheme: "file", Path: "/data/runs"}},
		{in: "file://localhost/data", want: connectors.URI{Scheme: "file", Path: "/data"}},
		{in: "/abs/dir", want: connectors.URI{Scheme: "file", Path: "/abs/dir"}},
		{in: "rel/dir", want: connectors.URI{Scheme: "file", Path: "rel/dir"}},
		{in: ".", want: connectors.URI{Scheme: "file", Path: "."}},
		{in: "./odd://name", want: connectors.URI{Scheme: "file", Path: "./odd://name"}},
		{in: "s3://bucket", want: connectors.URI{Scheme: "s3", Bucket: "bucket"}},
		{in: "s3://bucket/", want: connectors.URI{Scheme: "s3", Bucket: "bucket"}},
		{in: "s3://bucket/a/b/", want: connectors.URI{Scheme: "s3", Bucket: "bucket", Path: "a/b"}},
		{in: "S3://bucket/p", want: connectors.URI{Scheme: "s3", Bucket: "bucket", Path: "p"}},
		{in: "", wantErr: "empty"},
		{in: "s3://", wantErr: "missing bucket"},
		{in: "s3:///prefix", wantErr: "missing bucket"},
		{in: "s3://bucket/a/../b", wantErr: "invalid key"},
		{in: "gs://bucket/x", wantErr: `"gs://bucket/x": unknown scheme "gs"`},
		{in: "file://host/x", wantErr: "host"},
		{in: "s3://user:hunter2@host/bucket", wantErr: "REDACTED@host"},
		{in: "ftp://user:hunter2@host", wantErr: "unknown scheme"},
	}
	for _, tc := range tests {
		got, err := connectors.ParseURI(tc.in)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURI(%q) error = %v, want it to contain %q", tc.in, err, tc.wantErr)
			} else if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseURI(%q) leaks a password: %v", tc.in, err)
			}
		case err != nil:
			t.Errorf("ParseURI(%q): %v", tc.in, err)
		case got != tc.want:
			t.Errorf("ParseURI(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestOpen(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "bkt")
	dir := t.TempDir()
	t.Chdir(dir)
	opts := connectors.Options{S3: s3.Options{
		Endpoint: srv.Endpoint(), AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
		Region: s3test.Region, PathStyle: true, Secure: s3.Bool(false),
	}}
	tests := []struct {
		uri  string
		want string // String() of the store
	}{
		{"file://" + dir + "/a", "file://" + dir + "/a"},
		{dir + "/b", "file://" + dir + "/b"},
		{"c/d", "file://" + dir + "/c/d"},
		{"s3://bkt/runs/x", "s3://bkt/runs/x"},
	}
	for _, tc := range tests {
		s, err := connectors.Open(t.Context(), tc.uri, opts)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.uri, err)
		}
		if s.String() != tc.want {
			t.Errorf("Open(%q).String() = %q want %q", tc.uri, s, tc.want)
		}
		if err := objstore.PutBytes(t.Context(), s, "k", []byte("v")); err != nil {
			t.Errorf("put via %q: %v", tc.uri, err)
		}
	}
	if _, err := os.Stat(dir + "/c/d/k"); err != nil {
		t.Errorf("relative path store wrote elsewhere: %v", err)
	}
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "medflow-open-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := connectors.Open(ctx, "file://"+dir, connectors.Options{})
	if err != nil {
		panic(err)
	}
	_ = objstore.PutBytes(ctx, store, "hello.txt", []byte("hi"))
	b, _ := objstore.ReadAll(ctx, store, "hello.txt")
	fmt.Println(string(b))
	// Output: hi
}
