package image_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/medflow/medflow/pipeline"
	pt "github.com/medflow/medflow/pipeline/pipelinetest"
	"github.com/medflow/medflow/stages/gen"
)

// BenchmarkStage runs image.decode over 16 files of 2544×3056 (path mode,
// local folder, source batches of 4 rows, size 224 cover uint8) into a
// discard sink, with 1 and 2 workers; it reports images/s and cores (the
// process's CPU time over wall time: how many cores the stage kept busy,
// which stays meaningful on a shared machine).
func BenchmarkStage(b *testing.B) {
	dir := b.TempDir()
	src := jpegBytes(b, xray(2544, 3056, 1))
	const files = 16
	var recs []record
	for i := range files {
		p := fmt.Sprintf("p%02d.jpg", i)
		if err := os.WriteFile(filepath.Join(dir, p), src, 0o644); err != nil {
			b.Fatal(err)
		}
		recs = append(recs, record{key: p, path: p})
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers-%d", workers), func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				r := registry(b, recs, 4)
				if err := gen.RegisterDiscard(r); err != nil {
					b.Fatal(err)
				}
				dec := pt.Stage("dec", "image.decode", []string{"src"}, map[string]any{"path_column": "path", "root": dir})
				dec.Workers = workers
				if _, err := pt.Run(b, r, pipeline.PlanOptions{}, pt.Stage("src", "test.images", nil, nil), dec,
					pt.Stage("out", "discard", []string{"dec"}, nil)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric((cpuTime()-cpu0).Seconds()/b.Elapsed().Seconds(), "cores")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
