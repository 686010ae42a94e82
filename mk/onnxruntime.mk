# mk/onnxruntime.mk — the ONNX Runtime shared library the ort package loads.
# Included from the main Makefile; the main `deps` target should depend on
# $(ORT_DEPS) (= onnxruntime-lib), and `make test` should export
# MEDFLOW_REQUIRE_ORT=1 so ORT tests fail instead of skipping without it.
#
# Targets:
#   onnxruntime-lib     .cache/onnxruntime/libonnxruntime.so.1 (CPU build, linux x64), taken
#                       from the npm tarball onnxruntime-node@1.30.0 (npm pack: download
#                       only, no install, no lifecycle scripts), checksum-pinned, cached
#   onnxruntime-test    go test ./ort/... ./stages/embed/... with MEDFLOW_REQUIRE_ORT=1
#   onnxruntime-bench   the ort and embed benchmarks (medians over ORT_BENCH_COUNT runs)
#   onnxruntime-clean   remove the extracted library (keeps the tarball)
#
# ORT 1.30 serves the C API version 24 that github.com/yalue/onnxruntime_go
# v1.27.0 asks for. The npm package's postinstall script (skipped here)
# would download the CUDA provider libraries from NuGet; a GPU machine needs
# those separately (see bench/gpu/README.md).

ORT_NPM_PKG      ?= onnxruntime-node
ORT_VERSION      ?= 1.30.0
ORT_CACHE        ?= .cache/onnxruntime
ORT_NPM_TGZ      := $(ORT_CACHE)/$(ORT_NPM_PKG)-$(ORT_VERSION).tgz
ORT_NPM_SHA256   ?= 6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_TGZ_MEMBER   := package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_LIB          := $(ORT_CACHE)/libonnxruntime.so.1
ORT_BENCH_COUNT  ?= 5

ORT_DEPS := onnxruntime-lib

.PHONY: onnxruntime-lib onnxruntime-test onnxruntime-bench onnxruntime-clean

onnxruntime-lib: $(ORT_LIB)

# npm pack only downloads the tarball: no install, no lifecycle scripts.
$(ORT_NPM_TGZ):
	@mkdir -p $(ORT_CACHE)
	cd $(ORT_CACHE) && npm pack --ignore-scripts $(ORT_NPM_PKG)@$(ORT_VERSION)
	@echo "$(ORT_NPM_SHA256)  $@" | sha256sum -c - || { rm -f $@; echo "checksum mismatch for $@" >&2; exit 1; }

# Extract the one member to a temporary name and rename it, so an
# interrupted extraction never leaves a truncated library behind.
$(ORT_LIB): $(ORT_NPM_TGZ)
	@case "$$(uname -s)/$$(uname -m)" in Linux/x86_64) ;; \
	  *) echo "onnxruntime-lib: $(ORT_TGZ_MEMBER) is for linux x64; on $$(uname -s)/$$(uname -m) set MEDFLOW_ORT_LIB to a libonnxruntime $(ORT_VERSION)" >&2; exit 1;; esac
	tar -xzOf $< $(ORT_TGZ_MEMBER) > $@.tmp
	chmod 0755 $@.tmp
	mv -f $@.tmp $@

onnxruntime-test: $(ORT_LIB)
	MEDFLOW_REQUIRE_ORT=1 go test -count=1 ./ort/... ./stages/embed/...

onnxruntime-bench: $(ORT_LIB) $(TOKENIZER_MODEL)
	go test -run '^$$' -bench . -benchtime 3x -count $(ORT_BENCH_COUNT) ./ort/ ./stages/embed/

onnxruntime-clean:
	rm -f $(ORT_LIB) $(ORT_LIB).tmp
