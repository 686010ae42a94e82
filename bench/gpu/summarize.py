#!/usr/bin/env python3
"""bench/gpu/summarize.py OUT [PREFIX]: check.sh's results from its JSON logs.

Reads OUT/run-gomlx.jsonl and OUT/run-ort.jsonl (whichever exist; the
first one trained, the second only embedded anew) and writes
OUT/results.md (a table for people) and OUT/bench-gpu.txt (Go benchmark
lines named BenchmarkPREFIX/..., default GPUCheck, for
internal/cmd/benchreport: BENCHMARKS.md's gpu-* rows and its scale table;
`make rehearsal` uses Rehearsal).
"""
import glob
import json
import os
import sys


def main(out, prefix="GPUCheck"):
    lines = ["| what | value |", "|---|---|"]
    bench = []
    runs = [rt for rt in ("gomlx", "ort") if os.path.exists(os.path.join(out, f"run-{rt}.jsonl"))]
    for rt in runs:
        path = os.path.join(out, f"run-{rt}.jsonl")
        first = rt == runs[0]
        recs = [json.loads(l) for l in open(path) if l.startswith("{")]
        summary = {s["stage"]: s for s in recs if s.get("msg") == "stage summary"}
        for r in recs:
            if r.get("msg") == "embedded":
                secs = summary.get("embed", {}).get("work", 0)
                tok, rows = r.get("tokens", 0), r.get("rows", 0)
                lines.append(f"| text.embed {rt}: rows, tokens, work s, tokens/s | {rows}, {tok}, {secs:.1f}, {tok / secs if secs else 0:.0f} |")
                name = "gomlx" if rt == "gomlx" else "ort-cpu"
                if secs and rows:
                    bench.append(f"Benchmark{prefix}/embed/{name}\t1\t{int(secs * 1e9)} ns/op\t{tok / secs:.4g} tokens/s\t{tok / rows:.1f} tokens/row")
            if r.get("msg") == "trained" and first:
                sps = r.get("steps", 0) / max(r.get("seconds", 1), 1e-9)
                steady = r.get("steady_img_per_s", 0)
                lines.append(f"| {r['stage']}: steps, examples, s (with compile), steps/s, steady img/s (median after step 1) | {r.get('steps')}, {r.get('examples')}, {r.get('seconds'):.1f}, {sps:.3g}, {steady:.3g} |")
                bench.append(f"Benchmark{prefix}/train/{r['stage']}\t1\t{int(r.get('seconds', 0) * 1e9)} ns/op\t{sps:.4g} steps/s\t{steady:.4g} img/s")
        if first:
            # Host-side stages (the phantoms are 256 px JPEGs, not MIMIC's full size).
            for st in ("images", "tokens"):
                s = summary.get(st)
                if s and s.get("work"):
                    rate = s["rows_out"] / s["work"]
                    lines.append(f"| {st}: rows, work s, rows/s | {s['rows_out']}, {s['work']:.2f}, {rate:.0f} |")
                    bench.append(f"Benchmark{prefix}/stage/{st}\t1\t{int(s['work'] * 1e9)} ns/op\t{rate:.1f} rows/s")
    # Per-stage peak RSS of the host process (the run records: the process's
    # peak while each stage ran), first run = gomlx, second = ort.
    recs = sorted(glob.glob(os.path.join(out, "records", "*.json")))
    for rt, path in zip(runs, recs):
        rec = json.load(open(path))
        for st in rec.get("stages", []):
            mib = st.get("peak_rss_bytes", 0) / 2**20
            if mib and (rt == runs[0] or st["name"] == "embed"):
                lines.append(f"| {rt} run, {st['name']}: host peak RSS MiB | {mib:.0f} |")
                bench.append(f"Benchmark{prefix}/rss/{rt}/{st['name']}\t1\t0 ns/op\t{mib:.0f} MiB")
    ok = numerics(out, lines, bench, prefix)
    open(os.path.join(out, "results.md"), "w").write("\n".join(lines) + "\n")
    open(os.path.join(out, "bench-gpu.txt"), "w").write("\n".join(bench) + "\n")
    print("\n".join(lines))
    if not ok:
        sys.exit(f"numerics: the backend's losses differ from simplego's by more than {NUMERICS_TOL}")


# The backend's training losses may differ from simplego's (float32
# reductions in another order; TF32 matmuls on a GPU) by this relative amount.
NUMERICS_TOL = 2e-2


def losses(path):
    """(stage, what) -> loss from a run's epoch and validation log lines."""
    out = {}
    for l in open(path):
        if not l.startswith("{"):
            continue
        r = json.loads(l)
        if r.get("msg") in ("epoch", "validation") and "loss" in r:
            out[(r.get("stage"), r["msg"])] = r["loss"]
    return out


def numerics(out, lines, bench, prefix):
    """Compares numerics-backend.jsonl with numerics-simplego.jsonl."""
    a, b = os.path.join(out, "numerics-backend.jsonl"), os.path.join(out, "numerics-simplego.jsonl")
    if not (os.path.exists(a) and os.path.exists(b)):
        return True
    la, lb = losses(a), losses(b)
    if not la or set(la) != set(lb):
        lines.append(f"| numerics: losses logged | backend {sorted(la)}, simplego {sorted(lb)} |")
        return False
    worst = max(abs(la[k] - lb[k]) / max(abs(lb[k]), 1e-12) for k in la)
    for k in sorted(la):
        lines.append(f"| numerics {k[0]} {k[1]} loss: backend, simplego | {la[k]:.6g}, {lb[k]:.6g} |")
    lines.append(f"| numerics: max relative loss difference (tolerance {NUMERICS_TOL}) | {worst:.2e} |")
    bench.append(f"Benchmark{prefix}/numerics\t1\t0 ns/op\t{worst:.3g} max-rel-loss-diff\t{len(la)} losses")
    return worst <= NUMERICS_TOL


if __name__ == "__main__":
    main(*sys.argv[1:3])
