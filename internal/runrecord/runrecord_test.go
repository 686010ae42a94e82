package runrecord

import (
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/local"
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
