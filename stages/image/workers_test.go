package image_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
)

// gateStore counts Gets in flight and records the most seen. Until `want`
// Gets have been in flight together, each Get waits for that (up to a
// timeout), so a stage that serializes its reads is caught.
type gateStore struct {
	objstore.Store
	want int

	mu       sync.Mutex
	inFlight int
	most     int
}

func (g *gateStore) Get(ctx context.Context, key string, r objstore.Range) (io.ReadCloser, error) {
	g.mu.Lock()
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	deadline := time.Now().Add(2 * time.Second)
	for g.most < g.want && time.Now().Before(deadline) {
		g.mu.Unlock()
		time.Sleep(time.Millisecond)
		g.mu.Lock()
	}
	g.inFlight--
	g.mu.Unlock()
	return g.Store.Get(ctx, key, r)
}

// With Workers = w, w records are read and decoded at the same time (and
// never more), whether the rows arrive as one batch or many.
func TestDecodeStageWorkersOverlap(t *testing.T) {
	dir := t.TempDir()
	src := jpegBytes(t, xray(64, 80, 1))
	var recs []record
	for i := range 12 {
		p := fmt.Sprintf("x%02d.jpg", i)
		if err := os.WriteFile(filepath.Join(dir, p), src, 0o644); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, record{key: p, path: p})
	}
	for _, tc := range []struct{ workers, batch int }{{1, 4}, {2, 4}, {2, 12}, {3, 1}, {4, 12}} {
		t.Run(fmt.Sprintf("workers-%d-batch-%d", tc.workers, tc.batch), func(t *testing.T) {
			gs := &gateStore{want: tc.workers}
			reg := registryWith(t, recs, tc.batch, func(ctx context.Context, uri string) (objstore.Store, error) {
				s, err := openLocal(ctx, uri)
				gs.Store = s
				return gs, err
			})
			dec := pt.Stage("dec", "image.decode", []string{"src"}, map[string]any{"path_column": "path", "root": dir, "size": 16})
			dec.Workers = tc.workers
			res, err := pt.Run(t, reg, pipeline.PlanOptions{}, pt.Stage("src", "test.images", nil, nil), dec,
				pt.Stage("out", "test.collect", []string{"dec"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows("out") != len(recs) {
				t.Fatalf("%d rows out", res.Rows("out"))
			}
			if gs.most != tc.workers {
				t.Fatalf("at most %d reads in flight, want %d", gs.most, tc.workers)
			}
		})
	}
}
