# `make images`: the container images vitals-server:$(IMAGE_TAG) and vitals-agent:$(IMAGE_TAG)
# (dist/docker/Dockerfile), each a static musl binary alone in an image FROM scratch, for
# IMAGE_TARGET: the PC's by default, `IMAGE_TARGET=aarch64-unknown-linux-musl` or
# `armv7-unknown-linux-musleabihf` for the boards (built as `make cross` builds them, and the
# server with them). compose.yaml runs them. Nothing is pulled: an empty image needs no base.
#
# The binaries are built as `make cross` builds the boards' (mk/cross.mk: the rustup target
# installed when missing, the cross gcc as linker and C compiler); the agent with the `board`
# profile, the server with `release`. Then they are copied into a context of their own
# (target/docker/<triple>/), so that the build sends the engine two files, not the checkout.

IMAGE_TARGET ?= x86_64-unknown-linux-musl
IMAGE_TAG ?= latest
IMAGE_PLATFORM.x86_64-unknown-linux-musl := linux/amd64
IMAGE_PLATFORM.aarch64-unknown-linux-musl := linux/arm64
IMAGE_PLATFORM.armv7-unknown-linux-musleabihf := linux/arm/v7
IMAGE_CONTEXT = target/docker/$(IMAGE_TARGET)
IMAGE_SERVER = target/$(IMAGE_TARGET)/release/vitals-server
IMAGE_AGENT = target/$(IMAGE_TARGET)/$(BOARD_PROFILE)/vitals-agent
# The labels' values (the OCI image spec's annotations): the workspace's version and repository,
# and the commit, dated by the commit rather than the build, so that one commit labels alike.
IMAGE_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IMAGE_SOURCE = $(shell sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IMAGE_REVISION = $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
IMAGE_CREATED = $(shell TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null || echo 1970-01-01T00:00:00Z)
# The goals the sizes are printed against (README, Figures).
IMAGE_GOAL.vitals-agent := 1048576
IMAGE_GOAL.vitals-server := 3145728

.PHONY: images deps-docker image-sizes

deps-docker:
	@command -v docker >/dev/null || { echo "error: make images needs docker (its engine, and its CLI)" >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "error: docker cannot reach its engine (is it running, and may $$(id -un) use it?): docker info says: $$(docker info 2>&1 | tail -n1)" >&2; exit 1; }

images: deps-docker
	@test -n '$(IMAGE_PLATFORM.$(IMAGE_TARGET))' || { echo "error: IMAGE_TARGET=$(IMAGE_TARGET) is not one of: $(patsubst IMAGE_PLATFORM.%,%,$(filter IMAGE_PLATFORM.%,$(.VARIABLES)))" >&2; exit 1; }
	$(call board_deps,$(IMAGE_TARGET))
	$(call board_cargo,$(IMAGE_TARGET),-p server --bin vitals-server --release)
	$(call board_cargo,$(IMAGE_TARGET),$(BOARD_CARGO_ARGS))
	$(call board_check,$(IMAGE_SERVER) $(IMAGE_AGENT))
	@rm -rf $(IMAGE_CONTEXT) && mkdir -p $(IMAGE_CONTEXT)
	@cp $(IMAGE_SERVER) $(IMAGE_AGENT) $(IMAGE_CONTEXT)/ && chmod 0755 $(IMAGE_CONTEXT)/*
	@# The engine's own builder, which every engine has (buildx is a plugin); the CLI's notice
	@# that it is deprecated is shown only when the build fails.
	@for image in server agent; do \
	  echo "docker build --target $$image -t vitals-$$image:$(IMAGE_TAG) ($(IMAGE_PLATFORM.$(IMAGE_TARGET)))"; \
	  out="$$(docker build -q --platform $(IMAGE_PLATFORM.$(IMAGE_TARGET)) -f dist/docker/Dockerfile --target $$image \
	    --build-arg VERSION='$(IMAGE_VERSION)' --build-arg REVISION='$(IMAGE_REVISION)' \
	    --build-arg CREATED='$(IMAGE_CREATED)' --build-arg SOURCE='$(IMAGE_SOURCE)' \
	    -t vitals-$$image:$(IMAGE_TAG) $(IMAGE_CONTEXT) 2>&1)" || { echo "$$out" >&2; exit 1; }; \
	done
	@$(MAKE) --no-print-directory image-sizes

# The images' sizes against their goals, beside node_exporter's binary (Debian's), which its
# own image carries on top of a busybox base.
image-sizes:
	@printf '\n%-28s %10s %9s  %s\n' image bytes MiB goal; \
	for image in vitals-agent vitals-server; do \
	  bytes="$$(docker image inspect -f '{{.Size}}' $$image:$(IMAGE_TAG))" || exit 1; \
	  goal=$$(case $$image in vitals-agent) echo $(IMAGE_GOAL.vitals-agent);; *) echo $(IMAGE_GOAL.vitals-server);; esac); \
	  verdict="under $$((goal / 1048576)) MiB"; [ "$$bytes" -lt "$$goal" ] || verdict="OVER $$((goal / 1048576)) MiB"; \
	  printf '%-28s %10s %9.2f  %s\n' "$$image:$(IMAGE_TAG)" "$$bytes" "$$(awk -v b="$$bytes" 'BEGIN { print b / 1048576 }')" "$$verdict"; \
	done; \
	ne="$$(command -v prometheus-node-exporter || command -v node_exporter || true)"; \
	if [ -n "$$ne" ]; then \
	  bytes="$$(stat -L -c %s "$$ne")"; \
	  printf '%-28s %10s %9.2f  %s\n' "node_exporter (binary)" "$$bytes" "$$(awk -v b="$$bytes" 'BEGIN { print b / 1048576 }')" "$$ne"; \
	fi
