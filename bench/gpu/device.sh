#!/usr/bin/env bash
# bench/gpu/device.sh — one call on the workplace's device tool (an offline
# H200 host; results must come back as at most 8 files in $OUT):
#   run(command: "bench/gpu/device.sh", carry: ["out/gpu-bundle.tar.xz"])
# It records the host (env.txt), runs bench/gpu/check.sh under a time limit,
# then bench/gpu/torch_ref.py (the same shapes in PyTorch), and packs the
# check's many files into check.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/../.."
DEST=${OUT:?OUT: where the results go}
WORK=/tmp/gpu-check-out
mkdir -p "$WORK"
{
	date -u; nvidia-smi 2>&1 | head -20; nproc; free -g
	python3 -c 'import jax, jaxlib; print("jax", jax.__version__)' 2>&1
	ls -d "$(python3 -c 'import site; print(site.getsitepackages()[0])')"/jax_plugins/* "$(python3 -c 'import site; print(site.getsitepackages()[0])')"/nvidia/* 2>&1
	find / -xdev -name 'libdevice*.bc' 2>/dev/null | head; command -v ptxas nvcc
} > "$DEST/env.txt" 2>&1
start=$(date +%s)
OUT=$WORK timeout "${CHECK_TIMEOUT:-360}" bench/gpu/check.sh > "$DEST/device.log" 2>&1
echo "check.sh rc=$? after $(( $(date +%s) - start )) s" >> "$DEST/device.log"
cp "$WORK/results.md" "$WORK/bench-gpu.txt" "$DEST/" 2>/dev/null
if [ "${SKIP_TORCH:-0}" != 1 ]; then
	PYTHONUNBUFFERED=1 timeout "${TORCH_TIMEOUT:-120}" python3 bench/gpu/torch_ref.py > "$DEST/bench-torch.txt" 2>> "$DEST/device.log"
	echo "torch_ref rc=$?" >> "$DEST/device.log"
fi
{
	echo "# bench/gpu/device.sh $(date -u +%F), medflow $(cat "$WORK/version.txt" 2>/dev/null); STUDIES=${STUDIES:-1000} LAYERS=${LAYERS:-2}"
	echo "machine: 1 × $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1) ($(nproc) host cores)"
	cat "$WORK/bench-gpu.txt" "$DEST/bench-torch.txt" 2>/dev/null
} > "$DEST/h200.txt"   # save as bench/gpu/results/<date>T<hhmm>-h200.txt (make bench-table: newest wins)
tar -C "$WORK" -czf "$DEST/check.tar.gz" --exclude='*.onnx*' . 2>> "$DEST/device.log"
tail -5 "$DEST/device.log"
