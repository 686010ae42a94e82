package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
	"github.com/medflow/medflow/internal/s3test"
)

const shardConfig = `
settings: {work: DIR/work, log: {level: warn}}
variants:
  job:
    stages:
      - {name: gen, kind: gen.rows, params: {rows: 30000, batch_rows: 1000, groups: 5}}
      - {name: scale, kind: col.scale, inputs: [gen], materialize: true, params: {column: value, factor: 2, output: v2}}
      - {name: out, kind: files.write, inputs: [scale], params: {uri: DIR/out, rows_per_part: 4000}}
`

// Three processes each run one shard against one S3 server; merged, their
// output has exactly the rows of a single-process run.
func TestShardedRunsMerge(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "medflow")
	env := append(os.Environ(), "MEDFLOW_AS_CLI=1", "MEDFLOW_S3_ENDPOINT="+srv.Endpoint(), "MEDFLOW_S3_SECURE=false",
		"MEDFLOW_S3_PATH_STYLE=true", "AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	cli := func(args ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], testArgs(args)...)
		cmd.Env = env
		return cmd
	}
	single := writeConfig(t, t.TempDir(), strings.ReplaceAll(shardConfig, "DIR", "s3://medflow/single"))
	sharded := writeConfig(t, t.TempDir(), strings.ReplaceAll(shardConfig, "DIR", "s3://medflow/sharded"))
	if out, err := cli("run", "job", "--config", single, "--no-progress").CombinedOutput(); err != nil {
		t.Fatalf("single run: %v\n%s", err, out)
	}
	var procs []*exec.Cmd
	for i := range 3 {
		cmd := cli("run", "job", "--config", sharded, "--no-progress", "--shard", fmt.Sprintf("%d/3", i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
	}
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	// Before the merge the sharded output is not visible as a whole.
	opts := connectors.Options{S3: s3.Options{Endpoint: srv.Endpoint(), Region: s3test.Region, PathStyle: true,
		Secure: s3.Bool(false), AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}}
	store, err := connectors.Open(t.Context(), "s3://medflow", opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Open(t.Context(), store, "sharded/out"); err == nil {
		t.Fatal("sharded output visible before the merge")
	}
	if out, err := cli("merge", "job", "--config", sharded, "--shards", "3").CombinedOutput(); err != nil || !strings.Contains(string(out), "merged 3 shards of stage out") {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	a, b := sortedRows(t, store, "single/out"), sortedRows(t, store, "sharded/out")
	if len(a) != 30000 || !slices.Equal(a, b) {
		t.Fatalf("single run %d rows, merged shards %d rows; equal: %v", len(a), len(b), slices.Equal(a, b))
	}
	// Merging with a missing shard fails and commits nothing.
	if out, err := cli("merge", "job", "--config", sharded, "--shards", "4").CombinedOutput(); err == nil || !strings.Contains(string(out), "_shards/0-of-4") {
		t.Fatalf("merge of 4 shards: %v\n%s", err, out)
	}
}

// sortedRows returns a digest of every row of a committed dataset, sorted.
func sortedRows(t *testing.T, store objstore.Store, prefix string) []string {
	t.Helper()
	rows := datasetRows(t, store, prefix)
	for i, row := range rows {
		h := sha256.Sum256([]byte(row))
		rows[i] = hex.EncodeToString(h[:])
	}
	slices.Sort(rows)
	return rows
}
