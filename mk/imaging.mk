# mk/imaging.mk — dependencies, tests, fuzzing and benchmarks of the imaging
# package (libjpeg-turbo through cgo) and the image.decode stage.
# Included from the main Makefile; the main `deps` target should depend on
# $(IMAGING_DEPS) (= imaging-deps).
#
# Targets:
#   imaging-deps     apt packages libjpeg62-turbo-dev (headers + -ljpeg for cgo) and
#                    libjpeg-turbo-progs (djpeg/cjpeg: test reference and progressive
#                    test images), only if missing, pinned to IMAGING_JPEG_VERSION
#   imaging-test     go test ./imaging/... ./stages/image/...
#   imaging-fuzz     go test -fuzz FuzzDecode (IMAGING_FUZZTIME, default 60s)
#   imaging-bench    single-core (-cpu 1) decode+resize of a 2544x3056 JPEG to 224x224:
#                    medflow vs libjpeg-turbo (imaging/testdata/djpeg_loop.c, built with
#                    gcc against the same libjpeg: no process start-up), vs the djpeg
#                    binary, and vs Go image/jpeg + x/image/draw; then image.decode
#                    throughput with 1 vs 2 workers

IMAGING_JPEG_VERSION ?= 1:2.1.5-2
IMAGING_APT_PKGS     := libjpeg62-turbo-dev libjpeg-turbo-progs
IMAGING_FUZZTIME     ?= 60s
IMAGING_BENCH_COUNT  ?= 5
IMAGING_BENCHTIME    ?= 20x
IMAGING_STAGE_BENCHTIME ?= 4x

# Run apt-get through sudo only when not root.
IMAGING_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

IMAGING_DEPS := imaging-deps

.PHONY: imaging-deps imaging-test imaging-fuzz imaging-bench

imaging-deps:
	@missing=""; for p in $(IMAGING_APT_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p=$(IMAGING_JPEG_VERSION)"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  $(IMAGING_SUDO) apt-get update && $(IMAGING_SUDO) apt-get install -y --no-install-recommends $$missing; \
	else \
	  echo "imaging-deps: $(IMAGING_APT_PKGS) already installed"; \
	fi

imaging-test: imaging-deps
	go test ./imaging/... ./stages/image/...

imaging-fuzz: imaging-deps
	go test ./imaging -run '^$$' -fuzz FuzzDecode -fuzztime $(IMAGING_FUZZTIME) -fuzzminimizetime 2s

imaging-bench: imaging-deps
	go test ./imaging -run '^$$' -bench BenchmarkDecode -cpu 1 -benchtime $(IMAGING_BENCHTIME) -count $(IMAGING_BENCH_COUNT)
	go test ./stages/image -run '^$$' -bench BenchmarkStage -benchtime $(IMAGING_STAGE_BENCHTIME) -count $(IMAGING_BENCH_COUNT)
