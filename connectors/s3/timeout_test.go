package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
)

const (
	hangAccess = "AKIAHANGINGKEY0001"
	hangSecret = "hanging-secret-never-print-me"
)

func hangOptions(endpoint string, logs io.Writer) s3.Options {
	return s3.Options{Endpoint: endpoint, Region: "us-east-1", AccessKey: hangAccess, SecretKey: hangSecret,
		PathStyle: true, Secure: s3.Bool(false),
		Retry:    s3.Retry{InitialBackoff: 10 * time.Millisecond, Deadline: time.Minute},
		Timeouts: s3.Timeouts{Connect: 300 * time.Millisecond, ResponseHeader: 300 * time.Millisecond, IdleBody: 300 * time.Millisecond},
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// checkHangError: err came quickly, names the endpoint, wraps ErrTimeout
// and holds no credential; the retries were logged at debug level.
func checkHangError(t *testing.T, err error, endpoint string, took time.Duration, logs string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error from an endpoint that never answers")
	}
	msg := err.Error()
	if !errors.Is(err, s3.ErrTimeout) || !strings.Contains(msg, endpoint) {
		t.Fatalf("err %v: want ErrTimeout naming %s", err, endpoint)
	}
	if took > 5*time.Second {
		t.Fatalf("took %v to fail with 300 ms timeouts", took)
	}
	for _, secret := range []string{hangAccess, hangSecret} {
		if strings.Contains(msg, secret) || strings.Contains(logs, secret) {
			t.Fatalf("a credential leaked: %v\n%s", err, logs)
		}
	}
	if !strings.Contains(logs, "s3 retry") || !strings.Contains(logs, "failed_attempts=1") {
		t.Fatalf("retries not logged at debug:\n%s", logs)
	}
}

// TestEndpointThatNeverAnswers: a listener that accepts connections and
// never answers makes New fail within a few timeouts, naming the endpoint.
func TestEndpointThatNeverAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	var logs bytes.Buffer
	start := time.Now()
	_, err = s3.New(t.Context(), "bkt", "", hangOptions(ln.Addr().String(), &logs))
	checkHangError(t, err, ln.Addr().String(), time.Since(start), logs.String())
}

// TestStalledRequests: after connecting, a server that stops answering
// (no response headers; headers then no body bytes; not reading a Put's
// body) fails each call within a few timeouts, naming the endpoint.
func TestStalledRequests(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/bkt/" || r.URL.Path == "/bkt": // HEAD bucket answers
			return
		case strings.HasSuffix(r.URL.Path, "/body") && r.Method == http.MethodGet:
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Last-Modified", time.Unix(0, 0).UTC().Format(http.TimeFormat))
			if rg := r.Header.Get("Range"); rg != "" { // resumed: headers, then no bytes
				first, _, _ := strings.Cut(strings.TrimPrefix(rg, "bytes="), "-")
				start, _ := strconv.Atoi(first)
				w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-999/1000", start))
				w.Header().Set("Content-Length", strconv.Itoa(1000-start))
				w.WriteHeader(http.StatusPartialContent)
			} else {
				w.Header().Set("Content-Length", "1000")
				w.Write(make([]byte, 10))
			}
			w.(http.Flusher).Flush()
		}
		<-stop // hang: no headers, no more body, or never read the Put body
	}))
	defer srv.Close()
	defer close(stop)
	endpoint := strings.TrimPrefix(srv.URL, "http://")
	var logs bytes.Buffer
	s, err := s3.New(t.Context(), "bkt", "", hangOptions(endpoint, &logs))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"stat", func() error { _, err := s.Stat(t.Context(), "obj"); return err }},
		{"get headers", func() error { _, err := objstore.ReadAll(t.Context(), s, "obj"); return err }},
		{"get body", func() error { _, err := objstore.ReadAll(t.Context(), s, "body"); return err }},
		{"put", func() error { return objstore.PutBytes(t.Context(), s, "big", make([]byte, 64<<20)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			start := time.Now()
			err := tc.call()
			checkHangError(t, err, endpoint, time.Since(start), logs.String())
		})
	}
}
