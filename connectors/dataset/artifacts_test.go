package dataset_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"testing"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/pipeline"
)

func TestArtifacts(t *testing.T) {
	ctx := context.Background()
	store, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var a, b pipeline.Artifacts = dataset.NewArtifacts(store, "artifacts", "fp1"), dataset.NewArtifacts(store, "artifacts", "fp2")
	for _, name := range []string{"curve.arrow", "checkpoints/step-000002.arrow", "checkpoints/step-000001.arrow"} {
		if err := a.Put(ctx, name, []byte(name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put(ctx, "curve.arrow", []byte("other")); err != nil {
		t.Fatal(err)
	}
	names, err := a.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"checkpoints/step-000001.arrow", "checkpoints/step-000002.arrow", "curve.arrow"}; !slices.Equal(names, want) {
		t.Fatalf("List = %q, want %q", names, want)
	}
	got, err := a.Get(ctx, "curve.arrow")
	if err != nil || string(got) != "curve.arrow" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if err := a.Delete(ctx, "curve.arrow"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "curve.arrow"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get after Delete: %v, want fs.ErrNotExist", err)
	}
	if got, err := b.Get(ctx, "curve.arrow"); err != nil || string(got) != "other" {
		t.Fatalf("the other stage's artifact: %q, %v", got, err)
	}
	for _, bad := range []string{"", "../fp2/curve.arrow", "/abs", "a/../../x"} {
		if err := a.Put(ctx, bad, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded, want an error (outside the stage's folder)", bad)
		}
	}
}
