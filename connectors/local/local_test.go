package local_test

import (
	"errors"
	"io/fs"
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

// Reading a folder that does not exist must not create it.
func TestReadMissingRootCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "there")
	s, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if objs, err := s.List(ctx, ""); err != nil || len(objs) != 0 {
		t.Errorf("List = %v, %v; want empty", objs, err)
	}
	if _, err := s.Stat(ctx, "a"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Stat: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "a", objstore.All); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Get: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("reading created %s (%v)", dir, err)
	}
	if err := objstore.PutBytes(ctx, s, "a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, err := objstore.ReadAll(ctx, s, "a"); err != nil || string(b) != "x" {
		t.Fatalf("after Put: %q %v", b, err)
	}
}
