package s3test_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/medflow/medflow/internal/s3test"
)

func TestStartKillRestart(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "bkt")
	c := srv.Client()
	ctx := context.Background()
	if _, err := c.PutObject(ctx, "bkt", "k", bytes.NewReader([]byte("v")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	o, err := c.GetObject(ctx, "bkt", "k", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if b, err := io.ReadAll(o); err != nil || string(b) != "v" {
		t.Fatalf("after restart: %q %v", b, err)
	}
}

func TestFindBinary(t *testing.T) {
	t.Setenv("MEDFLOW_VERSITYGW", "/nonexistent/versitygw")
	if _, err := s3test.FindBinary(); err == nil {
		t.Fatal("want error for a missing MEDFLOW_VERSITYGW")
	}
}
