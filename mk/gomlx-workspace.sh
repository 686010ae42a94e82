#!/bin/sh
# mk/gomlx-workspace.sh — the Go workspace that adds medflow's two files
# (nn/blas/_simplego/*.go) to GoMLX's simplego package (why: nn/blas/doc.go).
# mk/blas.mk runs it (rule out/gomlx.mk) and so does deploy/Dockerfile's
# build stage, so `make` and the image compile the same kernels.
#
# In the repository root (the folder above this script) it writes:
#   out/gomlx          the GoMLX module directory go.mod requires (downloaded
#                      if needed), mirrored with symlinks into GOMODCACHE,
#                      plus symlinks backends/simplego/zz_medflow_NAME.go to
#                      the two files (absolute paths: the workspace is made
#                      where it is used, never copied)
#   out/medflow.work   a workspace using the repository's module and
#                      replacing GoMLX with out/gomlx
# and prints "GoMLX VERSION + FILES" on stdout. Build with
#   GOWORK=$PWD/out/medflow.work go build -tags medflowblas ...
# Needs go (GO names another), sed, awk, cp -s (GNU coreutils), find.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
go=${GO:-go}
cd "$repo"

info=$(GOWORK=off GOFLAGS= "$go" mod download -json github.com/gomlx/gomlx)
dir=$(echo "$info" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
ver=$(echo "$info" | sed -n 's/^[[:space:]]*"Version": "\(.*\)",*$/\1/p')
[ -d "$dir/backends/simplego" ] || { echo "gomlx-workspace: gomlx module not found ($dir)" >&2; exit 1; }

mkdir -p out
if [ -d out/gomlx ]; then chmod -R u+w out/gomlx; rm -rf out/gomlx; fi
mkdir -p out/gomlx
cp -rs "$dir/." out/gomlx/
find out/gomlx -type d -exec chmod u+w {} +
files=
for f in nn/blas/_simplego/*.go; do
	[ -f "$f" ] || { echo "gomlx-workspace: no nn/blas/_simplego/*.go" >&2; exit 1; }
	ln -s "$repo/$f" "out/gomlx/backends/simplego/zz_medflow_$(basename "$f")"
	files="$files $(basename "$f")"
done
printf 'go %s\n\nuse ..\n\nreplace github.com/gomlx/gomlx %s => ./gomlx\n' "$(awk '/^go /{print $2}' go.mod)" "$ver" > out/medflow.work
echo "GoMLX $ver +$files"
