package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"strings"
	"testing"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
)

// TestSnapshotCheck: every listed object checks out until it changes; a
// rewrite (other size, or same size and other content), an object added
// after the listing and one the filter left out fail with ErrChanged
// naming the key, also when every key's hash collides (the keys are then
// compared whole).
func TestSnapshotCheck(t *testing.T) {
	hashes := []struct {
		name string
		hash func(maphash.Seed, string) uint64
	}{
		{"maphash", maphash.String},
		{"all-collide", func(maphash.Seed, string) uint64 { return 7 }},
		{"some-collide", func(_ maphash.Seed, k string) uint64 { return uint64(len(k)) }},
	}
	for _, h := range hashes {
		t.Run(h.name, func(t *testing.T) {
			defer objstore.SetKeyHash(h.hash)()
			ctx := context.Background()
			s, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			put := func(key, body string) {
				t.Helper()
				if err := s.Put(ctx, key, strings.NewReader(body), int64(len(body))); err != nil {
					t.Fatal(err)
				}
			}
			keys := []string{"a/1.jpg", "a/2.jpg", "b/10.jpg", "b/22.jpg", "c.jpg", "skip.txt"}
			for i, k := range keys {
				put(k, fmt.Sprint("image ", i))
			}
			keep := func(k string) bool { return !strings.HasSuffix(k, ".txt") }
			sn, fp, err := objstore.TakeSnapshot(ctx, s, "", keep)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := objstore.Fingerprint(ctx, s, "", keep); fp != want {
				t.Fatalf("fingerprint %s, Fingerprint says %s", fp, want)
			}
			if sn.Len() != 5 {
				t.Fatalf("Len = %d, want 5", sn.Len())
			}
			for _, k := range keys[:5] {
				if err := sn.Check(ctx, s, k); err != nil {
					t.Fatalf("unchanged %s: %v", k, err)
				}
			}
			put("a/2.jpg", "a longer image 1")  // other size
			put("b/10.jpg", "IMAGE 2")          // same size, other content
			put("d.jpg", "added after listing") // not listed
			for _, k := range []string{"a/2.jpg", "b/10.jpg", "d.jpg", "skip.txt"} {
				if err := sn.Check(ctx, s, k); !errors.Is(err, objstore.ErrChanged) || !strings.Contains(err.Error(), k) {
					t.Errorf("%s: err = %v, want ErrChanged naming it", k, err)
				}
			}
			for _, k := range []string{"a/1.jpg", "b/22.jpg", "c.jpg"} {
				if err := sn.Check(ctx, s, k); err != nil {
					t.Errorf("unchanged %s after others changed: %v", k, err)
				}
			}
			var none *objstore.Snapshot
			if err := none.Check(ctx, s, "anything"); err != nil || none.Len() != 0 {
				t.Errorf("nil snapshot: Check = %v, Len = %d; want nil, 0", err, none.Len())
			}
		})
	}
}

// lister is a Store that only lists (n objects with MIMIC-length keys);
// TestSnapshotSize never reads.
type lister struct {
	objstore.Store
	n int
}

func (l lister) List(context.Context, string) ([]objstore.ObjectInfo, error) {
	objs := make([]objstore.ObjectInfo, l.n)
	for i := range objs {
		var k bytes.Buffer
		fmt.Fprintf(&k, "files/p1%d/p1%07d/s5%07d/%08x-%08x-%08x-%08x-%08x.jpg", i%10, i, i, i, i*3, i*5, i*7, i*11)
		objs[i] = objstore.ObjectInfo{Key: k.String(), Size: int64(1_500_000 + i), ETag: fmt.Sprintf("%032x", i)}
	}
	return objs, nil
}

// TestSnapshotSize: a snapshot of 100,000 objects with MIMIC-CXR-length
// keys (80 bytes) holds under 64 bytes per object once the listing is
// gone (the map of ObjectInfo it replaced held ~350).
func TestSnapshotSize(t *testing.T) {
	const n = 100_000
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	sn, _, err := objstore.TakeSnapshot(context.Background(), lister{n: n}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	per := float64(heap()-before) / n
	runtime.KeepAlive(sn)
	t.Logf("%.1f bytes per object", per)
	if per > 64 {
		t.Fatalf("snapshot holds %.1f bytes per object, want ≤ 64", per)
	}
}
