package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Version is the versitygw release the harness is tested with.
const Version = "v1.8.0"

// Fake root credentials; distinctive so tests can grep for leaks.
const (
	AccessKey = "MEDFLOWTESTACCESSKEY"
	SecretKey = "medflow-test-secret-key-DO-NOT-LEAK-0123456789"
	Region    = "us-east-1"
)

// Server is a running versitygw process.
type Server struct {
	t         testing.TB
	bin       string
	root      string
	dataDir   string
	logPath   string
	addr      string // 127.0.0.1:port
	keepAlive bool

	mu  sync.Mutex
	cmd *exec.Cmd
}

// FindBinary returns the path of the versitygw binary, or an error telling
// how to install it.
func FindBinary() (string, error) {
	if p := os.Getenv("MEDFLOW_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("MEDFLOW_VERSITYGW=%q: %w: run `make deps` (go install github.com/versity/versitygw/cmd/versitygw@%s) or fix the variable", p, err, Version)
		}
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("versitygw not found in $MEDFLOW_VERSITYGW, PATH or $(go env GOPATH)/bin: " +
		"run `make deps` (go install github.com/versity/versitygw/cmd/versitygw@" + Version + "), " +
		"or set MEDFLOW_SKIP_S3=1 to skip S3 tests")
}

// Start launches versitygw on a free 127.0.0.1 port over a fresh temporary
// folder and stops it when the test ends. It fails the test when the binary
// is missing, unless MEDFLOW_SKIP_S3=1 is set, in which case it skips.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := launch(t, t.TempDir(), opts)
	t.Cleanup(s.Kill)
	return s
}

// StartShared is Start for a server shared by many tests: nothing is
// registered with t, and the caller must call Close (typically from
// TestMain after m.Run). The server dies with the test process regardless.
func StartShared(t testing.TB, opts ...Option) *Server {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("", "medflow-s3test-")
	if err != nil {
		t.Fatal(err)
	}
	return launch(t, dir, opts)
}

// Option changes how the server is started.
type Option func(*Server)

// KeepAlive enables HTTP keep-alive (versitygw --keep-alive; off by
// default). Benchmarks want it; tests leave it off because versitygw
// v1.8.0 then answers a zero-length PUT with a stray "400 Bad Request" on
// the idle connection, which net/http logs as "Unsolicited response".
func KeepAlive() Option { return func(s *Server) { s.keepAlive = true } }

// Require skips t when MEDFLOW_SKIP_S3=1 and fails it when the versitygw
// binary is missing; otherwise it returns the binary's path.
func Require(t testing.TB) string {
	t.Helper()
	if os.Getenv("MEDFLOW_SKIP_S3") == "1" {
		t.Skip("!!! MEDFLOW_SKIP_S3=1: SKIPPING S3 TESTS (versitygw not started) !!!")
	}
	bin, err := FindBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func launch(t testing.TB, dir string, opts []Option) *Server {
	t.Helper()
	bin := Require(t)
	s := &Server{t: t, bin: bin, root: dir, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "versitygw.log")}
	for _, o := range opts {
		o(s)
	}
	if err := os.Mkdir(s.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s.addr = fmt.Sprintf("127.0.0.1:%d", port)
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Close kills the server and removes its folder (for StartShared servers).
func (s *Server) Close() {
	s.Kill()
	_ = os.RemoveAll(s.root)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"--access", AccessKey, "--secret", SecretKey, "--region", Region, "--port", s.addr, "--quiet"}
	if s.keepAlive {
		args = append(args, "--keep-alive")
	}
	cmd := exec.Command(s.bin, append(args, "posix", s.dataDir)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr() // never outlive the tests where supported
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	return s.waitReady(exited)
}

// waitReady polls ListBuckets until the server answers.
func (s *Server) waitReady(exited <-chan error) error {
	c := s.Client()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.ListBuckets(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("versitygw exited early (%v); log:\n%s", werr, s.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw on %s not ready after 20s: %v; log:\n%s", s.addr, err, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Endpoint returns host:port.
func (s *Server) Endpoint() string { return s.addr }

// Kill stops the server with SIGKILL and waits for it to exit. It is safe
// to call when the server is already stopped.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	// Wait is called by the goroutine started in start; poll until the
	// port is free so Restart can bind it again.
	for i := 0; i < 200; i++ {
		if c, err := net.DialTimeout("tcp", s.addr, 50*time.Millisecond); err != nil {
			return
		} else {
			c.Close()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Restart starts the server again on the same port and folder.
func (s *Server) Restart() error {
	s.Kill()
	return s.start()
}

// Client returns a raw minio-go client for the server.
func (s *Server) Client() *minio.Client {
	c, err := minio.New(s.addr, &minio.Options{
		Creds:        credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// CreateBucket creates bucket name.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if err := s.Client().MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: Region}); err != nil {
		t.Fatalf("create bucket %q: %v", name, err)
	}
}
