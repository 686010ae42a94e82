package bench

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
)

// medflowBin builds the CLI once per benchmark binary.
func medflowBin(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "medflow")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/medflow").CombinedOutput()
	if err != nil {
		b.Fatalf("build medflow: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkPeakRSS runs the bench-chain variant of pipelines.yaml (gen.rows
// -> 5 x col.scale -> discard) as a process at 10M and 100M rows and
// reports its peak resident set size, with the pooling allocator (the
// CLI's default) and with Go's. Streaming means the two sizes must be close
// (goal: 100M <= 1.2 x 10M).
func BenchmarkPeakRSS(b *testing.B) {
	bin := medflowBin(b)
	for _, alloc := range []string{"pool", "go"} {
		for _, rows := range []int{10_000_000, 100_000_000} {
			b.Run(fmt.Sprintf("alloc=%s/rows=%dM", alloc, rows/1_000_000), func(b *testing.B) {
				var peak float64
				work := b.TempDir() // not ./data/work under bench/
				for b.Loop() {
					c := runCLI(b, ".", bin, "run", "bench-chain", "--config", "../pipelines.yaml", "--work", work, "--no-progress",
						"--log-level", "warn", "--allocator", alloc, "--set", fmt.Sprintf("gen.rows=%d", rows))
					peak = max(peak, c.peakMiB)
				}
				b.ReportMetric(peak, "peak-RSS-MiB")
				b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
