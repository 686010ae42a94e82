# mk/soak.mk — `make soak`: the demo pipeline at 300 and 3,000 phantom
# studies (10x), one epoch per training stage so time stays bounded
# (memory, not accuracy, is what is measured), then the per-stage peak RSS
# of both runs side by side (medflow show). Takes ~4 min on 2 cores.
SOAK_DIR ?= out/soak

.PHONY: soak
soak: build $(TOKENIZER_MODEL) $(ORT_LIB) $(DEMO_LLAMA)
	@mkdir -p $(SOAK_DIR)
	@set -e; for n in 300 3000; do \
	  d=$(SOAK_DIR)/mimic-$$n; \
	  [ -f $$d/mimic-cxr-2.0.0-split.csv.gz ] || bin/medflow synth --out $$d --studies $$n --size 256x320 \
	    --splits 0.6,0.1,0.3 --corrupt-fraction 0.03 > /dev/null; \
	  rm -rf $(SOAK_DIR)/work-$$n; \
	  bin/medflow run demo --no-progress --log-level warn --work $(SOAK_DIR)/work-$$n \
	    --set index.root=$$d --set images.root=$$d --set sections.root=$$d \
	    --set mae.epochs=1 --set contrastive.epochs=1 --set clf-mae.epochs=1 --set clf-llm.epochs=1 2> $(SOAK_DIR)/log-$$n.txt; \
	  id=$$(bin/medflow runs --work $(SOAK_DIR)/work-$$n | tail -1 | awk '{print $$1}'); \
	  bin/medflow show $$id --work $(SOAK_DIR)/work-$$n | tee $(SOAK_DIR)/show-$$n.txt; \
	done
