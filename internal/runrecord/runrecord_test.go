package runrecord

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
)

func TestSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"access_key": true, "secret": true, "api_token": true, "password": true, "AWS_SECRET_ACCESS_KEY": true,
		"key": false, "key_column": false, "model": false, "columns": false, "max_tokens": false,
	} {
		if got := secret(name); got != want {
			t.Errorf("secret(%q) = %v, want %v", name, got, want)
		}
	}
	got := redact(map[string]any{"uri": "s3://b", "access_key": "AKIA123"})
	if got["uri"] != "s3://b" || got["access_key"] != "[REDACTED]" {
		t.Fatalf("redact: %v", got)
	}
}

func TestWriteListRead(t *testing.T) {
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, v := range []string{"a", "b"} {
		r := Record{ID: NewID(start.Add(time.Duration(i) * time.Hour)), Variant: v, Status: "succeeded", Start: start,
			Stages: []Stage{{Name: "s", Kind: "k", RowsOut: int64(i)}}}
		if err := Write(t.Context(), store, r); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := List(t.Context(), store)
	if err != nil || len(recs) != 2 || recs[0].Variant != "a" || recs[1].Stages[0].RowsOut != 1 {
		t.Fatalf("List: %+v %v", recs, err)
	}
	if r, err := Read(t.Context(), store, recs[1].ID[:20]); err != nil || r.Variant != "b" {
		t.Fatalf("Read by prefix: %+v %v", r, err)
	}
	if _, err := Read(t.Context(), store, "2026"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("ambiguous prefix: %v", err)
	}
	if _, err := Read(t.Context(), store, "nope"); err == nil || !strings.Contains(err.Error(), `no run "nope"`) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := store.Stat(t.Context(), "runs/"+recs[0].ID+"/stages.arrow"); err != nil {
		t.Fatalf("stage table: %v", err)
	}
}

// gets counts the GETs made through a store.
type gets struct {
	objstore.Store
	n int
}

func (g *gets) Get(ctx context.Context, key string, r objstore.Range) (io.ReadCloser, error) {
	g.n++
	return g.Store.Get(ctx, key, r)
}

// TestExplainReadsFewRecords: with 40 runs in the work store, Explain
// reads records newest first and stops once every stage has its latest
// run: 2 GETs here (the newest run of the variant lacks stage b), not 40;
// the parts that changed come from that latest run; Read by id reads one.
func TestExplainReadsFewRecords(t *testing.T) {
	dir, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	store := &gets{Store: dir}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var ids []string
	for i := range 40 {
		r := Record{ID: NewID(start.Add(time.Duration(i) * time.Minute)), Variant: "v", Status: "succeeded", Start: start,
			Stages: []Stage{{Name: "a", Fingerprint: fmt.Sprint("a", i), FingerprintParts: map[string]string{"params": fmt.Sprint(i)}},
				{Name: "b", Fingerprint: "b-old", FingerprintParts: map[string]string{"params": "x", "code": "1"}}}}
		if i == 39 { // the newest run ran only a
			r.Stages = r.Stages[:1]
		}
		if err := Write(t.Context(), store, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	plan := &pipeline.Plan{Spec: pipeline.Spec{Variant: "v"},
		Nodes: []*pipeline.Node{{Spec: pipeline.StageSpec{Name: "a"}, Fingerprint: "a39"}, {Spec: pipeline.StageSpec{Name: "b"}, Fingerprint: "b-new"}}}
	store.n = 0
	n, err := Explain(plan, Newest(t.Context(), store))
	if err != nil || n != 2 || store.n != 2 {
		t.Fatalf("Explain read %d records with %d GETs (%v), want 2", n, store.n, err)
	}
	if len(plan.Nodes[0].Changed) != 0 {
		t.Errorf("a: changed %v, want none (same fingerprint as its latest run)", plan.Nodes[0].Changed)
	}
	if !slices.Equal(plan.Nodes[1].Changed, pipeline.Changes(map[string]string{"params": "x", "code": "1"}, Digests(nil))) ||
		len(plan.Nodes[1].Changed) == 0 {
		t.Errorf("b: changed %v", plan.Nodes[1].Changed)
	}
	store.n = 0
	if r, err := Read(t.Context(), store, ids[7]); err != nil || r.ID != ids[7] || store.n != 1 {
		t.Errorf("Read(%s): %s, %v, %d GETs", ids[7], r.ID, err, store.n)
	}
}
