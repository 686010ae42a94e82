// Package bench holds medflow's cross-package benchmarks. Each compares
// medflow with a reference measured in the same run, as sub-benchmarks
// named .../medflow and .../reference; `make bench` runs them with
// -count and internal/cmd/benchreport turns the output into medians and
// ratios. There is no non-test code here.
package bench
