package main

import (
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
)

// The demo over S3 (versitygw): generate to s3://, read back from s3://,
// write results to s3://. Credentials come from the environment and must
// appear in no output.
func TestDemoOverS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "medflow")
	t.Setenv("MEDFLOW_S3_ENDPOINT", srv.Endpoint())
	t.Setenv("MEDFLOW_S3_SECURE", "false")
	t.Setenv("MEDFLOW_S3_PATH_STYLE", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	cfg := writeConfig(t, t.TempDir(), strings.ReplaceAll(demoConfig, "DIR", "s3://medflow/demo"))

	var all strings.Builder
	for _, variant := range []string{"data", "demo"} {
		code, out, errs := medflow(t, "run", variant, "--config", cfg, "--log-level", "debug", "--log-format", "json")
		all.WriteString(out + errs)
		if code != 0 {
			t.Fatalf("run %s: exit %d\n%s", variant, code, errs)
		}
	}
	if !strings.Contains(all.String(), `"uri":"s3://medflow/demo/out/stats"`) {
		t.Errorf("no commit of the stats dataset logged:\n%s", all.String())
	}
	store, err := connectors.Open(t.Context(), "s3://medflow/demo", connectors.Options{S3: s3.Options{
		Endpoint: srv.Endpoint(), PathStyle: true, Secure: s3.Bool(false), Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, store, "in"); n != 20000 {
		t.Errorf("input rows %d", n)
	}
	if n := countRows(t, store, "out/stats"); n != 3 {
		t.Errorf("stats rows %d, want 3", n)
	}

	// Wrong credentials: a clear error, and the secret is not in it.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-"+s3test.SecretKey)
	code, out, errs := medflow(t, "run", "demo", "--config", cfg)
	if code == 0 || !strings.Contains(errs, "s3://medflow/demo") || !strings.Contains(errs, "Access Denied") {
		t.Fatalf("wrong secret: exit %d\n%s", code, errs)
	}
	all.WriteString(out + errs)
	// Nor in anything the runs wrote: datasets, run records, stage tables.
	objs, err := store.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, o := range objs {
		b, err := objstore.ReadAll(t.Context(), store, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
		if strings.HasSuffix(o.Key, "record.json") {
			records++
		}
	}
	if records != 2 {
		t.Errorf("%d run records in the work store, want 2", records)
	}
	for _, secret := range []string{s3test.SecretKey} {
		if strings.Contains(all.String(), secret) {
			t.Fatalf("secret leaked into an output or log")
		}
	}
}

// The S3 server dies for ~10 s in the middle of a run and comes back: the
// run waits (bounded backoff) and completes with every row.
func TestS3OutageDuringRun(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "medflow")
	t.Setenv("MEDFLOW_S3_ENDPOINT", srv.Endpoint())
	t.Setenv("MEDFLOW_S3_SECURE", "false")
	t.Setenv("MEDFLOW_S3_PATH_STYLE", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	cfg := writeConfig(t, t.TempDir(), `
settings: {work: s3://medflow/work, log: {level: warn}}
variants:
  job:
    stages:
      - {name: gen, kind: gen.rows, params: {rows: 3000000, batch_rows: 20000}}
      - {name: out, kind: files.write, inputs: [gen], params: {uri: s3://medflow/out, rows_per_part: 100000}}
`)
	type result struct {
		code int
		errs string
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		code, _, errs := medflow(t, "run", "job", "--config", cfg, "--no-progress")
		done <- result{code, errs}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the run ended before the outage (exit %d): make it longer\n%s", r.code, r.errs)
	default:
	}
	srv.Kill()
	time.Sleep(10 * time.Second)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("run across the outage: exit %d\n%s", r.code, r.errs)
	}
	if d := time.Since(start); d < 10*time.Second {
		t.Fatalf("the run took %v: it did not span the outage", d)
	}
	store, err := connectors.Open(t.Context(), "s3://medflow", connectors.Options{S3: s3.Options{Endpoint: srv.Endpoint(),
		PathStyle: true, Secure: s3.Bool(false), Region: s3test.Region, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, store, "out"); n != 3000000 {
		t.Fatalf("%d rows after the outage, want 3000000", n)
	}
}
