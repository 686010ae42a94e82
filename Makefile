# medflow — every install step a fresh machine needs, pinned and cached
# under .cache/ (gitignored). The two commands README.md promises:
#   make demo   run the main job on the embedded default (a local folder)
#   make test   run every test (installs what the tests need first)

SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
CACHE   := $(CURDIR)/.cache
LDFLAGS := -X main.version=$(VERSION)

# S3 test server: versitygw, built from source with the Go module proxy.
VERSITYGW_VERSION := v1.8.0
VERSITYGW         := $(CACHE)/bin/versitygw
export MEDFLOW_VERSITYGW := $(VERSITYGW)

BENCH_COUNT ?= 5

# $(call apt_pinned,TARGET,PKG=VERSION ...): install with apt-get (through
# sudo when not root) the packages not installed at exactly that version.
APT_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
define apt_pinned
	@missing=""; for p in $(2); do \
	  dpkg-query -W -f='$${Status} $${Version}' $${p%%=*} 2>/dev/null | grep -q "ok installed $${p#*=}" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "$(1): installing$$missing"; \
	  $(APT_SUDO) apt-get update && $(APT_SUDO) apt-get install -y --no-install-recommends $$missing; \
	else \
	  echo "$(1): $(2) already installed"; \
	fi
endef

include mk/tokenizer.mk
include mk/imaging.mk
include mk/onnx.mk
include mk/onnxruntime.mk
include mk/gpu.mk
include mk/image.mk
include mk/blas.mk

.PHONY: all deps go-deps build demo test lint race fuzz bench clean docs xla

all: build

deps: go-deps blas-deps $(VERSITYGW) $(TOKENIZER_DEPS) $(IMAGING_DEPS) $(ORT_DEPS)

go-deps:
	$(GO) mod download

$(VERSITYGW):
	@mkdir -p $(dir $@)
	GOBIN=$(dir $@) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
	@$@ --version >/dev/null 2>&1 || $@ --help >/dev/null

build: $(IMAGING_DEPS)
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/medflow ./cmd/medflow

# The main job: the whole flagship study (the `demo` variant of
# pipelines.yaml) on the embedded default. A phantom MIMIC-CXR dataset
# (6000 studies, small JPEGs, a few planted faults) and a tiny random-weight
# Llama ONNX model are written under ./data once; the run then indexes,
# decodes, tokenizes (real Llama-2 tokenizer) and embeds (ONNX Runtime),
# pretrains the MAE, trains the contrastive and both classifiers, evaluates
# both arms on the test split and writes Table 1 and a report (the log
# names report.html). A second `make demo` reuses every materialized stage.
DEMO_MIMIC := data/demo-mimic
DEMO_LLAMA := data/models/llama-tiny.onnx
DEMO_SYNTH := --studies 6000 --size 256x320 --splits 0.6,0.1,0.3 --corrupt-fraction 0.03
# The data is written again when DEMO_SYNTH or the generator's source
# changes (a stamp holds the args and a hash of synth/'s non-test sources),
# so an old checkout's data/ does not keep an older demo's size or older
# phantoms.
DEMO_STAMP := $(DEMO_MIMIC)/.synth-args
DEMO_SYNTH_ID = $(DEMO_SYNTH) synth:$(shell cat $(sort $(filter-out %_test.go,$(wildcard synth/*.go))) | sha256sum | cut -c1-16)

$(DEMO_MIMIC)/mimic-cxr-2.0.0-split.csv.gz: $(DEMO_STAMP)
$(DEMO_STAMP): FORCE | build
	@if [ "$$(cat $@ 2>/dev/null)" != "$(DEMO_SYNTH_ID)" ]; then \
	  rm -rf $(DEMO_MIMIC) && bin/medflow synth --out $(DEMO_MIMIC) $(DEMO_SYNTH) && echo "$(DEMO_SYNTH_ID)" > $@; fi

.PHONY: FORCE
FORCE:

$(DEMO_LLAMA): | build
	bin/medflow models llama-onnx --tiny --seed 1 --out $@

demo: build blas-deps $(TOKENIZER_MODEL) $(ORT_LIB) $(DEMO_MIMIC)/mimic-cxr-2.0.0-split.csv.gz $(DEMO_LLAMA)
	bin/medflow run demo

# Generated references (TestGeneratedDocsUpToDate fails when they are stale):
# every stage kind with its params, and a JSON Schema of pipelines.yaml for
# editors (the yaml-language-server line at the top of pipelines.yaml).
docs: build
	bin/medflow kinds --format markdown > stages/KINDS.md
	bin/medflow kinds --format json-schema > pipelines.schema.json

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'" >&2; exit 1; }

# The XLA/PJRT (GPU) build of the trainer: vetted, built and its backend
# test run by make test so it cannot rot. It trains nowhere here: no PJRT
# plugin is installed, and medflow never downloads one (GPU host: see
# bench/gpu).
xla:
	$(GO) vet -tags xla,medflowblas ./nn/... ./train/... ./cmd/medflow
	$(GO) build -tags xla,medflowblas -ldflags "-s -w $(LDFLAGS)" -o bin/medflow-xla ./cmd/medflow
	$(GO) test -count=1 -tags xla,medflowblas -run 'TestXLA' ./nn

# Tests that need ONNX Runtime fail (not skip) without the library.
export MEDFLOW_REQUIRE_ORT := 1

# Every package again under the race detector.
race:
	$(GO) test -race -count=1 -timeout 20m ./...

test: deps lint xla
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) race
	$(MAKE) fuzz FUZZTIME=30000x
	$(MAKE) gpu-dry-run

# Short fuzz runs of every fuzz target (seed corpora are committed).
# make test gives each target a count of executions, not a duration: with a
# duration, Go 1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" at the deadline (golang/go#75804, fixed in
# Go 1.27; seen in CI on FuzzCSV). 30000 executions take 1-30 s per target
# here (FuzzCSVReader is the slowest, ~1000/s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./config -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) -fuzzminimizetime 2s
	$(GO) test ./mimic -run '^$$' -fuzz FuzzCSV -fuzztime $(FUZZTIME) -fuzzminimizetime 2s
	$(GO) test ./mimic -run '^$$' -fuzz FuzzParseReport -fuzztime $(FUZZTIME) -fuzzminimizetime 2s
	$(GO) test ./connectors/formats -run '^$$' -fuzz FuzzCSVReader -fuzztime $(FUZZTIME) -fuzzminimizetime 2s
	$(MAKE) tokenizer-fuzz TOKENIZER_FUZZTIME=$(FUZZTIME)
	$(MAKE) imaging-fuzz IMAGING_FUZZTIME=$(FUZZTIME)

clean:
	rm -rf bin out data

# `make bench`: every benchmark, then BENCHMARKS.md (after the variables it uses).
include mk/bench.mk
include mk/soak.mk
