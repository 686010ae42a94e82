# mk/bench.mk — `make bench`: every benchmark of the project, each comparing
# medflow with a reference measured in the same run, then BENCHMARKS.md (one
# table: medians, ratios, goals, machine) written by internal/cmd/benchreport
# from the outputs $(BENCH_OUT)/bench-*.txt of this run. Commit BENCHMARKS.md
# with the code so regressions show in review.
#
# Include it at the END of the main Makefile (it uses DEMO_MIMIC, DEMO_LLAMA,
# TOKENIZER_MODEL, TOKENIZER_SPM_BENCH and ORT_LIB in prerequisites, which
# make expands when it reads the rule).
#
# Targets:
#   bench          every step below, then $(BENCH_TABLE); a failing step is
#                  recorded ("BENCHSTEP FAIL" in its output file) and the run
#                  goes on: its rows say "not measured" and the table lists it
#   bench-table    only regenerate $(BENCH_TABLE) from the existing outputs
#   bench-<step>   one step (engine rss s3 imaging tokenizer ort train eval llama
#                  rerun barrier embed-resume demo rehearsal), writing $(BENCH_OUT)/bench-<step>.txt
#
# Duration on 2 cores (AMD EPYC): about 15 minutes (the whole run of
# 2026-12-04 22:54-23:09 UTC, quiet machine; text.embed resume ~3.5 min,
# train ~3 min, demo ~2 min, rehearsal ~2.5 min).

ifndef DEMO_MIMIC
$(error mk/bench.mk: include it after DEMO_MIMIC and DEMO_LLAMA are defined (end of Makefile))
endif

BENCH_OUT         ?= out
BENCH_TABLE       ?= BENCHMARKS.md
BENCH_COUNT       ?= 5
BENCH_ENGINE      ?= -benchtime 3x -count 3
BENCH_RSS         ?= -benchtime 1x -count 3
BENCH_S3          ?= -benchtime 3x -count $(BENCH_COUNT)
BENCH_TRAIN       ?= -benchtime 2x -count 1
BENCH_TRAIN_ROUNDS ?= 3
BENCH_TORCH_PY    ?= /usr/bin/python3
BENCH_EVAL        ?= -benchtime 1x -count $(BENCH_COUNT)
BENCH_LLAMA_COUNT ?= 3
BENCH_RERUN       ?= -benchtime 3x -count 1
BENCH_EMBED_RESUME ?= -benchtime 5x -count 1
BENCH_BARRIER     ?= -benchtime 5x -count 1
BENCH_DEMO        ?= -benchtime 1x -count 1
BENCH_STEPS       := engine rss s3 imaging tokenizer ort train eval llama rerun barrier embed-resume demo rehearsal

# $(call bench_step,NAME,COMMAND): COMMAND's output to the terminal and to
# $(BENCH_OUT)/bench-NAME.txt; when it fails, a BENCHSTEP FAIL line (read by
# benchreport) instead of stopping the run. COMMAND must not contain commas.
define bench_step
	@mkdir -p $(BENCH_OUT)
	@echo "== bench $(1)"
	@set -o pipefail; { $(2); } 2>&1 | tee $(BENCH_OUT)/bench-$(1).txt || \
	  echo "BENCHSTEP FAIL $(1) exit $$?" | tee -a $(BENCH_OUT)/bench-$(1).txt
endef

BENCH_GOTEST := $(GO) test -run '^$$'

.PHONY: bench bench-deps bench-table $(addprefix bench-,$(BENCH_STEPS))

bench: bench-deps
	@rm -f $(BENCH_OUT)/bench-*.txt
	@for s in $(BENCH_STEPS); do $(MAKE) --no-print-directory bench-$$s || exit 1; done
	$(MAKE) --no-print-directory bench-table

bench-deps: deps build $(TOKENIZER_MODEL) $(TOKENIZER_SPM_BENCH) $(ORT_LIB) \
            $(DEMO_MIMIC)/mimic-cxr-2.0.0-split.csv.gz $(DEMO_LLAMA)

# The GPU host's results, oldest first (bench/gpu/device.sh on the device tool;
# a newer file supersedes the benchmarks it repeats; the
# machine: line in each file names the host in the table).
GPU_RESULTS := $(sort $(wildcard bench/gpu/results/*-h200.txt))

# `make soak`'s results (bench/soak/soak.sh; committed like the GPU host's).
SOAK_RESULTS_FILE := $(wildcard bench/soak/results.txt)

bench-table:
	$(GO) run ./internal/cmd/benchreport -o $(BENCH_TABLE) $(wildcard $(BENCH_OUT)/bench-*.txt) $(GPU_RESULTS) $(SOAK_RESULTS_FILE)

# Engine overhead vs a hand-written loop, with the default GOGC and GOGC=400.
bench-engine:
	$(call bench_step,engine,$(BENCH_GOTEST) -bench 'Chain' $(BENCH_ENGINE) ./bench && GOGC=400 $(BENCH_GOTEST) -bench 'Chain' $(BENCH_ENGINE) ./bench)

# Peak RSS of the CLI at 10M vs 100M rows.
bench-rss:
	$(call bench_step,rss,$(BENCH_GOTEST) -bench 'PeakRSS' $(BENCH_RSS) ./bench)

# S3 connector vs raw minio-go against versitygw.
bench-s3:
	$(call bench_step,s3,$(BENCH_GOTEST) -bench 'S3Read' $(BENCH_S3) ./connectors/s3)

# JPEG decode vs libjpeg-turbo / djpeg / Go, and the image.decode stage.
bench-imaging:
	$(call bench_step,imaging,$(MAKE) --no-print-directory imaging-bench)

# Tokenizer vs libsentencepiece (tokbench) and BenchmarkEncode.
bench-tokenizer:
	$(call bench_step,tokenizer,$(MAKE) --no-print-directory tokenizer-bench)

# text.embed vs direct ORT, padding, ORT threads and session pool.
bench-ort:
	$(call bench_step,ort,$(MAKE) --no-print-directory onnxruntime-bench)

# Training step img/s and GFLOP/s at batch 64 (the rows; the stock-gradient
# steps take seconds each): custom vs stock gradients vs the host optimizer,
# and the same tiny-ViT step in PyTorch (bench/torchref/train_step.py, 2
# threads), interleaved: BENCH_TRAIN_ROUNDS rounds of torch then medflow.
# Each round also runs the ViT-S/16 224 px step once on both (a minute on 2
# cores), so that pair is interleaved too (n = BENCH_TRAIN_ROUNDS).
bench-train: bench-torch-deps
	$(call bench_step,train,(set -e; for i in $$(seq $(BENCH_TRAIN_ROUNDS)); do \
	  $(BENCH_TORCH_PY) bench/torchref/train_step.py tiny; \
	  $(BENCH_GOTEST) -bench '^(BenchmarkTrainStep|BenchmarkMAEStep)$$/.*/batch64' $(BENCH_TRAIN) ./train; \
	  STEPS=3 WARMUP=1 $(BENCH_TORCH_PY) bench/torchref/train_step.py vits16; \
	  $(BENCH_GOTEST) -bench 'TrainStepViTS16' -benchtime 1x ./train; done))

# The PyTorch reference: Debian's python3-torch with OpenBLAS (without it
# torch falls back to the reference BLAS, ~6x slower), pinned; run with
# Debian's /usr/bin/python3 (a pyenv python3 on PATH has no torch).
TORCH_APT_PKGS ?= python3-torch=1.13.1+dfsg-4 libopenblas0-pthread=0.3.21+ds-4

.PHONY: bench-torch-deps
bench-torch-deps:
	$(call apt_pinned,bench-torch-deps,$(TORCH_APT_PKGS))

# Evaluation of 1M predictions: package metrics and the eval.summary stage.
bench-eval:
	$(call bench_step,eval,$(BENCH_GOTEST) -bench 'Evaluate' $(BENCH_EVAL) ./metrics && $(BENCH_GOTEST) -bench 'SummaryStage' $(BENCH_EVAL) ./stages/eval)

# HF -> ONNX conversion memory.
bench-llama:
	$(call bench_step,llama,$(MAKE) --no-print-directory llama-bench BENCH_COUNT=$(BENCH_LLAMA_COUNT))

# Unchanged rerun vs cold run of a small materialized variant.
bench-rerun:
	$(call bench_step,rerun,$(BENCH_GOTEST) -bench 'Rerun' $(BENCH_RERUN) ./bench)

# Barrier inputs: spill files of three barriers over a streamed vs a
# materialized input (read from the cache once committed).
bench-barrier:
	$(call bench_step,barrier,$(BENCH_GOTEST) -bench 'BarrierInput' $(BENCH_BARRIER) ./bench)

# text.embed rerun after kill -9 at half its parts vs its cold run.
bench-embed-resume:
	$(call bench_step,embed-resume,$(BENCH_GOTEST) -bench 'EmbedResume' $(BENCH_EMBED_RESUME) ./bench)

# The end-to-end demo: wall time, rerun, peak RSS per stage.
bench-demo:
	$(call bench_step,demo,$(BENCH_GOTEST) -bench 'Demo' $(BENCH_DEMO) -timeout 30m ./bench)

# The flagship at real shapes on this machine's CPU (mk/gpu.mk): rates and
# peak RSS for the Scale table's "this machine" rows.
bench-rehearsal:
	$(call bench_step,rehearsal,$(MAKE) --no-print-directory rehearsal >&2 && cat out/rehearsal/bench-gpu.txt)
