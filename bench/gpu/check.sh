#!/usr/bin/env bash
# bench/gpu/check.sh — the flagship rehearsal (pipelines.yaml's
# flagship-rehearsal variant) as the GPU check, for a host with no
# network: one command, well under 10 minutes, results as small files in
# $OUT.
#
#   bench/gpu/check.sh            # on the GPU host (bin/medflow-xla carried from here)
#   DRY_RUN=1 bench/gpu/check.sh  # the same steps on the CPU at tiny shapes (make gpu-dry-run)
#   CPU=1 bench/gpu/check.sh      # real shapes on this machine's CPU, few steps (make rehearsal)
#
# What it does:
#   1. finds the PJRT CUDA plugin in the host's Python environment (the
#      jax-cuda*-plugin wheel) and sets GOMLX_BACKEND=xla:<its path>
#      (dry run: the simplego backend instead);
#   2. writes phantom data (medflow synth) and a random-weight Llama of
#      Llama-2-7B's width (dim 4096, 32 heads, MLP 11008) with LAYERS
#      layers (medflow models llama-onnx), both on the host itself;
#   3. runs the flagship-rehearsal variant twice: text.embed
#      with runtime gomlx (on GOMLX_BACKEND, the GPU) and with runtime ort
#      (ONNX Runtime on the host's CPU cores), ViT-S/16 MAE, contrastive and
#      fine-tune steps at 224 px on GOMLX_BACKEND;
#   4. writes $OUT/results.md (tokens/s, img/s, per-stage work seconds),
#      the run records and the logs.
# With CPU=1 the shapes are the GPU host's (224 px, ViT-S/16, Llama width
# 4096) but everything runs on this machine's CPU: text.embed with ONNX
# Runtime only, trainers on simplego at batch 8 for STEPS (default 2)
# steps, STUDIES default 100, no numerics comparison (there is one
# backend); its Go benchmark lines are named BenchmarkRehearsal.
#
# Environment: OUT (default out/gpu-check), MEDFLOW (default
# bin/medflow-xla), GOMLX_BACKEND (dry run and CPU=1 only; default go),
# STUDIES (default 1000; dry run 40; CPU=1 100), LAYERS (default 2), STEPS
# (training steps per stage, default 30; STEPS_DRY and STEPS_CPU for the
# other modes), RUNTIMES (text.embed runtimes to run, default "gomlx ort";
# CPU=1 "ort"), SCRATCH (data, model and work store; default
# out/gpu-check-scratch), PJRT_PLUGIN (the CUDA plugin's absolute path;
# found in python3's jax_plugins when unset), GOMLX_BACKEND_OVERRIDE.
set -euo pipefail
cd "$(dirname "$0")/../.."

DRY_RUN=${DRY_RUN:-0}
CPU=${CPU:-0}
OUT=${OUT:-out/gpu-check}
MEDFLOW=${MEDFLOW:-bin/medflow-xla}
STEPS=${STEPS:-30}
LAYERS=${LAYERS:-2}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { printf '== %s\n' "$*" | tee -a "$OUT/check.log" >&2; }
die() { printf 'bench/gpu/check.sh: %s\n' "$*" | tee -a "$OUT/check.log" >&2; exit 1; }
: > "$OUT/check.log"

# On the GPU host: what make gpu-bundle packed here (carried as
# out/gpu-bundle.tar.xz), unpacked once.
if [ ! -x "$MEDFLOW" ] && [ -s out/gpu-bundle.tar.xz ]; then
	[ -x out/gpu-bundle/medflow-xla ] || xz -dc out/gpu-bundle.tar.xz | tar -C out -xf -
	MEDFLOW=out/gpu-bundle/medflow-xla
	export LD_LIBRARY_PATH=$PWD/out/gpu-bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export MEDFLOW_ORT_LIB=$PWD/out/gpu-bundle/lib/libonnxruntime.so.1
	export REHEARSAL_TOKENIZER=${REHEARSAL_TOKENIZER:-$PWD/out/gpu-bundle/tokenizer.model}
fi
[ -x "$MEDFLOW" ] || die "$MEDFLOW not found: run make gpu-bundle (or make xla) first"
export GOMLX_NO_AUTO_INSTALL=1

SIMPLEGO=go:ops_sequential,parallelism=-1
# The tiny shapes: the dry run, and the numerics step on every run.
TINY=(--set images.size=32 --set embed.dim=64 --set embed.batch_tokens=2048
	--set mae.patch=8 --set mae.width=32 --set mae.depth=1 --set mae.heads=2 --set mae.mlp_ratio=2
	--set mae.decoder_width=16 --set mae.decoder_depth=1 --set mae.decoder_heads=2 --set mae.batch_size=8
	--set contrastive.batch_size=8 --set clf.batch_size=8)
REAL_LLAMA=(--tiny --seed 1 --vocab 32000 --dim 4096 --heads 32 --kv-heads 32 --hidden 11008 --layers "$LAYERS" --external-data)
PREFIX=GPUCheck
if [ "$DRY_RUN" = 1 ]; then
	export GOMLX_BACKEND=${GOMLX_BACKEND:-$SIMPLEGO}
	STUDIES=${STUDIES:-40}
	SIZE=32 LLAMA=(--tiny --seed 1) DIM=64
	SHRINK=("${TINY[@]}")
	STEPS=${STEPS_DRY:-3}
elif [ "$CPU" = 1 ]; then
	export GOMLX_BACKEND=${GOMLX_BACKEND:-$SIMPLEGO}
	STUDIES=${STUDIES:-100}
	SIZE=256 DIM=4096 LLAMA=("${REAL_LLAMA[@]}")
	SHRINK=(--set mae.batch_size=8 --set contrastive.batch_size=8 --set clf.batch_size=8)
	STEPS=${STEPS_CPU:-2}
	RUNTIMES=${RUNTIMES:-ort}
	PREFIX=Rehearsal
else
	STUDIES=${STUDIES:-1000}
	SIZE=256 DIM=4096 LLAMA=("${REAL_LLAMA[@]}")
	SHRINK=()
	# jax's CUDA plugin is jax_plugins/xla_cuda*/xla_cuda_plugin.so: go-xla's
	# search patterns (pjrt_c_api_<name>_plugin.so) miss that name, so the
	# backend is given its absolute path (GOMLX_BACKEND=xla:/abs/path.so).
	# (medflow sets XLA_FLAGS' --xla_gpu_cuda_data_dir itself: nn/backend_xla.go.)
	if [ -z "${PJRT_PLUGIN:-}" ]; then
		PJRT_PLUGIN=$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
for r in roots:
    for p in sorted(glob.glob(os.path.join(r, "jax_plugins", "xla_cuda*", "*.so"))):
        print(os.path.abspath(p)); raise SystemExit
PY
)
	fi
	[ -n "$PJRT_PLUGIN" ] && [ -f "$PJRT_PLUGIN" ] || die "no PJRT CUDA plugin (jax_plugins/xla_cuda*/*.so) in python3's site-packages; set PJRT_PLUGIN=/abs/path/plugin.so"
	GOMLX_BACKEND=${GOMLX_BACKEND_OVERRIDE:-xla:$PJRT_PLUGIN}
	export GOMLX_BACKEND
	log "PJRT plugin: $PJRT_PLUGIN; XLA_FLAGS=${XLA_FLAGS:-}"
	nvidia-smi -L > "$OUT/gpu.txt" 2>&1 || true
fi
"$MEDFLOW" version | tee "$OUT/version.txt" >&2
log "backend $GOMLX_BACKEND, $STUDIES studies, Llama dim $DIM"

# Data, model and work store go to SCRATCH, not OUT: only small result
# files should travel back.
SCRATCH=${SCRATCH:-out/gpu-check-scratch}
mkdir -p "$SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd)
WORK=$SCRATCH/work
export REHEARSAL_DATA=$SCRATCH/mimic-$STUDIES-$SIZE REHEARSAL_LLAMA=$SCRATCH/llama-$DIM.onnx
export REHEARSAL_TOKENIZER=${REHEARSAL_TOKENIZER:-$PWD/.cache/tokenizer/llama2/tokenizer.model}
[ -s "$REHEARSAL_TOKENIZER" ] || die "tokenizer model $REHEARSAL_TOKENIZER missing (make tokenizer-model, or carry it)"
if [ ! -s "$REHEARSAL_DATA/mimic-cxr-2.0.0-split.csv.gz" ]; then
	log "phantom data"
	"$MEDFLOW" synth --out "$REHEARSAL_DATA" --studies "$STUDIES" --size "${SIZE}x${SIZE}" --splits 0.8,0.1,0.1 >> "$OUT/check.log" 2>&1
fi
if [ ! -s "$REHEARSAL_LLAMA" ]; then
	log "Llama model (random weights)"
	"$MEDFLOW" models llama-onnx "${LLAMA[@]}" --out "$REHEARSAL_LLAMA" >> "$OUT/check.log" 2>&1
fi
rehearse() { "$MEDFLOW" run flagship-rehearsal --config pipelines.yaml --no-progress --log-format json "$@"; }

steps=(--set mae.max_steps="$STEPS" --set contrastive.max_steps="$STEPS" --set clf.max_steps="$STEPS")
for runtime in ${RUNTIMES:-gomlx ort}; do
	log "run: text.embed runtime $runtime"
	start=$(date +%s)
	if ! rehearse --work "$WORK" --set embed.runtime="$runtime" "${steps[@]}" "${SHRINK[@]}" > "$OUT/run-$runtime.jsonl" 2>&1; then
		tail -5 "$OUT/run-$runtime.jsonl" >&2
		die "run with runtime $runtime failed (log: $OUT/run-$runtime.jsonl)"
	fi
	echo "$runtime $(( $(date +%s) - start ))" >> "$OUT/wall.txt"
	# Training was measured in the first run; the second only embeds anew.
	steps=(--set mae.max_steps=1 --set contrastive.max_steps=1 --set clf.max_steps=1)
done

# Numerics: the same 3 training steps of each trainer at tiny shapes on
# GOMLX_BACKEND and on simplego (the CPU backend the tests check against
# references), embeddings from ONNX Runtime in both: the losses must agree.
# (Not with CPU=1: the backend is simplego.)
if [ "$CPU" != 1 ]; then
	log "numerics: $GOMLX_BACKEND vs simplego, 3 steps at tiny shapes"
	(
		export REHEARSAL_DATA=$SCRATCH/tiny-mimic REHEARSAL_LLAMA=$SCRATCH/tiny-llama.onnx
		[ -s "$REHEARSAL_DATA/mimic-cxr-2.0.0-split.csv.gz" ] ||
			"$MEDFLOW" synth --out "$REHEARSAL_DATA" --studies 40 --size 32x32 --splits 0.8,0.1,0.1 >> "$OUT/check.log" 2>&1
		[ -s "$REHEARSAL_LLAMA" ] || "$MEDFLOW" models llama-onnx --tiny --seed 1 --out "$REHEARSAL_LLAMA" >> "$OUT/check.log" 2>&1
		for run in "backend $GOMLX_BACKEND" "simplego $SIMPLEGO"; do
			name=${run%% *} be=${run#* }
			GOMLX_BACKEND=$be rehearse --work "$SCRATCH/work-numerics-$name" --set embed.runtime=ort --set mae.max_steps=3 \
				--set contrastive.max_steps=3 --set clf.max_steps=3 "${TINY[@]}" > "$OUT/numerics-$name.jsonl" 2>&1 || exit 1
		done
	) || die "numerics runs failed (logs: $OUT/numerics-*.jsonl)"
fi

mkdir -p "$OUT/records"
find "$WORK/runs" -name record.json -exec sh -c 'cp "$1" "$2/records/$(basename "$(dirname "$1")").json"' _ {} "$OUT" \;
python3 bench/gpu/summarize.py "$OUT" "$PREFIX" || die "summary failed (numerics beyond tolerance?)"
log "results in $OUT/results.md"
