// Package bench holds medflow's cross-package benchmarks. Each compares
// medflow with a reference measured in the same run:
//
//   - BenchmarkChain: the engine vs the same kernels in a hand-written loop;
//   - BenchmarkPeakRSS: peak RSS of the CLI at 10M vs 100M rows;
//   - BenchmarkRerun: an unchanged rerun vs a cold run of a small
//     materialized variant through the CLI;
//   - BenchmarkBarrierInput: the spill files (and time) of three barriers
//     over a streamed input vs a materialized one, read from the cache;
//   - BenchmarkDemo: `medflow run demo` end to end (cold and rerun), with
//     per-stage seconds and peak RSS from its run record (skips, saying
//     why, without `make demo`'s inputs or when the demo does not plan).
//
// `make bench` (mk/bench.mk) runs them with every other package's
// benchmarks and internal/cmd/benchreport turns the outputs into
// BENCHMARKS.md. There is no non-test code here; the CLI benchmarks build
// cmd/medflow into a temporary folder and do not touch ./data/work.
package bench
