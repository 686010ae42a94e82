package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkChain/procs=2/medflow-2   3  2000 ns/op  10 rows/s
BenchmarkChain/procs=2/medflow-2   3  3000 ns/op  12 rows/s
BenchmarkChain/procs=2/medflow-2   3  2200 ns/op  11 rows/s
BenchmarkChain/procs=2/reference-2 3  1000 ns/op
BenchmarkChain/procs=2/reference-2 3  1100 ns/op
BenchmarkPeakRSS/alloc=go/rows=10M-2  1  5 ns/op  80 peak-RSS-MiB
BenchmarkPeakRSS/alloc=go/rows=100M-2 1  9 ns/op  88 peak-RSS-MiB
BenchmarkPeakRSS/alloc=pool/rows=10M-2  1  5 ns/op  50 peak-RSS-MiB
BenchmarkPeakRSS/alloc=pool/rows=100M-2 1  9 ns/op  52 peak-RSS-MiB
PASS
`

func TestReport(t *testing.T) {
	var b strings.Builder
	report(&b, parse(strings.NewReader(sample)))
	out := b.String()
	for _, want := range []string{
		"| BenchmarkChain/procs=2/medflow | 3 | 2200 | 11 rows/s |",
		"| BenchmarkChain/procs=2/reference | 2 | 1050 |",
		"ratio BenchmarkChain/procs=2: reference/medflow time = 0.477 (medflow is +109.5% slower)",
		"ratio peak RSS BenchmarkPeakRSS/alloc=go/rows=100M / BenchmarkPeakRSS/alloc=go/rows=10M = 1.100",
		"ratio peak RSS BenchmarkPeakRSS/alloc=pool/rows=100M / BenchmarkPeakRSS/alloc=pool/rows=10M = 1.040",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
