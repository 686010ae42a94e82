// Command benchreport turns the output of one `make bench` run into
// BENCHMARKS.md, the project's single benchmark table.
//
//	benchreport -o BENCHMARKS.md out/bench-*.txt
//	benchreport out/bench-engine.txt      # per-benchmark medians and ratios on stdout
//
// # What is implemented
//
//   - Reading `go test -bench` output (any number of files; -count runs of a
//     benchmark are pooled; the -N GOMAXPROCS suffix is removed per package
//     block when every line of the block carries the same one), the medians
//     tokenizer/cmd/tokbench prints (as benchmarks Tokbench/kind=K/IMPL with
//     tokens/s and cpu-tokens/s), "--- SKIP/FAIL" lines with their reason,
//     and "BENCHSTEP FAIL name ..." lines that mk/bench.mk writes when a
//     step exits non-zero.
//   - Rows (rows.go): a declarative list; each row names what is measured,
//     the medflow and reference metrics (benchmark-name regexp + unit, both
//     from the same run), how the ratio is formed (medflow/reference,
//     reference/medflow, or a ratio the benchmark paired per iteration) and
//     which direction is better, and an optional goal on the ratio or on
//     medflow's value.
//   - Evaluate: medians, ratio, goal met / not met; a row whose inputs are
//     absent is "not measured" (never estimated). Render: machine (cores from
//     runtime.NumCPU, CPU model from /proc/cpuinfo, memory, Go version,
//     date), the table, a "how to read" paragraph, the demo's per-stage
//     seconds and peak RSS (BenchmarkDemo's stage-s:NAME / stage-MiB:NAME
//     metrics), and the skipped or failed benchmarks.
//
// # What is not implemented
//
//   - No comparison with an earlier BENCHMARKS.md (review the diff), no
//     statistics beyond medians (no confidence intervals, no benchstat).
//   - The machine is the one the generator runs on: run it in the same
//     `make bench` as the benchmarks (mk/bench.mk does).
//   - GPU rows (bench/gpu) are not part of the table.
package main
