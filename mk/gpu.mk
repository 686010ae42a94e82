# The GPU check (bench/gpu/check.sh, bench/gpu/README.md).
#   make gpu-bundle   what the offline GPU host needs, built here and packed
#                     small enough to carry (< 64 MiB): the xla binary, the
#                     ONNX Runtime library, libjpeg and the tokenizer model
#   make gpu-dry-run  the check's steps on the CPU at tiny shapes (in make test)
#   make rehearsal    the check's real shapes (224 px ViT-S/16, Llama width
#                     4096) on this machine's CPU for a few steps: per-stage
#                     rates and peak RSS for BENCHMARKS.md's Scale table (in
#                     make bench; ~10 min on 2 cores, writes a 2 GB model
#                     once to out/rehearsal-scratch)
GPU_BUNDLE := out/gpu-bundle.tar.xz

.PHONY: gpu-bundle gpu-dry-run rehearsal

gpu-bundle: xla $(TOKENIZER_MODEL) $(ORT_LIB)
	@rm -rf out/gpu-bundle && mkdir -p out/gpu-bundle/lib
	cp bin/medflow-xla out/gpu-bundle/medflow-xla
	cp $(ORT_LIB) out/gpu-bundle/lib/libonnxruntime.so.1
	cp -L $$(ldd bin/medflow-xla | awk '/libjpeg/ {print $$3}') out/gpu-bundle/lib/
	cp $(TOKENIZER_MODEL) out/gpu-bundle/tokenizer.model
	tar -C out -cf - gpu-bundle | xz -T0 -6 > $(GPU_BUNDLE)
	@ls -l $(GPU_BUNDLE)

gpu-dry-run: xla $(TOKENIZER_MODEL) $(ORT_LIB)
	rm -rf out/gpu-dry-run out/gpu-dry-run-scratch
	DRY_RUN=1 OUT=out/gpu-dry-run SCRATCH=out/gpu-dry-run-scratch MEDFLOW=bin/medflow-xla bench/gpu/check.sh
	@grep -q "text.embed gomlx" out/gpu-dry-run/results.md && grep -q "text.embed ort" out/gpu-dry-run/results.md \
		&& grep -q "^| clf:" out/gpu-dry-run/results.md && ls out/gpu-dry-run/records/*.json >/dev/null \
		|| { echo "gpu-dry-run: results incomplete"; exit 1; }
	@for b in embed/gomlx embed/ort-cpu train/mae train/contrastive train/clf stage/images stage/tokens rss/gomlx/mae rss/ort/embed numerics; do \
		grep -q "^BenchmarkGPUCheck/$$b	" out/gpu-dry-run/bench-gpu.txt || { echo "gpu-dry-run: no BenchmarkGPUCheck/$$b line"; exit 1; }; done

rehearsal: build $(TOKENIZER_MODEL) $(ORT_LIB)
	rm -rf out/rehearsal out/rehearsal-scratch/work
	CPU=1 OUT=out/rehearsal SCRATCH=out/rehearsal-scratch MEDFLOW=bin/medflow bench/gpu/check.sh
	@for b in embed/ort-cpu train/mae train/contrastive train/clf stage/images stage/tokens rss/ort/mae rss/ort/embed; do \
		grep -q "^BenchmarkRehearsal/$$b	" out/rehearsal/bench-gpu.txt || { echo "rehearsal: no BenchmarkRehearsal/$$b line"; exit 1; }; done
