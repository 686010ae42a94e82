package local_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/objstore"
)

// backdate makes p look two minutes old.
func backdate(t *testing.T, p string) {
	t.Helper()
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

// TestRemoveStaleSparesLiveWriter: temporary files that killed Puts left
// (unlocked, old) are removed; the one of a Put still in progress is not,
// however old, and that Put completes; young unlocked ones are kept too.
func TestRemoveStaleSparesLiveWriter(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	var _ objstore.StaleRemover = s
	dead := []string{"out/" + objstore.TempPrefix + "1", "out/sub/" + objstore.TempPrefix + "2", objstore.TempPrefix + "3"}
	for _, k := range dead {
		p := filepath.Join(s.Dir(), k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		backdate(t, p)
	}
	young := filepath.Join(s.Dir(), "out", objstore.TempPrefix+"young")
	if err := os.WriteFile(young, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A live Put, blocked on its input.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "out/live.bin", pr, -1) }()
	if _, err := pw.Write([]byte("first half ")); err != nil {
		t.Fatal(err)
	}
	var live string
	for ; live == ""; time.Sleep(time.Millisecond) {
		ms, _ := filepath.Glob(filepath.Join(s.Dir(), "out", objstore.TempPrefix+"*"))
		for _, m := range ms {
			if m != young && !slices.Contains(dead, strings.TrimPrefix(m, s.Dir()+"/")) {
				live = m
			}
		}
	}
	backdate(t, live)

	removed, err := s.RemoveStale(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := dead[:2]; !slices.Equal(removed, want) {
		t.Fatalf("removed %q, want %q (the stale files under out/ only)", removed, want)
	}
	for _, p := range []string{live, young, filepath.Join(s.Dir(), dead[2])} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v (it must be kept)", p, err)
		}
	}
	if removed, err := s.RemoveStale(ctx, ""); err != nil || !slices.Equal(removed, dead[2:]) {
		t.Fatalf("whole store: removed %q, %v", removed, err)
	}
	pw.Write([]byte("second half"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("the live Put failed: %v", err)
	}
	b, err := objstore.ReadAll(ctx, s, "out/live.bin")
	if err != nil || string(b) != "first half second half" {
		t.Fatalf("live Put wrote %q, %v", b, err)
	}
}
