package dataset_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/internal/storetest"
	"github.com/medflow/medflow/connectors/objstore"
)

// crashStore passes calls to a real store until its budget of changes
// (Puts and Deletes) is spent; from then on every change fails, as if the
// process had died before making it.
type crashStore struct {
	objstore.Store
	left atomic.Int64
}

var errCrashed = errors.New("crashed")

func (c *crashStore) spend() error {
	if c.left.Add(-1) < 0 {
		return errCrashed
	}
	return nil
}

func (c *crashStore) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Store.Put(ctx, key, r, size)
}

func (c *crashStore) Delete(ctx context.Context, key string) error {
	if err := c.spend(); err != nil {
		return err
	}
	return c.Store.Delete(ctx, key)
}

// overwrite writes rows (100 per part) over the dataset at "out" through
// store and commits it, stopping at the first error (no Abort: the
// process is gone).
func overwrite(store objstore.Store, mem memory.Allocator, start, rows int) error {
	w, err := dataset.NewWriter(context.Background(), store, "out", schema, mem, dataset.WriterOptions{MaxRowsPerPart: 100, Overwrite: true})
	if err != nil {
		return err
	}
	for i := 0; i < rows; i += 100 {
		rec := batch(mem, start+i, 100)
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	_, err = w.Commit()
	return err
}

// TestOverwriteCrashAtEveryStep crashes an overwrite of a committed
// dataset before each of its changes to the store in turn: until the new
// manifest is put, the old dataset reads back whole and intact; from then
// on, the new one does; and a rerun of the overwrite leaves exactly the
// new dataset's objects.
func TestOverwriteCrashAtEveryStep(t *testing.T) {
	const oldRows, newRows = 300, 500
	ids := func(start, n int) []int64 {
		var out []int64
		for i := range n {
			out = append(out, int64(start+i))
		}
		return out
	}
	oldIDs, newIDs := ids(0, oldRows), ids(10000, newRows)
	for name, store := range storetest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := t.Context()
			reset := func() {
				objs, err := store.List(ctx, "out/")
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					if err := store.Delete(ctx, o.Key); err != nil {
						t.Fatal(err)
					}
				}
				if err := overwrite(store, mem, 0, oldRows); err != nil {
					t.Fatal(err)
				}
			}
			// Count the changes of a clean overwrite.
			reset()
			counter := &crashStore{Store: store}
			counter.left.Store(1 << 30)
			if err := overwrite(counter, mem, 10000, newRows); err != nil {
				t.Fatal(err)
			}
			steps := int(1<<30 - counter.left.Load())
			if steps < newRows/100+1 {
				t.Fatalf("a clean overwrite made %d changes", steps)
			}
			switched := false
			for crashAt := range steps {
				reset()
				cs := &crashStore{Store: store}
				cs.left.Store(int64(crashAt))
				err := overwrite(cs, mem, 10000, newRows)
				d, oerr := dataset.Open(ctx, store, "out")
				if oerr != nil {
					t.Fatalf("crash before change %d of %d: no readable dataset: %v", crashAt+1, steps, oerr)
				}
				got := readIDs(t, d, mem)
				if verr := d.Verify(ctx); verr != nil {
					t.Fatalf("crash before change %d: %v", crashAt+1, verr)
				}
				switch {
				case slices.Equal(got, oldIDs):
					if switched {
						t.Fatalf("crash before change %d: the old dataset is back after the new one was committed", crashAt+1)
					}
					if err == nil {
						t.Fatalf("crash before change %d: the overwrite succeeded but the old dataset is committed", crashAt+1)
					}
				case slices.Equal(got, newIDs):
					switched = true
				default:
					t.Fatalf("crash before change %d of %d: read %d rows, neither the old dataset nor the new one", crashAt+1, steps, len(got))
				}
				// The rerun commits the new dataset and leaves nothing else.
				if err := overwrite(store, mem, 10000, newRows); err != nil {
					t.Fatal(err)
				}
				d, err = dataset.Open(ctx, store, "out")
				if err != nil {
					t.Fatal(err)
				}
				if got := readIDs(t, d, mem); !slices.Equal(got, newIDs) {
					t.Fatalf("crash before change %d: the rerun reads %d rows", crashAt+1, len(got))
				}
				objs, _ := store.List(ctx, "out/")
				if len(objs) != len(d.Manifest().Parts)+1 {
					t.Fatalf("crash before change %d: after the rerun %d objects for %d parts + manifest", crashAt+1, len(objs), len(d.Manifest().Parts))
				}
			}
			if !switched {
				t.Fatal("no crash point left the new dataset committed")
			}
		})
	}
}
