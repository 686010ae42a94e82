package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
	"github.com/medflow/medflow/pipeline/pipelinetest"
)

// Distinctive fake credentials: a leak of either is found by grepping.
const (
	canaryAccess = "AKIAMEDFLOWCANARY1234"
	canarySecret = "sEcReT-CaNaRy-7f3e9a1c5b2d-DO-NOT-LEAK"
	canaryToken  = "ToKeN-CaNaRy-41d2c3b4a5"
)

// canaryServer starts versitygw (the s3test binary) with the canary root
// credentials on a free 127.0.0.1 port and returns its endpoint. It is
// killed when the test ends.
func canaryServer(t *testing.T) string {
	t.Helper()
	bin := s3test.Require(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--access", canaryAccess, "--secret", canarySecret, "--region", s3test.Region,
		"--port", addr, "--quiet", "posix", data)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(canaryAccess, canarySecret, ""), Region: s3test.Region})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err = c.MakeBucket(ctx, "canary", minio.MakeBucketOptions{Region: s3test.Region})
		cancel()
		if err == nil {
			return addr
		}
		select {
		case werr := <-exited:
			exited <- werr
			t.Fatalf("versitygw exited: %v", werr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw on %s not ready: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const canaryConfig = `
settings:
  work: DIR/work
  s3: {secure: false, path_style: true, region: us-east-1}
variants:
  data:
    stages:
      - {name: rows, kind: gen.rows, params: {rows: 3000, batch_rows: 1000, groups: 3}}
      - {name: csv, kind: files.write, inputs: [rows], params: {uri: s3://canary/in, format: csv, rows_per_part: 1000}}
  read:
    stages:
      - name: read
        kind: files.read
        params: {uri: s3://canary/in, format: csv, columns: ["id:int64", "group:utf8", "value:float64"], on_error: quarantine, allow_uncommitted: true}
      - {name: scale, kind: col.scale, inputs: [read], params: {column: value, factor: 2, output: v2}}
      - {name: out, kind: files.write, inputs: [scale], params: {uri: s3://canary/out}}
`

// Credentials reach medflow through the environment (AWS_* and
// MEDFLOW_S3_*) and through the config file (${VAR} interpolation); none
// of the canary values may appear in stdout, stderr (text and JSON logs at
// debug level), the run records, the quarantine table, `medflow runs` /
// `runs show` output, any file under the work folder, or any object the
// runs wrote to the bucket — after a successful run, a run that
// quarantines a file, and runs that fail with a wrong secret.
func TestSecretsNeverLeak(t *testing.T) {
	endpoint := canaryServer(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, canaryConfig)
	t.Setenv("MEDFLOW_S3_ENDPOINT", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", canaryAccess)
	t.Setenv("AWS_SECRET_ACCESS_KEY", canarySecret)
	t.Setenv("AWS_SESSION_TOKEN", "")

	var all strings.Builder
	run := func(wantOK bool, args ...string) string {
		t.Helper()
		code, out, errs := medflow(t, args...)
		fmt.Fprintf(&all, "$ medflow %s\n%s\n%s\n", strings.Join(args, " "), out, errs)
		if (code == 0) != wantOK {
			t.Fatalf("medflow %s: exit %d\n%s", strings.Join(args, " "), code, errs)
		}
		return errs
	}
	run(true, "run", "data", "--config", cfg, "--no-progress", "--log-level", "debug", "--log-format", "json")

	// A malformed part next to the good ones, in a folder read as plain
	// files (no manifest): quarantined by files.read.
	store := canaryStore(t, endpoint, canaryAccess, canarySecret)
	if err := objstore.PutBytes(t.Context(), store, "in/zz-bad.csv", []byte("id,group,value\n1,a,not-a-number\n")); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(t.Context(), "in/_manifest.json"); err != nil {
		t.Fatal(err)
	}
	errs := run(true, "run", "read", "--config", cfg, "--no-progress", "--log-level", "debug", "--log-format", "text")
	if !strings.Contains(errs, "zz-bad.csv") {
		t.Fatalf("the bad part was not quarantined:\n%s", errs)
	}
	if n := countRows(t, store, "out"); n != 3000 {
		t.Errorf("%d rows out, want the 3000 good ones", n)
	}

	// Wrong secret, from the environment, then from the config file by
	// interpolation (with a session token too): clear errors, no secret.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-"+canarySecret)
	errs = run(false, "run", "read", "--config", cfg, "--no-progress", "--log-level", "debug", "--log-format", "json")
	if !strings.Contains(errs, "s3://canary/in") {
		t.Errorf("wrong secret: the error does not name the store:\n%s", errs)
	}
	t.Logf("wrong secret: %s", lastLine(errs))
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("CANARY_SECRET", canarySecret+"-x")
	t.Setenv("CANARY_TOKEN", canaryToken)
	cfg2 := writeConfigNamed(t, dir, "interp.yaml", strings.Replace(canaryConfig,
		"  s3: {secure: false, path_style: true, region: us-east-1}\n",
		"  s3:\n    secure: false\n    path_style: true\n    secret_key: ${CANARY_SECRET}\n    session_token: ${CANARY_TOKEN}\n", 1))
	errs = run(false, "run", "read", "--config", cfg2, "--no-progress", "--log-level", "debug", "--log-format", "text")
	if !strings.Contains(errs, "s3://canary/in") || strings.Contains(errs, "invalid YAML") {
		t.Errorf("secret from the config file: not an S3 error naming the store:\n%s", errs)
	}
	run(true, "validate", "--config", cfg2, "--log-level", "debug")
	run(true, "runs", "--config", cfg)

	// Every file under the work folder (run records, quarantine tables,
	// stage tables) and every object in the bucket.
	files := 0
	var workFiles []string
	records := 0
	err := filepath.WalkDir(filepath.Join(dir, "work"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		workFiles = append(workFiles, p)
		if strings.HasSuffix(p, "record.json") {
			records++
		}
		rows := dumpTable(t, filepath.Dir(p), filepath.Base(p))
		if strings.Contains(p, "quarantine") && strings.HasSuffix(p, ".parquet") && !strings.Contains(rows, "zz-bad.csv") {
			t.Errorf("the decoded quarantine table lacks the bad part:\n%s", rows)
		}
		fmt.Fprintf(&all, "== %s\n%s\n%s\n", p, b, rows)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Runs that fail before they start (credentials rejected while
	// opening a store) leave no record; the others do.
	if !slices.ContainsFunc(workFiles, func(p string) bool { return strings.Contains(p, "quarantine") }) {
		t.Errorf("no quarantine table under the work folder:\n%s", strings.Join(workFiles, "\n"))
	}
	if records < 2 {
		t.Errorf("%d run records under the work folder, want >= 2", records)
	}
	objs, err := store.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		b, err := objstore.ReadAll(t.Context(), store, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&all, "== s3 %s\n%s\n", o.Key, b)
	}
	// `runs show` of every recorded run.
	recs, _ := filepath.Glob(filepath.Join(dir, "work", "runs", "*"))
	for _, r := range recs {
		run(true, "show", filepath.Base(r), "--config", cfg)
	}
	text := all.String()
	if !strings.Contains(text, "quarantine") || files == 0 {
		t.Fatalf("nothing quarantined or no work files: the grep would prove nothing\n%s", text)
	}
	for _, secret := range []string{canarySecret, canaryAccess, canaryToken} {
		if i := strings.Index(text, secret); i >= 0 {
			t.Errorf("%q leaked:\n...%s...", secret, text[max(0, i-300):min(len(text), i+100)])
		}
	}
	t.Logf("grepped %d bytes: %d medflow invocations, %d work files (%d run records), %d bucket objects, %d `show` outputs",
		len(text), strings.Count(text, "$ medflow"), files, records, len(objs), len(recs))
}

// dumpTable returns the rows of a Parquet or Arrow IPC file as text (the
// bytes on disk may be compressed, so grepping them proves nothing), or ""
// for other files.
func dumpTable(t *testing.T, dir, name string) string {
	t.Helper()
	f, err := formats.FormatOf(name)
	if err != nil || f == formats.CSV {
		return ""
	}
	st, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := formats.NewReader(t.Context(), st, name, f, memory.NewGoAllocator(), formats.ReaderOptions{})
	if err != nil {
		t.Fatalf("decode %s/%s: %v", dir, name, err)
	}
	defer r.Release()
	var b strings.Builder
	for r.Next() {
		rec := r.RecordBatch()
		for i := range int(rec.NumRows()) {
			for c := range int(rec.NumCols()) {
				fmt.Fprintf(&b, "%v\t", pipelinetest.Value(rec.Column(c), i))
			}
			b.WriteByte('\n')
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("decode %s/%s: %v", dir, name, err)
	}
	return b.String()
}

func writeConfigNamed(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(body, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func canaryStore(t *testing.T, endpoint, access, secret string) objstore.Store {
	t.Helper()
	st, err := connectors.Open(t.Context(), "s3://canary", connectors.Options{S3: s3.Options{Endpoint: endpoint, PathStyle: true,
		Secure: s3.Bool(false), Region: s3test.Region, AccessKey: access, SecretKey: secret}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// S3 uses TLS with certificate verification unless told otherwise: against
// an https endpoint with a self-signed certificate, the CLI with no
// secure/insecure settings fails with a certificate error (and the
// connector's zero Options mean TLS on, verification on).
func TestS3VerifiesTLSByDefault(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1) // reached only if the certificate was accepted
		w.WriteHeader(http.StatusOK)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshakes
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	defer srv.Close()
	endpoint := strings.TrimPrefix(srv.URL, "https://")

	if o := (s3.Options{}); !o.IsSecure() || o.InsecureSkipVerify {
		t.Fatalf("zero s3.Options: secure %v, skip verify %v; want TLS with verification", o.IsSecure(), o.InsecureSkipVerify)
	}

	dir := t.TempDir()
	cfg := writeConfig(t, dir, `
settings: {work: DIR/work, s3: {path_style: true, region: us-east-1}}
variants:
  v:
    stages:
      - {name: rows, kind: gen.rows, params: {rows: 10}}
      - {name: out, kind: files.write, inputs: [rows], params: {uri: s3://bucket/out}}
`)
	t.Setenv("MEDFLOW_S3_ENDPOINT", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", canaryAccess)
	t.Setenv("AWS_SECRET_ACCESS_KEY", canarySecret)
	start := time.Now()
	code, _, errs := medflow(t, "run", "v", "--config", cfg, "--no-progress")
	if code == 0 {
		t.Fatal("a run against a self-signed https endpoint succeeded")
	}
	if !strings.Contains(errs, "certificate") {
		t.Errorf("the error is not a certificate error:\n%s", errs)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server answered %d requests: the certificate was not checked", n)
	}
	// A rejected certificate is final: no retry storm against the endpoint
	// (one connection per S3 call the run makes before it stops).
	if n := conns.Load(); n > 2 {
		t.Errorf("%d TLS connections: a certificate error was retried", n)
	}
	if strings.Contains(errs, canarySecret) || strings.Contains(errs, canaryAccess) {
		t.Error("credentials in the TLS error output")
	}
	t.Logf("failed after %v: %s", time.Since(start).Round(time.Millisecond), firstErrLine(errs))

	// With verification explicitly off the handshake succeeds (the fake
	// server then answers nonsense, which is another error).
	hits.Store(0)
	st, err := connectors.Open(t.Context(), "s3://bucket", connectors.Options{S3: s3.Options{Endpoint: endpoint, PathStyle: true,
		Region: "us-east-1", AccessKey: canaryAccess, SecretKey: canarySecret, InsecureSkipVerify: true,
		Retry: s3.Retry{InitialBackoff: time.Millisecond, Deadline: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = st.Stat(t.Context(), "x")
	if hits.Load() == 0 {
		t.Error("insecure_skip_verify: the request never reached the server")
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func firstErrLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "certificate") {
			return l
		}
	}
	return ""
}

// The local connector is confined to its root: "..", absolute keys and
// symlinks (files or folders) pointing outside fail with ErrInvalidKey for
// reads and writes, and nothing outside is created or changed.
func TestLocalStoreConfinedToRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secretFile := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secretFile, []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secretFile, filepath.Join(root, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	st, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, key := range []string{"../outside/secret.txt", "a/../../outside/secret.txt", secretFile, "/etc/passwd",
		"link.txt", "linkdir/secret.txt", "linkdir/new.txt"} {
		t.Run(key, func(t *testing.T) {
			if rc, err := st.Get(ctx, key, objstore.All); err == nil {
				rc.Close()
				t.Errorf("Get(%q) read outside the root", key)
			} else if !errors.Is(err, objstore.ErrInvalidKey) && !errors.Is(err, objstore.ErrNotFound) {
				t.Errorf("Get(%q): %v, want ErrInvalidKey", key, err)
			}
			if _, err := st.Stat(ctx, key); err == nil {
				t.Errorf("Stat(%q) succeeded", key)
			}
			if err := objstore.PutBytes(ctx, st, key, []byte("pwned")); err == nil {
				// Allowed only when the key's last element was a symlink
				// inside the root, now replaced by a regular file there.
				if fi, lerr := os.Lstat(filepath.Join(root, key)); lerr != nil || !fi.Mode().IsRegular() {
					t.Errorf("Put(%q) succeeded and did not write a regular file inside the root", key)
				}
			}
			if err := st.Delete(ctx, key); err == nil {
				if _, serr := os.Stat(secretFile); serr != nil {
					t.Errorf("Delete(%q) removed a file outside the root", key)
				}
			}
		})
	}
	if b, err := os.ReadFile(secretFile); err != nil || string(b) != "outside" {
		t.Errorf("the file outside the root changed: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new.txt")); err == nil {
		t.Error("a file was created outside the root through a symlink")
	}
	objs, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		t.Errorf("List shows %q (symlinks are not objects)", o.Key)
	}
}
