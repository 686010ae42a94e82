# mk/tokenizer.mk — dependencies, tests and benchmark of the tokenizer package.
# Included from the main Makefile; the main `deps` target should depend on
# $(TOKENIZER_DEPS) (= tokenizer-deps).
#
# Targets:
#   tokenizer-deps        apt packages sentencepiece + libsentencepiece-dev (only if
#                         missing) and the Llama-2 vocabulary npm tarball (only if missing)
#   tokenizer-apt         just the apt packages
#   tokenizer-vocab       just the npm tarball (.cache/npm/, gitignored; never committed)
#   tokenizer-model       build .cache/tokenizer/llama2/tokenizer.model (+ tokenizer.json)
#   tokenizer-test        go test ./tokenizer/...
#   tokenizer-fuzz        go test -fuzz (TOKENIZER_FUZZTIME, default 60s)
#   tokenizer-bench       medflow vs libsentencepiece, single-threaded, same documents
#   tokenizer-clean       remove the built model and benchmark harness (keeps the npm cache)

TOKENIZER_SPM_VERSION  ?= 0.1.97-3+b1
TOKENIZER_NPM_PKG      ?= llama-tokenizer-js
TOKENIZER_NPM_VERSION  ?= 1.2.2
TOKENIZER_NPM_CACHE    ?= .cache/npm
TOKENIZER_NPM_TGZ      := $(TOKENIZER_NPM_CACHE)/$(TOKENIZER_NPM_PKG)-$(TOKENIZER_NPM_VERSION).tgz
TOKENIZER_NPM_SHA256   ?= ee83014ac8b379b16cf8d81e99ffcdb23dfade8c0d2e751bd06e7dc0b8476e72
TOKENIZER_BUILD        ?= .cache/tokenizer
TOKENIZER_MODEL        := $(TOKENIZER_BUILD)/llama2/tokenizer.model
TOKENIZER_HFJSON       := $(TOKENIZER_BUILD)/llama2/tokenizer.json
TOKENIZER_SPM_BENCH    := $(TOKENIZER_BUILD)/spm_bench
TOKENIZER_APT_PKGS     := sentencepiece libsentencepiece-dev
TOKENIZER_FUZZTIME     ?= 60s
TOKENIZER_BENCH_DOCS   ?= 4000
TOKENIZER_BENCH_RUNS   ?= 7
TOKENIZER_BENCH_KINDS  ?= reports sentences mixed

# Run apt-get through sudo only when not root.
TOKENIZER_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

TOKENIZER_DEPS := tokenizer-deps

.PHONY: tokenizer-deps tokenizer-apt tokenizer-vocab tokenizer-model tokenizer-test \
        tokenizer-fuzz tokenizer-bench tokenizer-clean

tokenizer-deps: tokenizer-apt tokenizer-vocab

tokenizer-apt:
	@missing=""; for p in $(TOKENIZER_APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p=$(TOKENIZER_SPM_VERSION)"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  $(TOKENIZER_SUDO) apt-get update && $(TOKENIZER_SUDO) apt-get install -y --no-install-recommends $$missing; \
	else \
	  echo "tokenizer-apt: $(TOKENIZER_APT_PKGS) already installed"; \
	fi

tokenizer-vocab: $(TOKENIZER_NPM_TGZ)

# npm pack only downloads the tarball: no install, no lifecycle scripts.
$(TOKENIZER_NPM_TGZ):
	@mkdir -p $(TOKENIZER_NPM_CACHE)
	cd $(TOKENIZER_NPM_CACHE) && npm pack --ignore-scripts $(TOKENIZER_NPM_PKG)@$(TOKENIZER_NPM_VERSION)
	@echo "$(TOKENIZER_NPM_SHA256)  $@" | sha256sum -c - || { rm -f $@; echo "checksum mismatch for $@" >&2; exit 1; }

tokenizer-model: $(TOKENIZER_MODEL)

$(TOKENIZER_MODEL): $(TOKENIZER_NPM_TGZ) $(wildcard tokenizer/*.go)
	@mkdir -p $(dir $@)
	go run ./tokenizer/cmd/llama2model -npm $(TOKENIZER_NPM_TGZ) -out $@ -hf $(TOKENIZER_HFJSON)

tokenizer-test: tokenizer-deps
	go test ./tokenizer/...

tokenizer-fuzz: tokenizer-deps
	go test ./tokenizer -run '^$$' -fuzz FuzzRoundTrip -fuzztime $(TOKENIZER_FUZZTIME) -fuzzminimizetime 2s

$(TOKENIZER_SPM_BENCH): tokenizer/bench/spm_bench.cc | tokenizer-apt
	@mkdir -p $(dir $@)
	g++ -O2 -std=c++17 -o $@ $< $$(pkg-config --cflags --libs sentencepiece 2>/dev/null || echo -lsentencepiece)

# Single-threaded medflow vs libsentencepiece (tokenizer/bench/spm_bench.cc) on
# the same generated documents, runs alternating; then the Go benchmark.
tokenizer-bench: $(TOKENIZER_MODEL) $(TOKENIZER_SPM_BENCH)
	@for k in $(TOKENIZER_BENCH_KINDS); do \
	  go run ./tokenizer/cmd/tokbench -model $(TOKENIZER_MODEL) -spm-bench $(TOKENIZER_SPM_BENCH) \
	    -docs $(TOKENIZER_BENCH_DOCS) -runs $(TOKENIZER_BENCH_RUNS) -kind $$k || exit 1; \
	done
	go test ./tokenizer -run '^$$' -bench BenchmarkEncode -benchtime 2s

tokenizer-clean:
	rm -rf $(TOKENIZER_BUILD)
