# mk/onnx.mk — ONNX protobuf types, the Llama ONNX writer and its tests/benchmarks.
# Included from the main Makefile (the lead adds `include mk/onnx.mk`).
#
# Targets:
#   onnx-proto     regenerate onnx/onnxpb/onnx.pb.go from Debian libonnx-dev's onnx.proto
#                  (installs protobuf-compiler + libonnx-dev if missing, checks their pinned
#                  versions with dpkg-query, installs protoc-gen-go into .cache/bin). Normal
#                  builds never need this: the generated file is committed.
#   onnx-test      go test the onnx, safetensors and llama packages (the ONNX Runtime
#                  numerics tests skip loudly without .cache/onnxruntime/libonnxruntime.so.1)
#   llama-ort-test the ORT-vs-reference tests with MEDFLOW_REQUIRE_ORT=1 (fail without the
#                  library; it comes from the ort package's Makefile step, onnxruntime-node@1.30.0)
#   llama-tiny     write the tiny random Llama model to .cache/models/llama-tiny/model.onnx
#   llama-bench    conversion memory benchmark (HF safetensors -> ONNX external data)

ONNX_PROTOC_VERSION    ?= 3.21.12-3+deb12u1
ONNX_LIBONNX_VERSION   ?= 1.12.0-2+b4
ONNX_PROTOC_GEN_GO     ?= v1.36.12
ONNX_PROTO_SRC         ?= /usr/include/onnx/onnx.proto
ONNX_PB_OUT            := onnx/onnxpb/onnx.pb.go
ONNX_BIN               := $(CURDIR)/.cache/bin
ONNX_SUDO              := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
LLAMA_TINY             := .cache/models/llama-tiny/model.onnx

.PHONY: onnx-proto onnx-apt onnx-test llama-ort-test llama-tiny llama-bench

onnx-apt:
	@for p in protobuf-compiler libonnx-dev; do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || need="$$need $$p"; \
	done; \
	if [ -n "$$need" ]; then $(ONNX_SUDO) apt-get install -y \
	  protobuf-compiler=$(ONNX_PROTOC_VERSION) libonnx-dev:amd64=$(ONNX_LIBONNX_VERSION); fi
	@got=$$(dpkg-query -W -f='$${Version}' protobuf-compiler); [ "$$got" = "$(ONNX_PROTOC_VERSION)" ] || \
	  { echo "protobuf-compiler $$got installed, want $(ONNX_PROTOC_VERSION)"; exit 1; }
	@got=$$(dpkg-query -W -f='$${Version}' libonnx-dev); [ "$$got" = "$(ONNX_LIBONNX_VERSION)" ] || \
	  { echo "libonnx-dev $$got installed, want $(ONNX_LIBONNX_VERSION)"; exit 1; }

$(ONNX_BIN)/protoc-gen-go:
	@mkdir -p $(ONNX_BIN)
	GOBIN=$(ONNX_BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(ONNX_PROTOC_GEN_GO)

onnx-proto: onnx-apt $(ONNX_BIN)/protoc-gen-go
	@tmp=$$(mktemp -d) && cp $(ONNX_PROTO_SRC) $$tmp/onnx.proto && \
	  PATH=$(ONNX_BIN):$$PATH protoc -I $$tmp --go_out=$$tmp --go_opt=paths=source_relative \
	    --go_opt=Monnx.proto=github.com/medflow/medflow/onnx/onnxpb $$tmp/onnx.proto && \
	  cp $$tmp/onnx.pb.go $(ONNX_PB_OUT) && rm -rf $$tmp
	$(GO) build ./onnx/onnxpb/

onnx-test:
	$(GO) test -count=1 ./onnx/... ./safetensors/... ./llama/...

llama-ort-test:
	MEDFLOW_REQUIRE_ORT=1 $(GO) test -count=1 -run ORT -v ./llama/

llama-tiny:
	@mkdir -p $(dir $(LLAMA_TINY))
	$(GO) run ./cmd/medflow models llama-onnx --tiny --out $(LLAMA_TINY)

llama-bench:
	$(GO) test -run '^$$' -bench BenchmarkFromHFMemory -benchtime 1x -count $(BENCH_COUNT) ./llama/
