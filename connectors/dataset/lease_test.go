package dataset_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/medflow/medflow/connectors/dataset"
	"github.com/medflow/medflow/connectors/internal/storetest"
	"github.com/medflow/medflow/connectors/objstore"
)

// TestSecondWriterFailsFast: while a writer holds a dataset's lease, a
// second writer of the same prefix fails at once naming the holder, and
// the first commits intact; once it has committed, the prefix is free. A
// stale lease (not renewed for LeaseTTL) is taken over, and the writer
// that lost it cannot commit.
func TestSecondWriterFailsFast(t *testing.T) {
	for name, store := range storetest.Stores(t) {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := t.Context()
			opts := dataset.WriterOptions{MaxRowsPerPart: 100, Overwrite: true}
			first, err := dataset.NewWriter(ctx, store, "out", schema, mem, opts)
			if err != nil {
				t.Fatal(err)
			}
			write(t, first, mem, 300)
			_, err = dataset.NewWriter(ctx, store, "out", schema, mem, opts)
			host, _ := os.Hostname()
			if !errors.Is(err, dataset.ErrLeased) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d on %s", os.Getpid(), host)) ||
				!strings.Contains(err.Error(), "out/"+dataset.LeaseName) {
				t.Fatalf("second writer: %v, want ErrLeased naming the holder", err)
			}
			if _, err := first.Commit(); err != nil {
				t.Fatal(err)
			}
			d, err := dataset.Open(ctx, store, "out")
			if err != nil {
				t.Fatal(err)
			}
			if ids := readIDs(t, d, mem); len(ids) != 300 {
				t.Fatalf("first writer's dataset: %d rows", len(ids))
			}
			if _, _, ok, err := dataset.ReadLease(ctx, store, "out"); ok || err != nil {
				t.Fatalf("lease left after commit (%v)", err)
			}

			// A holder on another machine that stopped renewing.
			stale := dataset.LeaseInfo{Owner: "elsewhere/1/x", Host: "elsewhere", PID: 1,
				Acquired: time.Now().Add(-time.Hour), Heartbeat: time.Now().Add(-dataset.LeaseTTL - time.Second)}
			b, _ := json.Marshal(stale)
			if err := objstore.PutBytes(ctx, store, "out/"+dataset.LeaseName, b); err != nil {
				t.Fatal(err)
			}
			w, err := dataset.NewWriter(ctx, store, "out", schema, mem, opts)
			if err != nil {
				t.Fatalf("a stale lease was not taken over: %v", err)
			}
			write(t, w, mem, 100)
			// Its own lease is taken over in turn (as if it had stalled).
			stale.Heartbeat = time.Now()
			b, _ = json.Marshal(stale)
			if err := objstore.PutBytes(ctx, store, "out/"+dataset.LeaseName, b); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Commit(); !errors.Is(err, dataset.ErrLeaseLost) {
				t.Fatalf("commit after losing the lease: %v, want ErrLeaseLost", err)
			}
			if d, err := dataset.Open(ctx, store, "out"); err != nil || d.NumRows() != 300 {
				t.Fatalf("the committed dataset changed: %v", err)
			}
			w.Abort()
		})
	}
}

// TestLeaseEndsWithItsRun: a writer whose context ends (its run failed or
// its process died) no longer holds the prefix.
func TestLeaseEndsWithItsRun(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	store := storetest.Local(t)
	ctx, end := context.WithCancel(t.Context())
	w, err := dataset.NewWriter(ctx, store, "out", schema, mem, dataset.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, mem, 10)
	end()
	w2, err := dataset.NewWriter(t.Context(), store, "out", schema, mem, dataset.WriterOptions{})
	if err != nil {
		t.Fatalf("after the first writer's run ended: %v", err)
	}
	w2.Abort()
	w.Abort()
}
