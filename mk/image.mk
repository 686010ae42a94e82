# mk/image.mk — the container image (deploy/Dockerfile) and the offline
# proof of its runtime layer. Included from the main Makefile.
#
# Targets:
#   image           docker build --target cpu  -> $(IMAGE):$(IMAGE_TAG)
#   image-gpu       docker build --target gpu  -> $(IMAGE):$(IMAGE_TAG)-gpu; needs
#                   GOXLA_DIR, a folder holding nvidia/pjrt_c_api_cuda_plugin.so
#                   (unverified: see deploy/Dockerfile)
#   image-context   stage the pinned ORT library and the tokenizer in out/image/
#   rootfs-deps     Debian's mmdebstrap (pinned), only if missing
#   buildah-test    deploy/Dockerfile built by Debian's buildah (daemonless) on
#                   stand-in base images assembled with mmdebstrap, then the
#                   rootfs smoke test in the built image (deploy/rootfs/buildah.sh;
#                   root; ~7 min cold: the build stage compiles medflow)
#   rootfs-test     build the same runtime root filesystem from Debian packages
#                   (mmdebstrap, cached under .cache/rootfs/) and run medflow
#                   inside it: version, synth, mimic-ingest, a tiny llm-contrastive
#                   (deploy/rootfs/build.sh; root; ~2.7 min cold, ~10 s cached)
#
# No Docker engine runs on the development machines: `make image` stops
# there with a message saying so; `make rootfs-test` and `make buildah-test`
# are the checks that run here.

MMDEBSTRAP_VERSION ?= 1.3.5-7
BUILDAH_VERSION    ?= 1.28.2+ds1-3+deb12u1+b3
CRUN_VERSION       ?= 1.8.1-1+deb12u1
IMAGE_SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

IMAGE        ?= medflow
IMAGE_TAG    ?= $(VERSION)
DOCKER       ?= docker
IMAGE_CTX    := out/image
GOXLA_DIR    ?=

.PHONY: image image-gpu image-context docker-check rootfs-test rootfs-deps buildah-test

image-context: $(ORT_LIB) $(TOKENIZER_MODEL)
	@mkdir -p $(IMAGE_CTX)/tokenizer
	cp -L $(ORT_LIB) $(IMAGE_CTX)/libonnxruntime.so.1
	cp -L $(TOKENIZER_MODEL) $(IMAGE_CTX)/tokenizer/tokenizer.model

# A clear stop where no engine runs, before anything is fetched.
docker-check:
	@command -v $(DOCKER) >/dev/null 2>&1 || { echo "make image: no '$(DOCKER)' command; install Docker (BuildKit) or podman (DOCKER=podman)" >&2; exit 1; }
	@$(DOCKER) info >/dev/null 2>&1 || { echo "make image: the $(DOCKER) client found no running engine, so the image cannot be built here. deploy/Dockerfile needs a Docker engine with BuildKit (Docker >= 23). 'make rootfs-test' checks the same runtime layer without one, 'make buildah-test' builds this Dockerfile with buildah." >&2; exit 1; }

image: docker-check image-context
	$(DOCKER) build -f deploy/Dockerfile --target cpu \
	  --build-context artifacts=$(IMAGE_CTX) \
	  --build-arg VERSION=$(VERSION) \
	  -t $(IMAGE):$(IMAGE_TAG) .

image-gpu: docker-check image-context
	@[ -n "$(GOXLA_DIR)" ] && [ -f "$(GOXLA_DIR)/nvidia/pjrt_c_api_cuda_plugin.so" ] || { echo "make image-gpu: set GOXLA_DIR to a folder holding nvidia/pjrt_c_api_cuda_plugin.so and its NVIDIA libraries (GoMLX's installer layout; see deploy/Dockerfile)" >&2; exit 1; }
	$(DOCKER) build -f deploy/Dockerfile --target gpu \
	  --build-context artifacts=$(IMAGE_CTX) \
	  --build-context goxla=$(GOXLA_DIR) \
	  --build-arg VERSION=$(VERSION) \
	  -t $(IMAGE):$(IMAGE_TAG)-gpu .

# Debian's mmdebstrap, pinned, only if missing.
rootfs-deps:
	@dpkg-query -W -f='$${Status}' mmdebstrap 2>/dev/null | grep -q 'ok installed' || { \
	  echo "installing mmdebstrap=$(MMDEBSTRAP_VERSION)"; \
	  $(IMAGE_SUDO) apt-get update && $(IMAGE_SUDO) apt-get install -y --no-install-recommends mmdebstrap=$(MMDEBSTRAP_VERSION); }

rootfs-test: rootfs-deps build $(ORT_LIB) $(TOKENIZER_MODEL)
	$(IMAGE_SUDO) deploy/rootfs/build.sh bin/medflow

buildah-test: rootfs-deps image-context
	@for p in buildah=$(BUILDAH_VERSION) crun=$(CRUN_VERSION); do \
	  dpkg-query -W -f='$${Status}' $${p%%=*} 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; $(IMAGE_SUDO) apt-get update && $(IMAGE_SUDO) apt-get install -y --no-install-recommends $$missing; fi
	$(IMAGE_SUDO) deploy/rootfs/buildah.sh
