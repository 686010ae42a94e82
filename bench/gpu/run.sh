#!/usr/bin/env bash
# bench/gpu/run.sh — text.embed on CUDA: fetch what CUDA ONNX Runtime needs,
# build medflow, write the model, check CUDA against the CPU, run the embed
# benchmark with provider cuda. See bench/gpu/README.md for the why.
#
#   bench/gpu/run.sh fetch   # on a machine that reaches the registries: fills .cache/ort-gpu/
#   bench/gpu/run.sh run     # on the GPU machine (no network needed once fetched)
#   bench/gpu/run.sh all     # both, on a GPU machine with network
#
# Environment (all optional):
#   ORT_GPU_SOURCE   nuget (default): Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0, the
#                    CUDA 12 + cuDNN 9 build whose provider libraries match the npm
#                    onnxruntime-node 1.30.0 core exactly (what its postinstall fetches);
#                    npm: com.github.asus4.onnxruntime.linux-x64-gpu 0.4.9 from npm (ORT
#                    1.29 CUDA 13 providers): reachable from every machine here, but
#                    a version mismatch with the 1.30 core — experimental, the smoke test decides.
#   ORT_GPU_NUPKG_SHA256  pin for the .nupkg (printed on first fetch)
#   MODEL_PRESET     tiny | small (default: dim 1024, 8 layers) | 7b (random weights, ~28 GB RAM)
#   LLAMA_HF_DIR     a local Hugging Face Llama checkpoint to convert instead (never downloaded)
#   BENCH_ROWS       rows per benchmark iteration (default 2048); BENCH_COUNT (default 5)
#   CUDA_DEVICE      device id for the smoke test (default 0)
set -euo pipefail
cd "$(dirname "$0")/../.."

ORT_VERSION=1.30.0
GPU_DIR=.cache/ort-gpu
LIB_DIR=$GPU_DIR/lib
SOURCE=${ORT_GPU_SOURCE:-nuget}
NUPKG=$GPU_DIR/microsoft.ml.onnxruntime.gpu.linux.$ORT_VERSION.nupkg
NUPKG_URL=https://www.nuget.org/api/v2/package/Microsoft.ML.OnnxRuntime.Gpu.Linux/$ORT_VERSION
ASUS_PKG=com.github.asus4.onnxruntime.linux-x64-gpu
ASUS_VERSION=0.4.9
ASUS_SHA256=2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
OUT=${OUT:-out/gpu}

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/gpu: %s\n' "$*" >&2; exit 1; }

fetch() {
  mkdir -p "$LIB_DIR"
  # The CPU core from npm (also what `make test` uses); pinned by checksum in mk/onnxruntime.mk.
  make -f mk/onnxruntime.mk onnxruntime-lib
  case "$SOURCE" in
  nuget)
    if [ ! -s "$NUPKG" ]; then
      log "downloading $NUPKG_URL"
      curl -fL --retry 3 -o "$NUPKG.tmp" "$NUPKG_URL" || die "cannot reach NuGet; fetch on another machine and copy $NUPKG, or try ORT_GPU_SOURCE=npm"
      mv "$NUPKG.tmp" "$NUPKG"
    fi
    sum=$(sha256sum "$NUPKG" | cut -d' ' -f1)
    if [ -n "${ORT_GPU_NUPKG_SHA256:-}" ] && [ "$sum" != "$ORT_GPU_NUPKG_SHA256" ]; then
      rm -f "$NUPKG"; die "checksum mismatch for $NUPKG: $sum"
    fi
    log "nupkg sha256 $sum (pin it with ORT_GPU_NUPKG_SHA256)"
    # The whole native folder: libonnxruntime.so (the GPU build) and its providers,
    # all from the same build.
    rm -rf "$GPU_DIR/nupkg" && mkdir -p "$GPU_DIR/nupkg"
    (cd "$GPU_DIR/nupkg" && unzip -q -o "../$(basename "$NUPKG")" 'runtimes/linux-x64/native/*')
    cp -f "$GPU_DIR"/nupkg/runtimes/linux-x64/native/* "$LIB_DIR/"
    ;;
  npm)
    tgz=$GPU_DIR/$ASUS_PKG-$ASUS_VERSION.tgz
    if [ ! -s "$tgz" ]; then
      (cd "$GPU_DIR" && npm pack --ignore-scripts "$ASUS_PKG@$ASUS_VERSION")
    fi
    echo "$ASUS_SHA256  $tgz" | sha256sum -c - || { rm -f "$tgz"; die "checksum mismatch for $tgz"; }
    cp -f .cache/onnxruntime/libonnxruntime.so.1 "$LIB_DIR/"
    for f in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
      tar -xzOf "$tgz" "package/Plugins/Linux/x64/$f" > "$LIB_DIR/$f"
    done
    ;;
  *) die "ORT_GPU_SOURCE=$SOURCE: want nuget or npm" ;;
  esac
  ls -la "$LIB_DIR"
}

ort_lib() {
  local l
  for l in "$LIB_DIR"/libonnxruntime.so.1 "$LIB_DIR"/libonnxruntime.so "$LIB_DIR"/libonnxruntime.so.$ORT_VERSION; do
    [ -f "$l" ] && { echo "$l"; return; }
  done
  die "no libonnxruntime in $LIB_DIR: run '$0 fetch' first"
}

check_machine() {
  command -v nvidia-smi >/dev/null || die "nvidia-smi not found: not a GPU machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  command -v go >/dev/null || die "go not found (Go 1.26 at /usr/local/go)"
  for f in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
    [ -f "$LIB_DIR/$f" ] || die "missing $LIB_DIR/$f: run '$0 fetch' first"
  done
  # What the CUDA provider links against, resolved with the current loader path.
  local missing
  missing=$(LD_LIBRARY_PATH="$LIB_DIR:${LD_LIBRARY_PATH:-}" ldd "$LIB_DIR/libonnxruntime_providers_cuda.so" | awk '/not found/{print $1}' | tr '\n' ' ')
  if [ -n "$missing" ]; then
    die "the CUDA provider needs libraries this machine lacks: $missing
  (nuget build: CUDA 12.x runtime, cuBLAS, cuFFT, cuRAND and cuDNN 9; npm/asus4 build: CUDA 13.x).
  Install them (e.g. NVIDIA's CUDA and cuDNN packages) or add their folder to LD_LIBRARY_PATH."
  fi
}

run() {
  check_machine
  local lib model cfg
  lib=$(ort_lib)
  export MEDFLOW_ORT_LIB=$PWD/$lib
  export LD_LIBRARY_PATH="$PWD/$LIB_DIR:${LD_LIBRARY_PATH:-}"
  mkdir -p "$OUT"
  log "build"
  go build -o bin/medflow ./cmd/medflow
  go vet ./ort/... ./stages/embed/...

  log "model"
  model=$PWD/$OUT/llama-${MODEL_PRESET:-small}.onnx
  if [ -n "${LLAMA_HF_DIR:-}" ]; then
    model=$PWD/$OUT/llama-hf.onnx
    cfg=$(go run ./bench/gpu/mkmodel -out "$model" -hf "$LLAMA_HF_DIR" -fp16)
  elif [ ! -s "$model" ]; then
    cfg=$(go run ./bench/gpu/mkmodel -out "$model" -preset "${MODEL_PRESET:-small}")
  fi
  echo "${cfg:-reusing $model}" | tee "$OUT/model.txt"

  log "CUDA smoke test: tiny Llama on CUDA vs CPU, then every ORT/embed test"
  MEDFLOW_TEST_CUDA=1 MEDFLOW_REQUIRE_ORT=1 go test -count=1 -v -run 'TestCUDAMatchesCPU' ./ort/ | tee "$OUT/smoke.txt"
  MEDFLOW_REQUIRE_ORT=1 go test -count=1 ./ort/... ./stages/embed/... | tee "$OUT/tests.txt"

  log "benchmark: text.embed vs direct ORT calls, provider cuda, then cpu on the same machine"
  for p in cuda cpu; do
    MEDFLOW_EMBED_BENCH_MODEL=$model MEDFLOW_EMBED_BENCH_PROVIDER=$p MEDFLOW_EMBED_BENCH_ROWS=${BENCH_ROWS:-2048} \
      go test -run '^$' -bench 'TextEmbed' -benchtime 3x -count "${BENCH_COUNT:-5}" -timeout 60m ./stages/embed/ \
      | tee "$OUT/bench-embed-$p.txt"
  done
  go test -run '^$' -bench 'Padding' -benchtime 3x -count 1 ./stages/embed/ | tee "$OUT/bench-padding.txt"
  log "results in $OUT/"
}

case "${1:-}" in
  fetch) fetch ;;
  run) run ;;
  all) fetch; run ;;
  *) echo "usage: $0 fetch|run|all" >&2; exit 2 ;;
esac
