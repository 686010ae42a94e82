#!/usr/bin/env bash
# deploy/rootfs/buildah.sh — build deploy/Dockerfile itself without a Docker
# engine: buildah (Debian's package, daemonless, chroot isolation) runs every instruction of the `cpu` target. The registries'
# base images cannot be pulled from the development machines, so it builds
# stand-ins first and passes them through the Dockerfile's ARGs:
#   BASE_IMAGE  localhost/debian:bookworm-minbase  mmdebstrap bookworm minbase
#               (what debuerreotype builds debian:bookworm from)
#   GO_IMAGE    localhost/golang:1.26.8-bookworm   minbase + gcc, libc6-dev,
#               pkg-config, ca-certificates, and this machine's /usr/local/go
#               (and its CA bundle, for the module proxy behind this
#               workplace's TLS proxy)
# then builds with `--build-context artifacts=out/image` (make image-context),
# as `make image` does, and checks the result: the image's user,
# entrypoint and environment, then runs deploy/rootfs/build.sh's smoke test
# (IMAGE_ROOT) in the image's own filesystem.
# The build stage compiles medflow from scratch (minutes on 2 cores).
#
# Needs root, buildah and crun (apt-get install buildah crun), mmdebstrap,
# the Debian mirror and the Go module proxy. Not part of make test.
#   make image-context && deploy/rootfs/buildah.sh
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${ROOTFS_CACHE:-$repo/.cache/rootfs}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org}
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
tag=localhost/medflow:buildah-test

die() { echo "buildah: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
command -v buildah >/dev/null || die "buildah is not installed (apt-get install buildah crun)"
[ -f "$repo/out/image/libonnxruntime.so.1" ] || die "run make image-context first"
mkdir -p "$cache"

sources=("deb $mirror/debian bookworm main" "deb $mirror/debian bookworm-updates main" "deb $mirror/debian-security bookworm-security main")
tarball() { # name, extra mmdebstrap args...
	local out=$cache/$1.tar; shift
	if [ ! -f "$out" ]; then
		mmdebstrap --variant=minbase --format=tar "$@" bookworm "$out.tmp" "${sources[@]}"
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}

if ! buildah inspect localhost/debian:bookworm-minbase >/dev/null 2>&1; then
	c=$(buildah from scratch)
	buildah add "$c" "$(tarball bookworm-minbase)" / >/dev/null
	buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$c"
	buildah commit -q "$c" localhost/debian:bookworm-minbase
	buildah rm "$c" >/dev/null
fi
if ! buildah inspect localhost/golang:1.26.8-bookworm >/dev/null 2>&1; then
	[ "$(/usr/local/go/bin/go env GOVERSION)" = go1.26.8 ] || die "/usr/local/go is not go1.26.8"
	c=$(buildah from scratch)
	buildah add "$c" "$(tarball bookworm-gobase --include=gcc,libc6-dev,pkg-config,ca-certificates)" / >/dev/null
	buildah add "$c" /usr/local/go /usr/local/go >/dev/null
	buildah copy "$c" /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt >/dev/null
	buildah config --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		--env GOPATH=/go --env GOTOOLCHAIN=local --workingdir /go "$c"
	buildah commit -q "$c" localhost/golang:1.26.8-bookworm
	buildah rm "$c" >/dev/null
fi

cd "$repo"
t0=$SECONDS
buildah bud --layers --network host -f deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore --target cpu \
	--build-context artifacts=out/image \
	--build-arg GO_IMAGE=localhost/golang:1.26.8-bookworm \
	--build-arg BASE_IMAGE=localhost/debian:bookworm-minbase \
	--build-arg VERSION="$(git describe --always --dirty 2>/dev/null || echo dev)" \
	-t "$tag" .
echo "buildah: built $tag in $((SECONDS - t0)) s"

cfg=$(buildah inspect --format '{{.OCIv1.Config.User}}|{{.OCIv1.Config.Entrypoint}}|{{.OCIv1.Config.Env}}' "$tag")
echo "buildah: config $cfg"
[[ $cfg == "10001:10001|[/usr/local/bin/medflow]|"* ]] || die "unexpected user/entrypoint: $cfg"
[[ $cfg == *MEDFLOW_ORT_LIB=/usr/local/lib/medflow/libonnxruntime.so.1* ]] || die "no MEDFLOW_ORT_LIB in $cfg"
c=$(buildah from "$tag")
trap 'buildah umount "$c" >/dev/null; buildah rm "$c" >/dev/null' EXIT
# The image's own filesystem through the rootfs smoke test: read-only root,
# no network, uid 10001, mimic-ingest and a tiny llm-contrastive.
IMAGE_ROOT=$(buildah mount "$c") "$repo/deploy/rootfs/build.sh"
echo "buildah: OK"
