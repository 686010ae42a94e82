#!/usr/bin/env bash
# bench/soak/soak.sh — `make soak`: memory as data grows.
#
# For each size in SOAK_SIZES (phantom studies; default 300, 3,000 and
# 30,000: 10x steps) it makes the phantom dataset once (medflow synth,
# 256x320, 3% planted faults), runs the demo variant cold with one epoch
# per training stage (memory, not accuracy, is measured), then reruns each
# stage of SOAK_STAGES alone in a fresh process (`--target S --force S`:
# its inputs come from the cache the first run materialized), so that the
# process's peak RSS is that stage's and nothing else's. Images are
# decoded at 128 px (the demo uses 64) so that 30,000 studies are ~0.5 GB
# of pairs, more than every in-memory budget. Each stage of
# SOAK_SMALL_STAGES runs alone once more with small budgets (--spill-mib 8,
# shuffle_rows 512), recorded as stage "S-small": the budgets (64 MiB of
# each barrier input, 4,096 shuffled rows) fill between 3,000 and 30,000
# studies, so at the default budgets part of the growth measured is the
# budgets filling, not memory that keeps growing with the data.
#
# Output (SOAK_RESULTS, Go benchmark lines that benchreport reads):
#   BenchmarkSoakRun/studies=N/stage=S  the cold run's per-stage figures:
#     peak-RSS-MiB is the process peak while S ran (stages overlap)
#   BenchmarkSoak/studies=N/stage=S     S alone: the process peak RSS,
#     S's rows in and seconds
# and a "machine:" line naming this host and the date.
set -euo pipefail

bin=${MEDFLOW:-bin/medflow}
dir=${SOAK_DIR:-out/soak}
sizes=${SOAK_SIZES:-300 3000 30000}
stages=${SOAK_STAGES:-mae contrastive clf-mae pred-mae}
small=${SOAK_SMALL_STAGES:-mae contrastive}
results=${SOAK_RESULTS:-$dir/soak.txt}
mkdir -p "$dir"

cpu=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)
tmp=$results.tmp
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, ${mem} GiB RAM (make soak, $(date -u +'%Y-%m-%d %H:%M UTC'))" > "$tmp"

# show RUN_ID WORK: medflow show's output.
show() { "$bin" show "$1" --work "$2"; }
# last_run WORK: the id of the newest run.
last_run() { "$bin" runs --work "$1" | tail -1 | awk '{print $1}'; }
# mib TEXT: the "peak RSS N MiB" of show's first line.
mib() { sed -n '1s/.*peak RSS \([0-9]*\) MiB.*/\1/p' <<<"$1"; }

for n in $sizes; do
  data=$dir/mimic-$n work=$dir/work-$n
  [ -f "$data/mimic-cxr-2.0.0-split.csv.gz" ] || "$bin" synth --out "$data" --studies "$n" --size 256x320 \
    --splits 0.6,0.1,0.3 --corrupt-fraction 0.03 > /dev/null
  rm -rf "$work"
  args=(demo --no-progress --log-level warn --work "$work"
    --set index.root="$data" --set studies.root="$data" --set images.root="$data" --set sections.root="$data"
    --set images.size=128 --set mae.epochs=1 --set contrastive.epochs=1 --set clf-mae.epochs=1 --set clf-llm.epochs=1)
  echo "== soak: $n studies, cold run" >&2
  "$bin" run "${args[@]}" 2> "$dir/log-$n.txt"
  out=$(show "$(last_run "$work")" "$work")
  echo "$out" > "$dir/show-$n.txt"
  echo "$out"
  # STAGE KIND FINGERPRINT RUN STATE ROWS-IN ROWS-OUT SECONDS PEAK-RSS MiB
  awk -v n="$n" 'NR > 2 && $5 == "done" && $10 == "MiB" {
      printf "BenchmarkSoakRun/studies=%s/stage=%s 1 %s peak-RSS-MiB %s rows-in %s s\n", n, $1, $9, $6, $8 }' <<<"$out" >> "$tmp"
  echo "BenchmarkSoakRun/studies=$n/stage=all 1 $(mib "$out") peak-RSS-MiB" >> "$tmp"
  # alone LABEL STAGE ARGS...: STAGE alone in a fresh process, recorded as LABEL.
  alone() {
    local label=$1 s=$2; shift 2
    echo "== soak: $n studies, $label alone" >&2
    "$bin" run "${args[@]}" --target "$s" --force "$s" "$@" 2>> "$dir/log-$n.txt"
    out=$(show "$(last_run "$work")" "$work")
    echo "$out" > "$dir/show-$n-$label.txt"
    awk -v n="$n" -v s="$s" -v label="$label" -v peak="$(mib "$out")" '$1 == s && $5 == "done" {
        printf "BenchmarkSoak/studies=%s/stage=%s 1 %s peak-RSS-MiB %s rows-in %s s\n", n, label, peak, $6, $8 }' <<<"$out" >> "$tmp"
    grep "stage=$label " "$tmp" | tail -1 >&2
  }
  for s in $stages; do alone "$s" "$s"; done
  for s in $small; do alone "$s-small" "$s" --spill-mib 8 --set "$s.shuffle_rows=512"; done
done
mv "$tmp" "$results"
echo "soak: wrote $results" >&2
