package s3_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/sourcegraph/conc/pool"

	"github.com/medflow/medflow/connectors/internal/storetest"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/internal/s3test"
)

const (
	benchObjects = 1000
	benchSize    = 50 << 10
)

// BenchmarkS3Read reads 1,000 objects of 50 KiB from versitygw with N
// workers, through the connector (resumable reader) and through raw
// minio-go GetObject + io.ReadAll, in the same run against the same server.
func BenchmarkS3Read(b *testing.B) {
	srv := s3test.Start(b, s3test.KeepAlive())
	srv.CreateBucket(b, "bench")
	store := storetest.S3(b, srv, "bench", "")
	raw := srv.Client()
	ctx := context.Background()

	keys := make([]string, benchObjects)
	up := pool.New().WithErrors().WithMaxGoroutines(16)
	for i := range keys {
		keys[i] = fmt.Sprintf("obj-%04d", i)
		up.Go(func() error {
			data, _ := pseudoRandom(benchSize)
			data[0], data[1] = byte(i), byte(i>>8)
			return objstore.PutBytes(ctx, store, keys[i], data)
		})
	}
	if err := up.Wait(); err != nil {
		b.Fatal(err)
	}

	readers := []struct {
		name string
		read func(key string) (int, error)
	}{
		{"connector", func(key string) (int, error) {
			rc, err := store.Get(ctx, key, objstore.All)
			if err != nil {
				return 0, err
			}
			defer rc.Close()
			data, err := io.ReadAll(rc)
			return len(data), err
		}},
		{"raw", func(key string) (int, error) {
			obj, err := raw.GetObject(ctx, "bench", key, minio.GetObjectOptions{})
			if err != nil {
				return 0, err
			}
			defer obj.Close()
			data, err := io.ReadAll(obj)
			return len(data), err
		}},
	}
	for _, workers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			readPaired(b, keys, workers, readers[0].read, readers[1].read)
		})
	}
}

// readPaired reads every key once through the connector and once raw per
// iteration (alternating which goes first), so both see the same machine
// load, and reports each throughput and their ratio.
func readPaired(b *testing.B, keys []string, workers int, connector, raw func(string) (int, error)) {
	var conn, rawT time.Duration
	var total int64
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			conn += readAll(b, keys, workers, connector)
			rawT += readAll(b, keys, workers, raw)
		} else {
			rawT += readAll(b, keys, workers, raw)
			conn += readAll(b, keys, workers, connector)
		}
		total += int64(len(keys)) * benchSize
	}
	b.ReportMetric(float64(total)/1e6/conn.Seconds(), "connector-MB/s")
	b.ReportMetric(float64(total)/1e6/rawT.Seconds(), "raw-MB/s")
	b.ReportMetric(rawT.Seconds()/conn.Seconds(), "connector/raw")
}

// readAll reads every key once with the given number of workers and
// returns the elapsed time.
func readAll(b *testing.B, keys []string, workers int, read func(string) (int, error)) time.Duration {
	start := time.Now()
	ch := make(chan string)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		bytes int64
		first error
	)
	for range workers {
		wg.Go(func() {
			for key := range ch {
				n, err := read(key)
				mu.Lock()
				bytes += int64(n)
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
	if bytes != int64(len(keys))*benchSize {
		b.Fatalf("read %d bytes, want %d", bytes, len(keys)*benchSize)
	}
	return time.Since(start)
}
