package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/formats"
	"github.com/medflow/medflow/connectors/internal/storetest"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/objstore/objstoretest"
)

// flipBit flips bit (off*7)%8 of byte off of key, in place.
func flipBit(t *testing.T, store objstore.Store, key string, off int) {
	t.Helper()
	b, err := objstore.ReadAll(t.Context(), store, key)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 1 << ((off * 7) % 8)
	if err := objstore.PutBytes(t.Context(), store, key, b); err != nil {
		t.Fatal(err)
	}
}

// offsets returns n offsets spread over [0, size), the first and last
// byte included.
func offsets(size int64, n int) []int {
	out := []int{0, int(size) - 1}
	for i := 1; i < n-1; i++ {
		out = append(out, int(size*int64(i)/int64(n-1)))
	}
	return out
}

// objectKeys lists the keys under prefix whose base name has the given
// prefix.
func objectKeys(t *testing.T, store objstore.Store, prefix, base string) []string {
	t.Helper()
	objs, err := store.List(t.Context(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		if strings.HasPrefix(path.Base(o.Key), base) {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// logTo returns a logger writing text lines to buf.
func logTo(buf *bytes.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(buf, nil)) }

// fillCache commits rows of batch() as fp's whole output.
func fillCache(t *testing.T, c *dataset.Cache, mem memory.Allocator, fp string, rows int) {
	t.Helper()
	w, err := c.Create(t.Context(), fp, schema)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows; i += 100 {
		rec := batch(mem, i, min(100, rows-i))
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func cacheIDs(t *testing.T, c *dataset.Cache, fp string) []int64 {
	t.Helper()
	var ids []int64
	err := c.Read(t.Context(), fp, func(b arrow.RecordBatch) error {
		defer b.Release()
		ids = append(ids, b.Column(0).(*array.Int64).Int64Values()...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestCacheDetectsFlippedBits flips one bit at a time at offsets spread
// over a cached part (and its manifest): each time Verify warns naming the
// part, drops the entry and reports it absent, and the recomputed entry
// reads back equal to the clean one.
func TestCacheDetectsFlippedBits(t *testing.T) {
	for name, store := range storetest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var logs bytes.Buffer
			c := dataset.NewCache(store, "cache", mem).WithLogger(logTo(&logs))
			// A Cache trusts the parts it checked for its lifetime (one
			// run): each check after a flip is a new run's.
			run := func() *dataset.Cache { return dataset.NewCache(store, "cache", mem).WithLogger(logTo(&logs)) }
			const fp, rows = "fp1", 1000
			fillCache(t, c, mem, fp, rows)
			clean := cacheIDs(t, c, fp)
			part := objectKeys(t, store, "cache/"+fp+"/", "part-")[0]
			info, err := store.Stat(t.Context(), part)
			if err != nil {
				t.Fatal(err)
			}
			targets := map[string][]int{part: offsets(info.Size, 13), "cache/fp1/_manifest.json": {40, 200}}
			for key, offs := range targets {
				for _, off := range offs {
					logs.Reset()
					flipBit(t, store, key, off)
					if ok, err := run().Verify(t.Context(), fp, math.MaxInt64); ok || err != nil {
						t.Fatalf("%s: bit flipped at offset %d: Verify = %v, %v; want false, nil", key, off, ok, err)
					}
					if key == part && !strings.Contains(logs.String(), part) {
						t.Fatalf("offset %d: the warning does not name %s:\n%s", off, part, logs.String())
					}
					if left := objectKeys(t, store, "cache/"+fp+"/", ""); len(left) != 0 {
						t.Fatalf("offset %d: the damaged entry was not dropped: %q", off, left)
					}
					fillCache(t, c, mem, fp, rows) // recompute
					if ok, err := run().Verify(t.Context(), fp, math.MaxInt64); !ok || err != nil {
						t.Fatalf("offset %d: recomputed entry: Verify = %v, %v", off, ok, err)
					}
					if got := cacheIDs(t, c, fp); !slices.Equal(got, clean) {
						t.Fatalf("offset %d: recomputed entry differs from the clean one", off)
					}
					part = objectKeys(t, store, "cache/"+fp+"/", "part-")[0]
				}
			}
		})
	}
}

// TestCacheChecksByCost: Has reads the manifest only (a flipped bit in a
// part goes unnoticed; a truncated or missing part drops the entry, its
// manifest first); Verify reads an entry back only up to its byte budget;
// Read checks each part not yet checked, once: a damaged one fails the
// read naming the part and wrapping ErrCorrupt, and drops the entry.
func TestCacheChecksByCost(t *testing.T) {
	for name, store := range storetest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var logs bytes.Buffer
			cs := objstoretest.NewCounting(store)
			c := dataset.NewCache(cs, "cache", mem).WithLogger(logTo(&logs))
			const fp = "fp1"
			fresh := func() (part string, size int64) {
				fillCache(t, c, mem, fp, 1000)
				part = objectKeys(t, store, "cache/"+fp+"/", "part-")[0]
				info, err := store.Stat(t.Context(), part)
				if err != nil {
					t.Fatal(err)
				}
				cs.Read("")
				return part, info.Size
			}
			has := func(want bool) {
				t.Helper()
				if ok, err := c.Has(t.Context(), fp); ok != want || err != nil {
					t.Fatalf("Has = %v, %v; want %v", ok, err, want)
				}
			}
			dropped := func() {
				t.Helper()
				if left := objectKeys(t, store, "cache/"+fp+"/", ""); len(left) != 0 {
					t.Fatalf("the damaged entry was not dropped: %q", left)
				}
			}

			// A flipped bit: Has and a small budget read no part.
			part, size := fresh()
			flipBit(t, store, part, int(size/2))
			cs.Read("")
			has(true)
			for _, budget := range []int64{-1, size - 1} {
				if ok, err := c.Verify(t.Context(), fp, budget); !ok || err != nil {
					t.Fatalf("budget %d: Verify = %v, %v; want true unread", budget, ok, err)
				}
			}
			if n := cs.Read(part); n != 0 {
				t.Fatalf("Has and Verify over budget read %d bytes of the part", n)
			}
			// Read finds it, fails naming it, and drops the entry.
			err := c.Read(t.Context(), fp, func(b arrow.RecordBatch) error { b.Release(); return nil })
			if !errors.Is(err, dataset.ErrCorrupt) || !strings.Contains(err.Error(), part) {
				t.Fatalf("Read of a damaged part: %v, want ErrCorrupt naming %s", err, part)
			}
			if !strings.Contains(logs.String(), part) {
				t.Fatalf("the log does not name %s:\n%s", part, logs.String())
			}
			dropped()
			has(false)

			// Intact: the first Read checks the part (all of it is read
			// once more than to decode it), the second does not; Verify
			// after them reads nothing.
			part, size = fresh()
			want := cacheIDs(t, c, fp)
			first := cs.Read(part)
			if got := cacheIDs(t, c, fp); !slices.Equal(got, want) {
				t.Fatal("second Read differs")
			}
			if second := cs.Read(part); second == 0 || first-second != size {
				t.Fatalf("Reads of a %d-byte part read %d then %d bytes, want the first to check it (%d more) and the second not", size, first, second, size)
			}
			if ok, err := c.Verify(t.Context(), fp, math.MaxInt64); !ok || err != nil || cs.Read(part) != 0 {
				t.Fatalf("Verify of a part Read checked: %v, %v, or it read it again", ok, err)
			}

			// Truncated or missing: Has drops it, whatever the budget.
			for _, damage := range []string{"truncated", "missing"} {
				part, _ = fresh()
				b, err := objstore.ReadAll(t.Context(), store, part)
				if err != nil {
					t.Fatal(err)
				}
				if damage == "missing" {
					err = store.Delete(t.Context(), part)
				} else {
					err = objstore.PutBytes(t.Context(), store, part, b[:len(b)-1])
				}
				if err != nil {
					t.Fatal(err)
				}
				cs.Read("")
				has(false)
				if n := cs.Read(part); n != 0 {
					t.Fatalf("%s: Has read %d bytes of the part", damage, n)
				}
				dropped()
			}
		})
	}
}

// TestPartCacheDetectsFlippedBits: a part an interrupted run committed is
// checked before it is replayed; a damaged one is deleted and recomputed.
func TestPartCacheDetectsFlippedBits(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	store := storetest.Local(t)
	ctx := t.Context()
	var logs bytes.Buffer
	c := dataset.NewCache(store, "cache", mem).WithLogger(logTo(&logs))
	put := func(k int) { // a run that dies after putting part k
		ctx, die := context.WithCancel(ctx)
		defer die()
		pw, err := c.OpenParts(ctx, "fp", schema, false)
		if err != nil {
			t.Fatal(err)
		}
		rec := batch(mem, k*100, 100)
		defer rec.Release()
		if err := pw.Put(k, []arrow.RecordBatch{rec}); err != nil {
			t.Fatal(err)
		}
	}
	put(0)
	key := objectKeys(t, store, "cache/fp/", "batch-")[0]
	info, err := store.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range offsets(info.Size, 9) {
		flipBit(t, store, key, off)
		run, end := context.WithCancel(ctx) // a run that finds the part damaged, then fails
		pw, err := c.OpenParts(run, "fp", schema, false)
		if err != nil {
			t.Fatal(err)
		}
		if pw.Has(0) {
			t.Fatalf("offset %d: a damaged part is offered for replay", off)
		}
		end()
		if !strings.Contains(logs.String(), key) {
			t.Fatalf("offset %d: the warning does not name %s:\n%s", off, key, logs.String())
		}
		if left := objectKeys(t, store, "cache/fp/", "batch-"); len(left) != 0 {
			t.Fatalf("offset %d: damaged part kept: %q", off, left)
		}
		put(0)
		pw, err = c.OpenParts(ctx, "fp", schema, false)
		if err != nil {
			t.Fatal(err)
		}
		if !pw.Has(0) {
			t.Fatalf("offset %d: the recomputed part is not offered for replay", off)
		}
		var ids []int64
		if err := pw.Replay(ctx, 0, func(b arrow.RecordBatch) error {
			defer b.Release()
			ids = append(ids, b.Column(0).(*array.Int64).Int64Values()...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := pw.Commit(1); err != nil {
			t.Fatal(err)
		}
		if got := cacheIDs(t, c, "fp"); len(got) != 100 || got[99] != 99 || !slices.Equal(got, ids) {
			t.Fatalf("offset %d: committed output %v", off, got)
		}
		key = objectKeys(t, store, "cache/fp/", "batch-")[0]
	}
}

// TestDatasetDetectsFlippedBits: reading a committed dataset whose part
// has one flipped bit fails naming the part, at every offset tried, for
// each part format.
func TestDatasetDetectsFlippedBits(t *testing.T) {
	for _, f := range []formats.Format{formats.Parquet, formats.IPC, formats.CSV} {
		t.Run(string(f), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			store := storetest.Local(t)
			ctx := t.Context()
			w, err := dataset.NewWriter(ctx, store, "ds", schema, mem, dataset.WriterOptions{Format: f})
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, mem, 300)
			m, err := w.Commit()
			if err != nil {
				t.Fatal(err)
			}
			key := "ds/" + m.Parts[0].Key
			for _, off := range offsets(m.Parts[0].Size, 13) {
				flipBit(t, store, key, off)
				d, err := dataset.Open(ctx, store, "ds")
				if err != nil {
					t.Fatal(err)
				}
				r := d.NewReader(ctx, mem, formats.ReaderOptions{})
				for r.Next() {
				}
				err = r.Err()
				r.Release()
				if !errors.Is(err, dataset.ErrCorrupt) || !strings.Contains(err.Error(), key) {
					t.Fatalf("offset %d: err %v, want ErrCorrupt naming %s", off, err, key)
				}
				if err := d.Verify(ctx); !errors.Is(err, dataset.ErrCorrupt) {
					t.Fatalf("offset %d: Verify: %v", off, err)
				}
				flipBit(t, store, key, off) // restore
				if err := d.Verify(ctx); err != nil {
					t.Fatalf("offset %d: restored part: %v", off, err)
				}
			}
		})
	}
}

// TestArtifactsDetectFlippedBits: an artifact with a flipped bit reads as
// absent (fs.ErrNotExist and ErrCorrupt), is logged naming it, and is
// deleted; one whose writer died before its checksum was put is not
// listed.
func TestArtifactsDetectFlippedBits(t *testing.T) {
	ctx := context.Background()
	store := storetest.Local(t)
	var logs bytes.Buffer
	a := dataset.NewArtifacts(store, "artifacts", "fp").WithLogger(logTo(&logs))
	data := bytes.Repeat([]byte("checkpoint bytes "), 100)
	for _, off := range offsets(int64(len(data)), 13) {
		logs.Reset()
		if err := a.Put(ctx, "checkpoints/step-000001.arrow", data); err != nil {
			t.Fatal(err)
		}
		flipBit(t, store, "artifacts/fp/checkpoints/step-000001.arrow", off)
		_, err := a.Get(ctx, "checkpoints/step-000001.arrow")
		if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, dataset.ErrCorrupt) {
			t.Fatalf("offset %d: Get: %v, want fs.ErrNotExist and ErrCorrupt", off, err)
		}
		if !strings.Contains(logs.String(), "checkpoints/step-000001.arrow") {
			t.Fatalf("offset %d: the warning does not name the artifact:\n%s", off, logs.String())
		}
		if names, err := a.List(ctx); err != nil || len(names) != 0 {
			t.Fatalf("offset %d: List after the damaged artifact was dropped: %q, %v", off, names, err)
		}
	}
	// A writer that died between the artifact and its checksum.
	if err := objstore.PutBytes(ctx, store, "artifacts/fp/half.arrow", data); err != nil {
		t.Fatal(err)
	}
	if names, err := a.List(ctx); err != nil || len(names) != 0 {
		t.Fatalf("List shows an uncommitted artifact: %q, %v", names, err)
	}
	if _, err := a.Get(ctx, "half.arrow"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of an uncommitted artifact: %v", err)
	}
	if err := a.Put(ctx, "x"+".xxh3", data); err == nil {
		t.Fatal("Put of a name ending in the checksum suffix succeeded")
	}
}

// TestManifestChecksum: a manifest edited so that it still parses (a row
// count, the producer) no longer opens: ErrCorrupt naming it.
func TestManifestChecksum(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	store := storetest.Local(t)
	ctx := t.Context()
	w, err := dataset.NewWriter(ctx, store, "ds", schema, mem, dataset.WriterOptions{Producer: "medflow/abc"})
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, mem, 300)
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	good, err := objstore.ReadAll(ctx, store, "ds/_manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, edit := range [][2]string{{`"rows": 300`, `"rows": 900`}, {`"producer": "medflow/abc"`, `"producer": "medflow/abd"`}} {
		bad := strings.Replace(string(good), edit[0], edit[1], 1)
		if bad == string(good) {
			t.Fatalf("%q not in the manifest:\n%s", edit[0], good)
		}
		if err := objstore.PutBytes(ctx, store, "ds/_manifest.json", []byte(bad)); err != nil {
			t.Fatal(err)
		}
		if _, err := dataset.Open(ctx, store, "ds"); !errors.Is(err, dataset.ErrCorrupt) || !strings.Contains(err.Error(), "ds/_manifest.json") {
			t.Fatalf("%s: %v, want ErrCorrupt naming the manifest", edit[1], err)
		}
	}
	if err := objstore.PutBytes(ctx, store, "ds/_manifest.json", good); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Open(ctx, store, "ds"); err != nil {
		t.Fatal(err)
	}
}
