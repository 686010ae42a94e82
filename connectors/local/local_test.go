package local_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/objstore/objstoretest"
)

func newStore(t *testing.T) *local.Store {
	t.Helper()
	s, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store { return newStore(t) })
}

func TestTempFilesHidden(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := objstore.PutBytes(ctx, s, "a/x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), "a", objstore.TempPrefix+"123"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	infos, err := s.List(ctx, "")
	if err != nil || len(infos) != 1 || infos[0].Key != "a/x" {
		t.Fatalf("list = %+v, %v", infos, err)
	}
	err = objstore.PutBytes(ctx, s, "a/"+objstore.TempPrefix+"9", nil)
	if !errors.Is(err, objstore.ErrInvalidKey) {
		t.Fatalf("put of a temp name: %v", err)
	}
}

func TestSymlinkEscape(t *testing.T) {
	s := newStore(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Dir(), "link")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	ctx := t.Context()
	tests := []struct {
		name string
		run  func() error
	}{
		{"get", func() error { _, err := s.Get(ctx, "link/secret", objstore.All); return err }},
		{"stat", func() error { _, err := s.Stat(ctx, "link/secret"); return err }},
		{"put", func() error { return objstore.PutBytes(ctx, s, "link/new", []byte("x")) }},
	}
	for _, tc := range tests {
		if err := tc.run(); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("%s through escaping symlink: got %v, want ErrInvalidKey", tc.name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("put wrote outside the root")
	}
}

func TestString(t *testing.T) {
	s := newStore(t)
	if want := "file://" + filepath.ToSlash(s.Dir()); s.String() != want {
		t.Fatalf("String() = %q want %q", s.String(), want)
	}
}
