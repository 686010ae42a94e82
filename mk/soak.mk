# mk/soak.mk — `make soak`: memory as data grows (bench/soak/soak.sh). The
# demo pipeline at 300, 3,000 and 30,000 phantom studies (10x steps), one
# epoch per training stage, then each model stage alone in a fresh process
# for its own peak RSS; the figures go to $(SOAK_RESULTS), which
# `make bench-table` renders into BENCHMARKS.md (rows soak-*, section
# "Soak"). Takes about 20 minutes on 2 cores (2026-12-04, a quiet
# machine), most of it the 30,000 size, plus ~5 minutes the first time to
# write the phantom data (kept in $(SOAK_DIR) for later runs);
# SOAK_SIZES="300 3000" is a ~3-minute check.
SOAK_DIR     ?= out/soak
SOAK_SIZES   ?= 300 3000 30000
SOAK_RESULTS ?= bench/soak/results.txt

.PHONY: soak
soak: build $(TOKENIZER_MODEL) $(ORT_LIB) $(DEMO_LLAMA)
	SOAK_DIR=$(SOAK_DIR) SOAK_SIZES="$(SOAK_SIZES)" SOAK_RESULTS=$(SOAK_RESULTS) MEDFLOW=bin/medflow bench/soak/soak.sh
