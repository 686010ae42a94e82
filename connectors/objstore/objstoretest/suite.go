package objstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/medflow/medflow/connectors/objstore"
)

// Factory returns a fresh, empty store for one sub-test.
type Factory func(t *testing.T) objstore.Store

// Run runs the whole conformance suite against stores made by newStore.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s objstore.Store)
	}{
		{"PutGet", testPutGet},
		{"RangeGet", testRangeGet},
		{"Stat", testStat},
		{"ListPrefixOrder", testList},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"InvalidKeys", testInvalidKeys},
		{"AtomicPut", testAtomicPut},
		{"UnknownSizePut", testUnknownSize},
		{"ReaderAt", testReaderAt},
		{"String", testString},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func put(t *testing.T, s objstore.Store, key string, b []byte) {
	t.Helper()
	if err := objstore.PutBytes(t.Context(), s, key, b); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func get(t *testing.T, s objstore.Store, key string, r objstore.Range) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key, r)
	if err != nil {
		t.Fatalf("get %q %+v: %v", key, r, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q %+v: %v", key, r, err)
	}
	return b
}

func testPutGet(t *testing.T, s objstore.Store) {
	tests := []struct {
		key  string
		data []byte
	}{
		{"a.txt", []byte("hello")},
		{"dir/sub/deep.bin", bytes.Repeat([]byte{0, 1, 2, 255}, 4096)},
		{"with space/ünïcødé 日本.csv", []byte("x,y\n1,2\n")},
		{"empty", nil},
	}
	for _, tc := range tests {
		put(t, s, tc.key, tc.data)
		if got := get(t, s, tc.key, objstore.All); !bytes.Equal(got, tc.data) {
			t.Errorf("get %q: got %d bytes, want %d", tc.key, len(got), len(tc.data))
		}
	}
}

func testRangeGet(t *testing.T, s objstore.Store) {
	data := []byte("0123456789abcdef")
	put(t, s, "r", data)
	tests := []struct {
		r    objstore.Range
		want string
	}{
		{objstore.All, string(data)},
		{objstore.Range{Off: 0, Len: 4}, "0123"},
		{objstore.Range{Off: 10, Len: -1}, "abcdef"},
		{objstore.Range{Off: 10, Len: 100}, "abcdef"},
		{objstore.Range{Off: 15, Len: 1}, "f"},
		{objstore.Range{Off: 3, Len: 0}, ""},
		{objstore.Range{Off: 16, Len: -1}, ""},
	}
	for _, tc := range tests {
		if got := string(get(t, s, "r", tc.r)); got != tc.want {
			t.Errorf("range %+v: got %q want %q", tc.r, got, tc.want)
		}
	}
	put(t, s, "empty", nil)
	for _, r := range []objstore.Range{objstore.All, {Off: 0, Len: 5}, {Off: 0, Len: 0}} {
		if got := get(t, s, "empty", r); len(got) != 0 {
			t.Errorf("empty object, range %+v: got %q", r, got)
		}
	}
	for _, r := range []objstore.Range{{Off: 17, Len: -1}, {Off: -1, Len: 2}} {
		rc, err := s.Get(t.Context(), "r", r)
		if err == nil {
			rc.Close()
		}
		if !errors.Is(err, objstore.ErrInvalidRange) {
			t.Errorf("range %+v: got %v, want ErrInvalidRange", r, err)
		}
	}
}

func testStat(t *testing.T, s objstore.Store) {
	put(t, s, "x/y", []byte("12345"))
	info, err := s.Stat(t.Context(), "x/y")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "x/y" || info.Size != 5 || info.ETag == "" || info.ModTime.IsZero() {
		t.Fatalf("stat: %+v", info)
	}
}

func testList(t *testing.T, s objstore.Store) {
	keys := []string{"p/b", "p/a/2", "p/a/1", "p-c", "p/a-x", "q/z", "pa"}
	for i, k := range keys {
		put(t, s, k, bytes.Repeat([]byte{'x'}, i))
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"p-c", "p/a-x", "p/a/1", "p/a/2", "p/b", "pa", "q/z"}},
		{"p/", []string{"p/a-x", "p/a/1", "p/a/2", "p/b"}},
		{"p/a", []string{"p/a-x", "p/a/1", "p/a/2"}},
		{"p/a/", []string{"p/a/1", "p/a/2"}},
		{"p", []string{"p-c", "p/a-x", "p/a/1", "p/a/2", "p/b", "pa"}},
		{"nothing/", nil},
	}
	for _, tc := range tests {
		infos, err := s.List(t.Context(), tc.prefix)
		if err != nil {
			t.Fatalf("list %q: %v", tc.prefix, err)
		}
		var got []string
		for _, in := range infos {
			got = append(got, in.Key)
			if want := int64(slices.Index(keys, in.Key)); in.Size != want {
				t.Errorf("list %q: %s size %d want %d", tc.prefix, in.Key, in.Size, want)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("list %q: got %q want %q", tc.prefix, got, tc.want)
		}
	}
}

func testOverwrite(t *testing.T, s objstore.Store) {
	put(t, s, "o", []byte("first"))
	before, _ := s.Stat(t.Context(), "o")
	put(t, s, "o", []byte("second!"))
	if got := string(get(t, s, "o", objstore.All)); got != "second!" {
		t.Fatalf("got %q", got)
	}
	after, _ := s.Stat(t.Context(), "o")
	if before.ETag == after.ETag {
		t.Errorf("etag unchanged after overwrite: %q", after.ETag)
	}
}

func testDelete(t *testing.T, s objstore.Store) {
	put(t, s, "d/1", []byte("1"))
	put(t, s, "d/2", []byte("2"))
	ctx := t.Context()
	for _, k := range []string{"d/1", "d/1", "never-existed"} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("delete %q: %v", k, err)
		}
	}
	if _, err := s.Stat(ctx, "d/1"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("stat after delete: %v", err)
	}
	infos, err := s.List(ctx, "d/")
	if err != nil || len(infos) != 1 || infos[0].Key != "d/2" {
		t.Fatalf("list after delete: %v %v", infos, err)
	}
}

func testNotFound(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	_, err := s.Get(ctx, "missing/key", objstore.All)
	checkErr(t, s, "get", err, objstore.ErrNotFound, "missing/key")
	_, err = s.Get(ctx, "missing/key", objstore.Range{Off: 1, Len: 0})
	checkErr(t, s, "get empty range", err, objstore.ErrNotFound, "missing/key")
	_, err = s.Stat(ctx, "missing/key")
	checkErr(t, s, "stat", err, objstore.ErrNotFound, "missing/key")
}

func checkErr(t *testing.T, s objstore.Store, op string, err, want error, key string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s %q: got %v, want %v", op, key, err, want)
		return
	}
	msg := err.Error()
	if !bytes.Contains([]byte(msg), []byte(s.String())) || !bytes.Contains([]byte(msg), []byte(fmt.Sprintf("%q", key))) {
		t.Errorf("%s: error %q should name store %q and key %q", op, msg, s, key)
	}
}

func testInvalidKeys(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	for _, key := range []string{"", "../escape", "a/../../b", "/abs/path", `a\b`, "a//b", "nul\x00"} {
		err := objstore.PutBytes(ctx, s, key, []byte("x"))
		checkErr(t, s, "put", err, objstore.ErrInvalidKey, key)
		_, err = s.Get(ctx, key, objstore.All)
		checkErr(t, s, "get", err, objstore.ErrInvalidKey, key)
		_, err = s.Stat(ctx, key)
		checkErr(t, s, "stat", err, objstore.ErrInvalidKey, key)
		err = s.Delete(ctx, key)
		checkErr(t, s, "delete", err, objstore.ErrInvalidKey, key)
	}
}

// failingReader yields n bytes then fails.
type failingReader struct{ n int }

var errBoom = errors.New("boom: reader failed midway")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBoom
	}
	n := min(len(p), f.n)
	clear(p[:n])
	f.n -= n
	return n, nil
}

func testAtomicPut(t *testing.T, s objstore.Store) {
	ctx := t.Context()
	put(t, s, "keep", []byte("old content"))
	for _, size := range []int64{1 << 20, -1} {
		for _, key := range []string{"new", "keep"} {
			err := s.Put(ctx, key, &failingReader{n: 300 << 10}, size)
			if err == nil {
				t.Fatalf("put %q size %d with failing reader succeeded", key, size)
			}
		}
	}
	// A reader that ends early (short of the declared size) must fail too.
	if err := s.Put(ctx, "short", bytes.NewReader([]byte("abc")), 10); err == nil {
		t.Error("put with short reader succeeded")
	}
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Key != "keep" {
		t.Fatalf("after failed puts, list = %+v, want only keep", infos)
	}
	if got := string(get(t, s, "keep", objstore.All)); got != "old content" {
		t.Fatalf("failed put replaced content: %q", got)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := objstore.PutBytes(cctx, s, "cancelled", []byte("x")); err == nil {
		t.Error("put with cancelled context succeeded")
	}
	if _, err := s.Stat(ctx, "cancelled"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("cancelled put visible: %v", err)
	}
}

func testUnknownSize(t *testing.T, s objstore.Store) {
	data := bytes.Repeat([]byte("medflow "), 100_000)
	if err := s.Put(t.Context(), "u", io.MultiReader(bytes.NewReader(data)), -1); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "u", objstore.All); !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes want %d", len(got), len(data))
	}
}

func testReaderAt(t *testing.T, s objstore.Store) {
	data := []byte("the quick brown fox")
	put(t, s, "ra", data)
	ra, err := objstore.ReaderAt(t.Context(), s, "ra", -1)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Size() != int64(len(data)) {
		t.Fatalf("size %d", ra.Size())
	}
	buf := make([]byte, 5)
	if n, err := ra.ReadAt(buf, 4); err != nil || string(buf[:n]) != "quick" {
		t.Fatalf("ReadAt: %q %v", buf[:n], err)
	}
	if n, err := ra.ReadAt(buf, 16); !errors.Is(err, io.EOF) || string(buf[:n]) != "fox" {
		t.Fatalf("ReadAt tail: %q %v", buf[:n], err)
	}
	if _, err := ra.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(ra)
	if err != nil || string(rest) != "brown fox" {
		t.Fatalf("read after seek: %q %v", rest, err)
	}
}

func testString(t *testing.T, s objstore.Store) {
	if s.String() == "" {
		t.Fatal("empty String()")
	}
}
