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
#   imaging-bench    single-core decode+resize benchmarks: medflow vs djpeg (tiny C
#                    harness against the same libjpeg, no process start-up) and vs
#                    Go image/jpeg + x/image/draw; plus stage throughput 1 vs 2 workers

IMAGING_JPEG_VERSION ?= 1:2.1.5-2
IMAGING_APT_PKGS     := libjpeg62-turbo-dev libjpeg-turbo-progs
IMAGING_FUZZTIME     ?= 60s
IMAGING_BENCH_COUNT  ?= 5
IMAGING_BENCHTIME    ?= 20x

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
	GOMAXPROCS=1 go test ./imaging -run '^$$' -bench 'BenchmarkDecode' -benchtime $(IMAGING_BENCHTIME) -count $(IMAGING_BENCH_COUNT)
	go test ./stages/image -run '^$$' -bench 'BenchmarkStage' -benchtime $(IMAGING_BENCHTIME) -count $(IMAGING_BENCH_COUNT)
