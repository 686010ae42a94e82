package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/objstore/objstoretest"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
)

func TestConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return newStore(t) })
}

func TestNewErrors(t *testing.T) {
	srv := sharedServer(t)
	_, err := s3.New(t.Context(), "no-such-bucket", "", options(srv))
	if err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Fatalf("missing bucket: %v", err)
	}
	s, err := s3.New(t.Context(), bucket, "/pre/fix/", options(srv))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "s3://"+bucket+"/pre/fix"; got != want {
		t.Fatalf("String() = %q want %q", got, want)
	}
}

// Distinctive fake credentials: if any of them shows up in an error or a
// formatted value, a secret leaked.
const (
	leakAccess = "AKIAMEDFLOWLEAKCHECK7"
	leakSecret = "sEcReT+medflow/LEAK-check-9876543210abcdef"
	leakToken  = "TOKEN-medflow-leak-check-FwoGZXIvYXdzE"
)

func assertNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s leaks secret %q: %s", what, s, text)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	srv := sharedServer(t)
	tests := []struct {
		name   string
		access string
		secret string
	}{
		{"unknown access key", leakAccess, leakSecret},
		{"wrong secret", s3test.AccessKey, leakSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(srv)
			opts.AccessKey, opts.SecretKey, opts.SessionToken = tc.access, tc.secret, leakToken
			_, err := s3.New(t.Context(), bucket, "", opts)
			if err == nil {
				t.Fatal("bad credentials accepted")
			}
			assertNoSecrets(t, "New error", err.Error(), tc.access, tc.secret, leakToken)
			var se *s3.Error
			if !errors.As(err, &se) || se.StatusCode < 400 {
				t.Errorf("want an HTTP 4xx *s3.Error, got %#v", err)
			}
		})
	}
}

// TestSecretsNeverInOpErrors exercises every operation with a store whose
// credentials become wrong after New (rotated keys).
func TestSecretsNeverInOpErrors(t *testing.T) {
	srv := sharedServer(t)
	s := newStore(t)
	if err := objstore.PutBytes(t.Context(), s, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	opts := options(srv)
	opts.AccessKey, opts.SecretKey, opts.SessionToken = leakAccess, leakSecret, leakToken
	bad := s3.WithOptions(s, opts)
	ctx := t.Context()
	ops := map[string]func() error{
		"get":    func() error { _, err := bad.Get(ctx, "k", objstore.All); return err },
		"range":  func() error { _, err := bad.Get(ctx, "k", objstore.Range{Off: 1, Len: 0}); return err },
		"stat":   func() error { _, err := bad.Stat(ctx, "k"); return err },
		"put":    func() error { return objstore.PutBytes(ctx, bad, "k", []byte("x")) },
		"list":   func() error { _, err := bad.List(ctx, ""); return err },
		"delete": func() error { return bad.Delete(ctx, "k") },
	}
	for name, op := range ops {
		err := op()
		if err == nil {
			t.Errorf("%s with bad credentials succeeded", name)
			continue
		}
		assertNoSecrets(t, name+" error", err.Error(), leakAccess, leakSecret, leakToken)
		assertNoSecrets(t, name+" error %+v", fmt.Sprintf("%+v %#v", err, err), leakAccess, leakSecret, leakToken)
	}
}

func TestOptionsRedacted(t *testing.T) {
	opts := s3.Options{Endpoint: "s3.example.com", AccessKey: leakAccess, SecretKey: leakSecret, SessionToken: leakToken}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("connect", "opts", opts, "ptr", &opts)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("connect", "opts", opts)
	js, err := json.Marshal(struct{ S3 s3.Options }{opts})
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":       fmt.Sprintf("%v", opts),
		"%+v":      fmt.Sprintf("%+v", opts),
		"%#v":      fmt.Sprintf("%#v", opts),
		"%s":       fmt.Sprintf("%s", opts),
		"%q":       fmt.Sprintf("%q", opts),
		"%x":       fmt.Sprintf("%x", opts),
		"ptr %+v":  fmt.Sprintf("%+v", &opts),
		"nested":   fmt.Sprintf("%+v %#v", struct{ S3 s3.Options }{opts}, []s3.Options{opts}),
		"String()": opts.String(),
		"slog":     logBuf.String(),
		"json":     string(js),
	}
	for name, out := range outputs {
		assertNoSecrets(t, name, out, leakAccess, leakSecret, leakToken)
		if name != "%x" && !strings.Contains(out, "s3.example.com") {
			t.Errorf("%s lost the endpoint: %s", name, out)
		}
	}
	if !strings.Contains(outputs["%v"], "REDACTED") {
		t.Errorf("%%v should show that secrets are set: %s", outputs["%v"])
	}
}

// TestResumeAfterServerRestart kills versitygw mid-read and restarts it on
// the same port and folder; the read must complete with the exact bytes.
func TestResumeAfterServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("large object; skipped with -short")
	}
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	ctx := t.Context()
	s, err := s3.New(ctx, bucket, "fault", options(srv))
	if err != nil {
		t.Fatal(err)
	}
	data, sum := pseudoRandom(96 << 20)
	if err := objstore.PutBytes(ctx, s, "big.bin", data); err != nil {
		t.Fatal(err)
	}
	data = nil
	for _, r := range []objstore.Range{objstore.All, {Off: 3<<20 + 7, Len: 80 << 20}} {
		rc, err := s.Get(ctx, "big.bin", r)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.CopyN(h, rc, 4<<20); err != nil {
			t.Fatal(err)
		}
		srv.Kill()
		restarted := make(chan error, 1)
		go func() {
			time.Sleep(700 * time.Millisecond)
			restarted <- srv.Restart()
		}()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err := <-restarted; err != nil {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("range %+v: read after restart failed after %d more bytes: %v", r, n, err)
		}
		if s3.Resumes(rc) == 0 {
			t.Errorf("range %+v: reader never resumed: the kill did not interrupt it", r)
		}
		want := sum
		if r != objstore.All {
			d, _ := pseudoRandom(96 << 20)
			want = sha256.Sum256(d[r.Off : r.Off+r.Len])
		}
		if got := [32]byte(h.Sum(nil)); got != want {
			t.Fatalf("range %+v: sha256 mismatch after resume", r)
		}
		t.Logf("range %+v: resumed %d time(s)", r, s3.Resumes(rc))
	}
}

// startPartialRead puts a 48 MiB object "obj" under prefix on a fresh
// server and reads its first MiB; the caller breaks the server next.
func startPartialRead(t *testing.T, prefix string, retry *s3.Retry) (*s3test.Server, *s3.Store, io.ReadCloser) {
	t.Helper()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	opts := options(srv)
	if retry != nil {
		opts.Retry = *retry
	}
	s, err := s3.New(t.Context(), bucket, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := pseudoRandom(48 << 20)
	if err := objstore.PutBytes(t.Context(), s, "obj", data); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(t.Context(), "obj", objstore.All)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	if _, err := io.CopyN(io.Discard, rc, 1<<20); err != nil {
		t.Fatal(err)
	}
	return srv, s, rc
}

// TestGiveUpAfterDeadline: the server stays down; the read fails after the
// retry deadline with an error naming bucket, key, offset and cause.
func TestGiveUpAfterDeadline(t *testing.T) {
	srv, s, rc := startPartialRead(t, "down", &s3.Retry{InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Deadline: 1500 * time.Millisecond})
	ctx := t.Context()
	srv.Kill()
	start := time.Now()
	_, err := io.Copy(io.Discard, rc)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("read succeeded with the server down")
	}
	if elapsed < time.Second || elapsed > 10*time.Second {
		t.Errorf("gave up after %v, want about the 1.5s deadline", elapsed)
	}
	msg := err.Error()
	t.Logf("give-up error: %v", err)
	for _, want := range []string{"s3://" + bucket + "/down/obj", "at offset", "gave up", "last error"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	// The initial open is retried within the same deadline, then fails.
	start = time.Now()
	if _, err := s.Get(ctx, "obj", objstore.All); err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("open with server down: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("open gave up after %v, before the deadline", d)
	}
}

// TestCancelStopsRetries: cancelling the context ends a retry loop at once.
func TestCancelStopsRetries(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	opts := options(srv)
	opts.Retry.Deadline = time.Minute
	s, err := s3.New(t.Context(), bucket, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := objstore.PutBytes(t.Context(), s, "obj", []byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err = s.Get(ctx, "obj", objstore.All)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

// TestChangedObjectDetected: an object replaced while a read is
// interrupted fails with ErrObjectChanged instead of mixing versions.
func TestChangedObjectDetected(t *testing.T) {
	srv, _, rc := startPartialRead(t, "", nil)
	ctx := t.Context()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	changed := []byte("a different, much shorter object")
	if _, err := srv.Client().PutObject(ctx, bucket, "obj", bytes.NewReader(changed), int64(len(changed)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, s3.ErrObjectChanged) {
		t.Fatalf("got %v, want ErrObjectChanged", err)
	}
}
