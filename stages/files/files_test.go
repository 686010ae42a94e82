package files_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors"
	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/files"
	"github.com/medflow/medflow/stages/gen"
	"github.com/medflow/medflow/stages/stagekit"
)

func registry(t *testing.T) *pipeline.Registry {
	r := pipeline.NewRegistry()
	deps := stagekit.Deps{Open: func(ctx context.Context, uri string) (objstore.Store, error) {
		return connectors.Open(ctx, uri, connectors.Options{})
	}}
	if err := files.Register(r, deps); err != nil {
		t.Fatal(err)
	}
	if err := gen.Register(r); err != nil {
		t.Fatal(err)
	}
	return r
}

var demoColumns = []any{"id:int64", "group:utf8", "value:float64"}

func put(t *testing.T, dir, key, body string) {
	t.Helper()
	s, err := connectors.Open(t.Context(), dir, connectors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := objstore.PutBytes(t.Context(), s, key, []byte(body)); err != nil {
		t.Fatal(err)
	}
}

func TestWriteThenRead(t *testing.T) {
	for _, format := range []string{"csv", "parquet", "arrow"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			_, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
				pt.Stage("g", "gen.rows", nil, map[string]any{"rows": 5000, "batch_rows": 1000}),
				pt.Stage("w", "files.write", []string{"g"}, map[string]any{"uri": dir, "format": format, "rows_per_part": 2000}),
			)
			if err != nil {
				t.Fatal(err)
			}
			res, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
				pt.Stage("r", "files.read", nil, map[string]any{"uri": dir, "format": format, "columns": demoColumns, "batch_rows": 700}),
				pt.Stage("out", "test.collect", []string{"r"}, nil),
			)
			if err != nil {
				t.Fatal(err)
			}
			ids := res.Column("out", "id")
			if len(ids) != 5000 {
				t.Fatalf("read %d rows", len(ids))
			}
			for i, id := range ids {
				if id != int64(i) {
					t.Fatalf("row %d has id %v: files read out of order", i, id)
				}
			}
		})
	}
}

func TestReadBadFiles(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "a.csv", "id,group,value\n1,g1,0.5\n2,g2,1.5\n")
	put(t, dir, "b.csv", "id,group,value\n3,g1,not-a-number\n")
	put(t, dir, "c.csv", "id,group,value\n4,g3,2.5\n")
	read := func(onError string) (*pt.Result, error) {
		return pt.Run(t, registry(t), pipeline.PlanOptions{},
			pt.Stage("r", "files.read", nil, map[string]any{"uri": dir, "columns": demoColumns, "on_error": onError}),
			pt.Stage("out", "test.collect", []string{"r"}, nil),
		)
	}
	_, err := read("fail")
	if err == nil || !strings.Contains(err.Error(), `stage "r"`) || !strings.Contains(err.Error(), "b.csv") {
		t.Fatalf("fail mode: %v (want an error naming the stage and b.csv)", err)
	}
	res, err := read("quarantine")
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Column("out", "id"); len(got) != 3 || got[2] != int64(4) {
		t.Fatalf("good rows %v, want ids 1 2 4", got)
	}
	q := res.Run.Quarantined()
	if len(q) != 1 || q[0].Stage != "r" || !strings.HasSuffix(q[0].Key, "/b.csv") || q[0].Reason == "" {
		t.Fatalf("quarantine %+v", q)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, "x.txt", "not matched")
	for _, tc := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"uri": dir, "columns": demoColumns}, `no files matching "*.csv"`},
		{map[string]any{"uri": dir, "columns": demoColumns, "format": "xls"}, `key "params.format": invalid param value: "xls": want csv, parquet or arrow`},
		{map[string]any{"uri": dir, "columns": []any{"id:int65"}}, `unknown type "int65"`},
		{map[string]any{"uri": dir, "columns": demoColumns, "on_error": "ignore"}, `key "params.on_error": invalid param value: "ignore": want fail or quarantine`},
		{map[string]any{"uri": dir, "columns": demoColumns, "pattern": "[x"}, `key "params.pattern": invalid param value: "[x": syntax error`},
	} {
		_, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
			pt.Stage("r", "files.read", nil, tc.params), pt.Stage("out", "test.collect", []string{"r"}, nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.params, err, tc.want)
		}
	}
}

func TestReadSchemaMismatch(t *testing.T) {
	dir := t.TempDir()
	_, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
		pt.Stage("g", "gen.rows", nil, map[string]any{"rows": 10}),
		pt.Stage("w", "files.write", []string{"g"}, map[string]any{"uri": dir}),
	)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pt.Run(t, registry(t), pipeline.PlanOptions{},
		pt.Stage("r", "files.read", nil, map[string]any{"uri": dir, "format": "parquet", "columns": []any{"id:int32"}}),
		pt.Stage("out", "test.collect", []string{"r"}, nil))
	if err == nil || !strings.Contains(err.Error(), "part-00000.parquet: schema mismatch: file has {id: int64") {
		t.Fatalf("err %v", err)
	}
}

// TestReadHonoursManifest: a folder holding a committed dataset reads
// exactly its parts (orphans beside it are not read); a folder of parts
// without a manifest is refused, naming it, unless allow_uncommitted; a
// committed part that changed after its commit fails the read naming it,
// even with on_error: quarantine.
func TestReadHonoursManifest(t *testing.T) {
	dir := t.TempDir()
	if _, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
		pt.Stage("g", "gen.rows", nil, map[string]any{"rows": 5000, "batch_rows": 1000}),
		pt.Stage("w", "files.write", []string{"g"}, map[string]any{"uri": dir, "rows_per_part": 2000}),
	); err != nil {
		t.Fatal(err)
	}
	read := func(params map[string]any) ([]any, error) {
		p := map[string]any{"uri": dir, "format": "parquet", "columns": demoColumns}
		for k, v := range params {
			p[k] = v
		}
		res, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
			pt.Stage("r", "files.read", nil, p), pt.Stage("out", "test.collect", []string{"r"}, nil))
		if err != nil {
			return nil, err
		}
		return res.Column("out", "id"), nil
	}
	part := func(name string) string { return fileText(t, dir, name) }
	// Orphans: a crashed writer's parts and a stray copy.
	put(t, dir, "part-00003.parquet", part("part-00000.parquet"))
	put(t, dir, "part-x-00000.parquet", part("part-00001.parquet"))
	for _, params := range []map[string]any{nil, {"allow_uncommitted": true}} {
		ids, err := read(params)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 5000 {
			t.Fatalf("%v: read %d rows, want the 5000 committed (orphan parts were read)", params, len(ids))
		}
	}

	// No manifest: refused, unless allowed (then every part is read).
	manifest := part(dataset.ManifestName)
	if err := os.Remove(filepath.Join(dir, dataset.ManifestName)); err != nil {
		t.Fatal(err)
	}
	_, err := read(nil)
	if !errors.Is(err, files.ErrNotCommitted) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "allow_uncommitted") {
		t.Fatalf("parts without a manifest: %v, want ErrNotCommitted naming %s", err, dir)
	}
	if ids, err := read(map[string]any{"allow_uncommitted": true}); err != nil || len(ids) != 5000+2000+2000 {
		t.Fatalf("allow_uncommitted: %d rows, %v; want every part's rows", len(ids), err)
	}
	// CSV files that are not parts are read as before.
	put(t, dir, "extra.csv", "id,group,value\n1,g1,0.5\n")
	if ids, err := read(map[string]any{"format": "csv"}); err != nil || len(ids) != 1 {
		t.Fatalf("plain CSV beside parts: %d rows, %v", len(ids), err)
	}

	// A committed part changed after its commit.
	put(t, dir, dataset.ManifestName, manifest)
	b := []byte(part("part-00001.parquet"))
	b[len(b)/2] ^= 4
	put(t, dir, "part-00001.parquet", string(b))
	for _, onErr := range []string{"fail", "quarantine"} {
		_, err := read(map[string]any{"on_error": onErr})
		if !errors.Is(err, dataset.ErrCorrupt) || !strings.Contains(err.Error(), "part-00001.parquet") {
			t.Fatalf("on_error %s: damaged part: %v, want ErrCorrupt naming part-00001.parquet", onErr, err)
		}
	}
}

// TestReadDetectsInputsChangedDuringRun: the objects files.read lists when
// the plan is resolved (its fingerprint) are checked again when read; one
// rewritten in between fails the run naming it (even with on_error:
// quarantine), for plain files and for a committed dataset's manifest.
func TestReadDetectsInputsChangedDuringRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format string
		change string // key rewritten after resolving
	}{
		{"files", "csv", "b.csv"},
		{"dataset", "parquet", dataset.ManifestName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.format == "csv" {
				put(t, dir, "a.csv", "id,group,value\n1,g1,0.5\n")
				put(t, dir, "b.csv", "id,group,value\n2,g2,1.5\n")
			} else if _, err := pt.Run(t, registry(t), pipeline.PlanOptions{},
				pt.Stage("g", "gen.rows", nil, map[string]any{"rows": 100}),
				pt.Stage("w", "files.write", []string{"g"}, map[string]any{"uri": dir}),
			); err != nil {
				t.Fatal(err)
			}
			for _, change := range []bool{false, true} {
				reg := registry(t)
				res := &pt.Result{}
				pt.Register(reg, res)
				plan, err := reg.Plan(pipeline.Spec{Variant: "v", Stages: []pipeline.StageSpec{
					pt.Stage("r", "files.read", nil, map[string]any{"uri": dir, "format": tc.format, "columns": demoColumns, "on_error": "quarantine"}),
					pt.Stage("out", "test.collect", []string{"r"}, nil),
				}}, pipeline.PlanOptions{})
				if err != nil {
					t.Fatal(err)
				}
				cacheStore, err := connectors.Open(t.Context(), t.TempDir(), connectors.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := plan.Resolve(t.Context(), dataset.NewCache(cacheStore, "cache", nil), nil); err != nil {
					t.Fatal(err)
				}
				if change { // rewritten with the same content: a new version all the same
					time.Sleep(10 * time.Millisecond)
					put(t, dir, tc.change, fileText(t, dir, tc.change))
				}
				err = plan.NewRun(pipeline.RunOptions{}).Execute(t.Context())
				switch {
				case !change && err != nil:
					t.Fatalf("unchanged inputs: %v", err)
				case change && (!errors.Is(err, objstore.ErrChanged) || !strings.Contains(err.Error(), tc.change)):
					t.Fatalf("%s rewritten after the listing: %v, want ErrChanged naming it", tc.change, err)
				}
			}
		})
	}
}

func fileText(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
