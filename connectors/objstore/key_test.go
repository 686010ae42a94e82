package objstore_test

import (
	"errors"
	"testing"

	"github.com/medflow/medflow/connectors/objstore"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"a/b/c.parquet", true},
		{"dir with spaces/file name.txt", true},
		{"ünïcødé/日本語.csv", true},
		{"..a/b..", true},
		{"", false},
		{"/abs", false},
		{"../up", false},
		{"a/../b", false},
		{"a/..", false},
		{"./a", false},
		{"a//b", false},
		{"a/", false},
		{`a\b`, false},
		{"a\x00b", false},
	}
	for _, tc := range tests {
		err := objstore.ValidateKey(tc.key)
		if tc.ok && err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", tc.key, err)
		}
		if !tc.ok && !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", tc.key, err)
		}
	}
}

func TestIsTemp(t *testing.T) {
	tests := map[string]bool{
		".medflow-tmp-123":     true,
		"a/b/.medflow-tmp-x":   true,
		"a/.medflow-tmp-dir/b": false,
		"medflow-tmp-x":        false,
		"a/b.medflow-tmp-x":    false,
	}
	for key, want := range tests {
		if got := objstore.IsTemp(key); got != want {
			t.Errorf("IsTemp(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	err := objstore.Errorf("get", stringer("s3://b/p"), "k/x", objstore.ErrNotFound)
	if !errors.Is(err, objstore.ErrNotFound) {
		t.Fatal("errors.Is failed")
	}
	if got, want := err.Error(), `get s3://b/p key "k/x": object not found`; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }
