package main

import (
	"fmt"
	"strings"
)

// Evaluate a row on canned `go test -bench` output: medians of the
// medflow and reference runs, the ratio and whether the goal is met.
func ExampleEvaluate() {
	res := NewResults()
	out := `pkg: example
BenchmarkS3Read/workers=16-2  3  1 ns/op  95 connector-MB/s  100 raw-MB/s  0.95 connector/raw
BenchmarkS3Read/workers=16-2  3  1 ns/op  97 connector-MB/s  100 raw-MB/s  0.97 connector/raw
BenchmarkS3Read/workers=16-2  3  1 ns/op  99 connector-MB/s  100 raw-MB/s  0.99 connector/raw
`
	if err := res.Read(strings.NewReader(out), "bench-s3.txt"); err != nil {
		panic(err)
	}
	for _, l := range Evaluate(Rows, res) {
		if l.Row.ID == "s3-read-16" {
			fmt.Printf("%s: %s vs %s, %s, goal %s met: %s\n", l.Row.ID, fmtValue(l.Medflow, l.Row.Unit),
				fmtValue(l.Ref, l.Row.Unit), ratioCell(l), goalCell(l.Row), l.Met)
		}
	}
	// Output:
	// s3-read-16: 97.0 MB/s (n=3) vs 100 MB/s (n=3), 0.970 (connector/raw ↑), goal ratio ≥ 0.95 met: yes
}
