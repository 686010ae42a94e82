#!/usr/bin/env bash
# deploy/rootfs/build.sh — the offline proof of medflow's runtime image.
#
# No Docker engine runs on the development machines, so `docker build`
# cannot be checked here. This script assembles the same runtime root
# filesystem as the `cpu` target of deploy/Dockerfile from Debian packages
# and runs medflow inside it:
#
#   1. mmdebstrap: Debian bookworm, variant minbase (the package set of the
#      debian:bookworm base image: Essential + Priority required + apt),
#      plus exactly the pinned packages of deploy/runtime-packages.txt, and
#      the non-root user medflow (uid/gid 10001) created with the
#      Dockerfile's command. Cached as a tarball under .cache/rootfs/, keyed
#      by the package list and this script.
#   2. The image layout: bin/medflow -> /usr/local/bin/medflow,
#      libonnxruntime.so.1 (npm onnxruntime-node, mk/onnxruntime.mk) ->
#      /usr/local/lib/medflow/, the Llama-2 tokenizer (mk/tokenizer.mk) ->
#      /opt/medflow/tokenizer/llama2/, deploy/k8s/pipelines.yaml (the
#      ConfigMap's file) -> /etc/medflow/pipelines.yaml.
#   3. In new mount, PID and network namespaces (no network: nothing can be
#      downloaded at run time), with the root filesystem bind-mounted
#      read-only (readOnlyRootFilesystem), tmpfs on /tmp and a writable
#      /work (the manifests' emptyDir volumes), as uid:gid 10001:10001 with
#      only the image's environment (env -i): `medflow version`, `medflow
#      synth` (a phantom MIMIC-CXR-JPG), `medflow run mimic-ingest` and
#      `medflow run llm-contrastive` (the GPU job's variant, shrunk with
#      --set to a tiny random Llama ONNX model and a tiny ViT: ONNX Runtime,
#      libjpeg-turbo and GoMLX all run) from the ConfigMap's pipelines file,
#      then `medflow inspect` of the outputs. `medflow version --verbose`
#      and the trainers' "training" log lines must name OpenBLAS (the
#      medflowblas build with libopenblas0-pthread).
#
# Needs root (mmdebstrap, chroot, mount, unshare) and the Debian mirror for
# step 1 only. Usage (make rootfs-test builds the inputs first):
#   deploy/rootfs/build.sh [BIN]   BIN defaults to bin/medflow
# With IMAGE_ROOT=DIR it skips steps 1-2 and runs step 3 (and the checks of
# the packages, user and libraries) in DIR, an unpacked image built from
# deploy/Dockerfile (deploy/rootfs/buildah.sh does that).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$repo/bin/medflow}
cache=${ROOTFS_CACHE:-$repo/.cache/rootfs}
ort_lib=${ORT_LIB:-$repo/.cache/onnxruntime/libonnxruntime.so.1}
tok_model=${TOKENIZER_MODEL:-$repo/.cache/tokenizer/llama2/tokenizer.model}
pkgs_file=$repo/deploy/runtime-packages.txt
pipelines=$repo/deploy/k8s/pipelines.yaml
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
studies=${ROOTFS_STUDIES:-60}

# The image layout; deploy/dockerfile_test.go checks that deploy/Dockerfile
# uses the same paths, user and environment.
MEDFLOW_UID=10001
BIN_PATH=/usr/local/bin/medflow
ORT_PATH=/usr/local/lib/medflow/libonnxruntime.so.1
TOKENIZER_DIR=/opt/medflow/tokenizer/llama2
PIPELINES_PATH=/etc/medflow/pipelines.yaml
IMAGE_ENV=(PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR=/tmp
	MEDFLOW_ORT_LIB=$ORT_PATH)
USERADD="groupadd --gid $MEDFLOW_UID medflow && useradd --uid $MEDFLOW_UID --gid $MEDFLOW_UID --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin medflow"

die() { echo "rootfs: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot, mount namespaces)"
image_root=${IMAGE_ROOT:-}
if [ -z "$image_root" ]; then
	for f in "$bin" "$ort_lib" "$tok_model"; do
		[ -f "$f" ] || die "missing $f (make rootfs-test builds it)"
	done
	command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"
else
	[ -d "$image_root/etc/medflow" ] && [ -d "$image_root/work" ] || die "$image_root: not an unpacked medflow image (no /etc/medflow, /work)"
fi

mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$pkgs_file")
[ ${#pkgs[@]} -gt 0 ] || die "no packages in $pkgs_file"
for p in "${pkgs[@]}"; do
	[[ $p == *=* ]] || die "$pkgs_file: $p is not pinned (name=version)"
done

# (In this shell's working folder there is no pipelines.yaml: every
# command names the ConfigMap's file, as the Jobs do.)

t0=$SECONDS
run=$(mktemp -d "${TMPDIR:-/tmp}/medflow-rootfs.XXXXXX")
cleanup() { rm -rf "$run"; }
trap cleanup EXIT
mkdir -p "$run/work" "$run/config"
chown "$MEDFLOW_UID:$MEDFLOW_UID" "$run/work"
# The ConfigMap: mounted read-only at /etc/medflow, as in the Jobs.
install -m 0644 "$pipelines" "$run/config/$(basename "$PIPELINES_PATH")"

if [ -n "$image_root" ]; then
	root=$image_root
	echo "rootfs: using the image filesystem $root"
else
# 1. The base root filesystem, cached.
key=$( (cat "$pkgs_file"; echo "$suite $mirror $USERADD"; sed -n '/^# -- mmdebstrap/,/^# -- end/p' "$0") | sha256sum | cut -c1-16)
tarball=$cache/$suite-runtime-$key.tar
mkdir -p "$cache"
if [ ! -f "$tarball" ]; then
	echo "rootfs: mmdebstrap $suite minbase + ${pkgs[*]}"
	include=$(IFS=,; echo "${pkgs[*]}")
	# -- mmdebstrap
	rm -rf "$tarball.tmp"
	mmdebstrap --variant=minbase --format=tar --include="$include" \
		--customize-hook="chroot \"\$1\" sh -c '$USERADD'" \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
		"$suite" "$tarball.tmp" \
		"deb $mirror/debian $suite main" \
		"deb $mirror/debian $suite-updates main" \
		"deb $mirror/debian-security $suite-security main"
	# -- end
	mv "$tarball.tmp" "$tarball"
	echo "rootfs: built $tarball in $((SECONDS - t0)) s"
else
	echo "rootfs: cached $tarball"
fi

# 2. The image layout on a fresh copy.
root=$run/root
mkdir -p "$root"
tar -xf "$tarball" -C "$root"
install -D -m 0755 "$bin" "$root$BIN_PATH"
install -D -m 0755 "$ort_lib" "$root$ORT_PATH"
install -D -m 0644 "$tok_model" "$root$TOKENIZER_DIR/tokenizer.model"
mkdir -p "$root/work" "$root$(dirname "$PIPELINES_PATH")"
fi

# The pins resolved to exactly these versions, and the user exists.
for p in "${pkgs[@]}"; do
	got=$(chroot "$root" dpkg-query -W -f='${Version}' "${p%%=*}")
	[ "$got" = "${p#*=}" ] || die "${p%%=*}: installed $got, pinned ${p#*=}"
done
[ "$(chroot "$root" id -u medflow)" = "$MEDFLOW_UID" ] || die "no user medflow with uid $MEDFLOW_UID"
echo "rootfs: $(du -sh "$root" | cut -f1) assembled; packages: $(chroot "$root" dpkg-query -W -f='.\n' | wc -l)"
# Every shared library medflow and ONNX Runtime need resolves inside.
for f in "$BIN_PATH" "$ORT_PATH"; do
	libs=$(chroot "$root" /usr/bin/ldd "$f" 2>&1) || die "ldd $f: $libs"
	if grep -q 'not found' <<<"$libs"; then
		echo "$libs" >&2
		die "$f: missing libraries in the runtime filesystem"
	fi
done
echo "rootfs: every library of $BIN_PATH and $ORT_PATH resolves inside"

# 3. Inside: read-only root, tmpfs /tmp, writable /work, no network, uid 10001.
cat > "$run/work/smoke.sh" <<EOF
set -eu
cd /work
export MIMIC_ROOT=/work/mimic MEDFLOW_DATASETS=/work/datasets MEDFLOW_WORK=/work/run
fail() { echo "smoke: \$*" >&2; exit 1; }
echo "+ id"; id
echo "+ network interfaces:" \$(awk -F: 'NR>2{print \$1}' /proc/net/dev)
echo "+ medflow version --verbose"; medflow version --verbose | tee /work/version.txt
grep -q '^matmul: OpenBLAS ' /work/version.txt || fail "the training matmuls do not run in OpenBLAS (libopenblas0-pthread, a medflowblas build)"
if touch /usr/local/bin/x 2>/dev/null; then fail "the root filesystem is writable"; fi
echo "+ medflow synth"
medflow synth --config $PIPELINES_PATH --out /work/mimic --studies $studies --size 128x160 --splits 0.5,0.1,0.4 --corrupt-fraction 0.05
echo "+ medflow run mimic-ingest (the Jobs' variant, from the ConfigMap's pipelines file)"
medflow run mimic-ingest --config $PIPELINES_PATH --no-progress --log-format text
for d in reports images; do
  echo "+ medflow inspect /work/datasets/\$d"
  medflow inspect /work/datasets/\$d --config $PIPELINES_PATH > /work/inspect-\$d.txt
  head -c 600 /work/inspect-\$d.txt; echo
  grep -q "^dataset file:///work/datasets/\$d: [1-9][0-9]* rows" /work/inspect-\$d.txt || fail "no rows in /work/datasets/\$d"
done
echo "+ medflow models llama-onnx --tiny"
medflow models llama-onnx --config $PIPELINES_PATH --tiny --seed 1 --out /work/llama-tiny.onnx
echo "+ medflow run llm-contrastive (the GPU Job's variant, tiny: ONNX Runtime embeddings, GoMLX training)"
medflow run llm-contrastive --config $PIPELINES_PATH --no-progress --log-format text \\
  --set embed.model=/work/llama-tiny.onnx --set embed.dim=64 --set embed.max_tokens=256 --set tokens.max_tokens=256 \\
  --set images.size=32 --set mae.patch=8 --set mae.width=32 --set mae.depth=1 --set mae.heads=2 --set mae.mlp_ratio=2 \\
  --set mae.decoder_width=16 --set mae.decoder_depth=1 --set mae.decoder_heads=2 --set mae.epochs=1 --set mae.batch_size=16 \\
  --set contrastive.epochs=1 --set contrastive.batch_size=16 --set clf-llm.epochs=2 --set clf-llm.batch_size=16 \\
  --set summary-llm.bootstrap=50 > /work/llm.log 2>&1 || { cat /work/llm.log; fail "llm-contrastive failed"; }
cat /work/llm.log
grep -q 'msg=embedded stage=embed .* embedded=[1-9]' /work/llm.log || fail "text.embed (ONNX Runtime) embedded nothing"
grep -q 'msg=predicted stage=pred-llm rows=[1-9]' /work/llm.log || fail "no test-split predictions"
grep -q 'msg=training .* matmul="OpenBLAS ' /work/llm.log || fail "training did not run its matmuls in OpenBLAS"
echo "+ medflow runs"; medflow runs --config $PIPELINES_PATH
EOF
chmod 0644 "$run/work/smoke.sh"

echo "rootfs: running medflow inside (uid $MEDFLOW_UID, read-only root, no network)"
t1=$SECONDS
unshare --mount --pid --net --fork --propagation private bash -euc '
	root=$1 work=$2 config=$3 uid=$4; shift 4
	mount --bind "$root" "$root"
	mount -o remount,bind,ro "$root"
	mount -t proc proc "$root/proc"
	mount -t tmpfs -o mode=1777,size=512m tmp "$root/tmp"
	mount --bind "$work" "$root/work"
	mount --bind "$config" "$root/etc/medflow"
	mount -o remount,bind,ro "$root/etc/medflow"
	mount -t tmpfs -o mode=0755,size=1m dev "$root/dev"
	for d in null zero random urandom; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
	mount -o remount,ro,bind "$root/dev"
	exec chroot --userspec="$uid:$uid" "$root" /usr/bin/env -i "$@" /bin/sh /work/smoke.sh
' rootfs "$root" "$run/work" "$run/config" "$MEDFLOW_UID" "${IMAGE_ENV[@]}"
echo "rootfs: OK (base $((t1 - t0)) s, inside $((SECONDS - t1)) s)"
