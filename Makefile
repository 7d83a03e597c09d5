# vitals: `make run` to see it work, `make test` for every check CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
# Where `make run` and friends listen; change them here or on the command line.
AGENT_PORT ?= 7450
HTTP_PORT ?= 7451
PROM_PORT ?= 9090
INTERVAL ?= 5s
RUN_DIR := .run
NO_STD_TARGET := thumbv7em-none-eabihf

.PHONY: all build release deps deps-apt deps-rust deps-fuzz deps-deny deps-nightly deps-background test fmt-check clippy unit nostd \
        doc fuzz-build fuzz-check fuzz test-containers fuzz-and-containers deny deny-advisories promtool-check keys run run-server \
        run-agent prometheus bench deps-bench soak metrics-doc clean

# `make cross` and `make cross-test`: the agent for ARM boards.
include mk/cross.mk
# `make firmware`, `make firmware-demo`, `make firmware-check`: the agent on a microcontroller.
include mk/firmware.mk
# `make images`: the server's and the agent's container images, which compose.yaml runs.
include mk/images.mk

all: build

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --workspace --release

# ---- what the checks need, installed only when missing ------------------------------------------
deps: deps-apt deps-rust

# prometheus (prometheus, promtool), prometheus-node-exporter (the parity reference); iproute2
# (ip, tc), nftables (nft) and kmod (modprobe, for a kernel that has sch_netem as a module) for the
# network-namespace faults test; chromium, headless, for the status pages' test.
deps-apt:
	@need=(); \
	for pair in prometheus:prometheus promtool:prometheus prometheus-node-exporter:prometheus-node-exporter \
	            ip:iproute2 tc:iproute2 nft:nftables modprobe:kmod chromium:chromium; do \
	  command -v $${pair%%:*} >/dev/null || need+=($${pair#*:}); \
	done; \
	if [ $${#need[@]} -gt 0 ]; then \
	  need=($$(printf '%s\n' "$${need[@]}" | sort -u)); \
	  echo "installing Debian packages: $${need[*]}"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: installing them needs root: apt-get install $${need[*]}" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$${need[@]}" >/dev/null \
	    || { echo "error: apt-get install $${need[*]} failed" >&2; exit 1; }; \
	fi

deps-rust:
	@command -v rustup >/dev/null || { echo "error: rustup is needed (https://rustup.rs)" >&2; exit 1; }
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup target list --installed | grep -qx '$(NO_STD_TARGET)' || rustup target add $(NO_STD_TARGET)

# cargo-fuzz and cargo-deny: `make test` starts building them in the background first
# (mk/tool-install.sh says why); these wait for that build, or install in the foreground.
CARGO_DENY_VERSION := 0.20.2
DENY_TOOL := cargo-deny 'cargo deny --version' -- \
	cargo install cargo-deny --locked --version $(CARGO_DENY_VERSION)
FUZZ_TOOL := cargo-fuzz 'cargo +nightly fuzz --version' -- cargo install cargo-fuzz --locked

deps-nightly:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

deps-background: deps-nightly
	@mk/tool-install.sh start $(DENY_TOOL)
	@mk/tool-install.sh start $(FUZZ_TOOL)

deps-fuzz: deps-nightly
	@mk/tool-install.sh wait $(FUZZ_TOOL)

# 0.20.2 builds with stable 1.88 or later; a few minutes the first time.
deps-deny:
	@mk/tool-install.sh wait $(DENY_TOOL)

# ---- the checks: `make test` runs every one ------------------------------------------------------
test: deps-background deps fmt-check clippy firmware-check unit nostd doc fuzz-and-containers deny deny-advisories promtool-check
	@if [ -e $(DENY_SKIPPED) ]; then \
	  echo "make test: all checks passed, except deny-advisories, which was SKIPPED (above)"; \
	else echo "make test: all checks passed; advisories checked against $$(cat target/deny-advisories.used)"; fi

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# Unit tests, then the integration and end-to-end tests, which run the real binaries (built first)
# against each other, against a real Prometheus and node_exporter, the boards' builds under qemu-user
# and the firmware under qemu-system-arm. `cargo test` alone runs the fast ones, which need nothing
# installed; those that need root, network namespaces, qemu, Prometheus or node_exporter are
# `#[ignore = "needs ..."]`, and run here. Those that run the images under Docker (their names
# start with `docker_`) are test-containers'.
#
# The remote-write outage tests (names with `stopped_for_90_s`) mostly wait, through two 90 s
# outages side by side: they run beside the rest, from their binary (a second `cargo test` would
# wait for the first's lock), which keeps `make test` within its twenty minutes. Their output is
# shown once both are done.
DOCKER_TESTS := docker_
OUTAGE_TESTS := stopped_for_90_s
OUTAGES_LOG := target/outage-tests.log
unit: deps-apt cross-test firmware
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-run
	@binary=$$($(CARGO) test -p server --test remote_write --no-run 2>&1 \
	  | sed -n 's/.*Executable .*(\(.*\))$$/\1/p'); \
	case "$$binary" in /*) ;; *) binary="$(CURDIR)/$$binary" ;; esac; \
	[ -x "$$binary" ] || { echo "error: no remote_write test binary" >&2; exit 1; }; \
	(cd server && "$$binary" --include-ignored $(OUTAGE_TESTS)) > $(OUTAGES_LOG) 2>&1 & outages=$$!; \
	status=0; $(CARGO) test --workspace -- --include-ignored --skip $(DOCKER_TESTS) \
	  --skip $(OUTAGE_TESTS) || status=$$?; \
	outage=0; wait $$outages || outage=$$?; \
	echo "---- the remote-write outage tests, run beside the rest (their output is in $(OUTAGES_LOG)):"; \
	cat $(OUTAGES_LOG); \
	if [ $$outage != 0 ]; then echo "error: the remote-write outage tests failed (above)" >&2; fi; \
	[ $$status = 0 ] && [ $$outage = 0 ]

# The images under Docker: `make images` from this checkout, then compose.yaml (with a Prometheus
# built here from Debian's package, since nothing can be pulled), the fleet test bed (agents,
# two servers and Prometheus each in a container of its own, through a network cut, a kill, a
# stop and a lost server) and the parity test with the agent in its image.
test-containers: deps-docker deps-apt
	$(CARGO) build --workspace --bins
	$(CARGO) test -p server --test containers --test fleet --test parity -- --include-ignored $(DOCKER_TESTS)

# `make test` runs the fuzz targets and the container tests side by side: the fuzzers keep one
# core busy for two minutes while the container tests mostly wait (a network cut lasts a
# minute), which keeps `make test` within its twenty minutes. The containers' output goes to a
# file, shown once both are done.
CONTAINERS_LOG := target/test-containers.log
fuzz-and-containers:
	@mkdir -p $(dir $(CONTAINERS_LOG)); \
	$(MAKE) --no-print-directory test-containers > $(CONTAINERS_LOG) 2>&1 & containers=$$!; \
	fuzz=0; $(MAKE) --no-print-directory fuzz-check || fuzz=$$?; \
	status=0; wait $$containers || status=$$?; \
	echo "---- make test-containers, run beside the fuzz targets (its output is in $(CONTAINERS_LOG)):"; \
	cat $(CONTAINERS_LOG); \
	if [ $$fuzz != 0 ]; then echo "error: make fuzz-check failed (above)" >&2; fi; \
	if [ $$status != 0 ]; then echo "error: make test-containers failed (above)" >&2; fi; \
	[ $$fuzz = 0 ] && [ $$status = 0 ]

# agent-core builds for a microcontroller, and nothing in its dependency tree turns on `alloc` or `std`.
nostd: deps-rust
	$(CARGO) build -p agent-core --target $(NO_STD_TARGET)
	$(CARGO) build -p agent-core --target $(NO_STD_TARGET) --no-default-features
	@if $(CARGO) tree -p agent-core -e features --target $(NO_STD_TARGET) | grep -E 'feature "(alloc|std)"'; then \
	  echo "error: agent-core pulls in alloc or std (above)" >&2; exit 1; fi
	@grep -q '^#!\[no_std\]' agent-core/src/lib.rs || { echo "error: agent-core is not no_std" >&2; exit 1; }
	@if grep -rn 'extern crate alloc' agent-core/src; then echo "error: agent-core uses alloc" >&2; exit 1; fi
	@echo "nostd: agent-core builds for $(NO_STD_TARGET) without alloc"

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

fuzz-build: deps-fuzz
	cd fuzz && cargo +nightly fuzz build

# Every fuzz target for 20 seconds: their invariants, not only their build, checked each run
# (six targets: two minutes of `make test`'s twenty; `make fuzz` runs them longer).
fuzz-check: deps-fuzz
	$(MAKE) fuzz FUZZ_SECONDS=20

# Run each fuzz target for FUZZ_SECONDS (default 60).
FUZZ_SECONDS ?= 60
fuzz: deps-fuzz
	cd fuzz && for t in $$(cargo +nightly fuzz list); do \
	  mkdir -p target/corpus/$$t && \
	  cargo +nightly fuzz run $$t target/corpus/$$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# Licences, banned and duplicate crates, and sources (crates.io only) of the three workspaces'
# trees: deny.toml, fuzz/deny.toml and firmware/deny.toml.
deny: deps-deny
	$(CARGO) deny check bans licenses sources
	cd fuzz && $(CARGO) deny check bans licenses sources
	cd firmware && $(CARGO) deny check bans licenses sources

# RustSec advisories for the three trees, against the live database or, where it cannot be
# fetched (a git repository on GitHub, which this project's machines and CI cannot reach), the
# snapshot in the shared test data; it says which, and of what date (mk/deny-advisories.sh).
DENY_SKIPPED := target/deny-advisories.skipped
deny-advisories: deps-deny
	CARGO=$(CARGO) mk/deny-advisories.sh

promtool-check: deps-apt
	promtool check config prometheus/prometheus.yml
	promtool check config prometheus/prometheus-compose.yml
	promtool check rules prometheus/rules/*.rules.yml
	promtool test rules prometheus/rules/tests/*.test.yml

# docs/metrics.md, written again from the catalogue (agent-core/src/catalogue.rs); `make unit`
# fails while the two differ.
metrics-doc:
	VITALS_BLESS=1 $(CARGO) test -p agent-core --lib catalogue::docs::docs_metrics_md_is_the_catalogue

# ---- measuring it -------------------------------------------------------------------------------
# The agent: CPU per sample against the floor and node_exporter, RSS over BENCH_RSS_SAMPLES
# samples at BENCH_RSS_INTERVAL_MS (default 3600 at 100 ms: six minutes), binary sizes per target;
# heap allocations per sample. The server: peak ingest beside a do-nothing reader, CPU, RSS and
# scrapes at 1,000 and 10,000 agents, and Pushgateway holding as many (about three minutes). Then
# the container images' sizes beside node_exporter's binary, where Docker runs.
# The footprint bench measures the static x86_64 agent (the images') beside the release build.
bench: deps-apt deps-bench release cross
	$(call board_deps,x86_64-unknown-linux-musl)
	$(call board_cargo,x86_64-unknown-linux-musl,$(BOARD_CARGO_ARGS))
	$(CARGO) bench -p agent-linux --bench footprint
	$(CARGO) bench -p agent-linux --bench allocs
	$(CARGO) bench -p server --bench fleet
	@if docker info >/dev/null 2>&1; then $(MAKE) --no-print-directory images; \
	else echo "make bench: the images' sizes left out: docker cannot reach its engine"; fi

# Not part of `make test`: SOAK_AGENTS (default 300) simulated agents for SOAK_SECONDS (default
# 1800) with a fault every SOAK_FAULT_EVERY seconds (connections reset, agents killed, the server
# stopped and killed), the server's RSS and open descriptors as a table; fails unless they stay
# flat, every agent comes back each time and no sequence number goes missing. `ss -K` needs root.
SOAK_SECONDS ?= 1800
soak: release
	SOAK_SECONDS=$(SOAK_SECONDS) $(CARGO) bench -p server --bench soak

# Pushgateway, the comparison in the server's table.
deps-bench:
	@command -v prometheus-pushgateway >/dev/null || { \
	  echo "installing Debian package prometheus-pushgateway (the comparison in make bench)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: installing it needs root: apt-get install prometheus-pushgateway" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-pushgateway >/dev/null \
	    || { echo "error: apt-get install prometheus-pushgateway failed" >&2; exit 1; }; }

# ---- running it --------------------------------------------------------------------------------
# Keys (made once, mode 600): one per agent id, never one for every id, so that a board that is
# lost or cloned gives away its own id only. `make keys` makes the key of this machine's agent
# (ID, its host name, as vitals-agent's default id); `make keys ID=pi-kitchen` adds a board's.
# Each id's key is in $(KEYS_DIR)/agents/<id>.key for the agent, and on its own line of
# $(KEYS_DIR)/server.keys for the server.
KEYS_DIR ?= $(RUN_DIR)/keys
HOST_ID := $(shell uname -n)
ID ?= $(HOST_ID)
# For this machine's id, `make keys` also writes what compose.yaml reads (to COMPOSE_ENV, `.env`,
# which Compose reads by itself; other lines of it are kept): the id, where the keys are, and
# whom the containers run as, who must be able to read them. That is whoever runs `make keys`;
# when root does, the two files Compose hands the containers go to an unprivileged user
# (CONTAINER_UID, the images' own), since root reads them anyway.
COMPOSE_ENV ?= .env
CONTAINER_UID := 65532
keys:
	@case '$(ID)' in ''|*[!A-Za-z0-9._:-]*) echo "error: ID '$(ID)' is not an agent id (1 to 64 of A-Z a-z 0-9 . _ - :)" >&2; exit 1;; esac
	@test $$(printf %s '$(ID)' | wc -c) -le 64 || { echo "error: ID '$(ID)' is longer than 64" >&2; exit 1; }
	@mkdir -p $(KEYS_DIR)/agents && chmod 700 $(KEYS_DIR) $(KEYS_DIR)/agents
	@umask 077; touch $(KEYS_DIR)/server.keys; \
	if grep -q '^\* ' $(KEYS_DIR)/server.keys; then \
	  grep -v '^\* ' $(KEYS_DIR)/server.keys > $(KEYS_DIR)/server.keys.new || true; \
	  mv $(KEYS_DIR)/server.keys.new $(KEYS_DIR)/server.keys; rm -f $(KEYS_DIR)/agent.key; \
	  echo "removed the key for every id (\`*\`) from $(KEYS_DIR)/server.keys: each id has its own now"; \
	fi; \
	key=$(KEYS_DIR)/agents/$(ID).key; \
	if ! test -s $$key; then od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > $$key; echo "made $$key"; fi; \
	grep -v '^$(ID) ' $(KEYS_DIR)/server.keys > $(KEYS_DIR)/server.keys.new || true; \
	echo "$(ID) $$(cat $$key)" >> $(KEYS_DIR)/server.keys.new; \
	mv $(KEYS_DIR)/server.keys.new $(KEYS_DIR)/server.keys
	@if [ "$$(id -u)" = 0 ]; then chown $(CONTAINER_UID):$(CONTAINER_UID) $(KEYS_DIR)/server.keys; fi
	@if [ '$(ID)' = '$(HOST_ID)' ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    uid=$(CONTAINER_UID) gid=$(CONTAINER_UID); \
	    chown $$uid:$$gid $(KEYS_DIR)/agents/$(ID).key; \
	  else uid=$$(id -u) gid=$$(id -g); fi; \
	  touch $(COMPOSE_ENV); \
	  { grep -vE '^(VITALS_ID|VITALS_KEYS_DIR|VITALS_UID|VITALS_GID)=' $(COMPOSE_ENV) || true; \
	    echo "VITALS_ID=$(ID)"; echo "VITALS_KEYS_DIR=$(abspath $(KEYS_DIR))"; \
	    echo "VITALS_UID=$$uid"; echo "VITALS_GID=$$gid"; } > $(COMPOSE_ENV).new; \
	  mv $(COMPOSE_ENV).new $(COMPOSE_ENV); \
	fi

# For a central host: the release build, on every interface.
run-server: release keys
	./target/release/vitals-server --listen 0.0.0.0:$(AGENT_PORT) --http 0.0.0.0:$(HTTP_PORT) \
	  --key-file $(KEYS_DIR)/server.keys

run-agent: release keys
	./target/release/vitals-agent --server 127.0.0.1:$(AGENT_PORT) --interval $(INTERVAL) \
	  --id '$(ID)' --key-file $(KEYS_DIR)/agents/$(ID).key

# The shipped config pointed at HTTP_PORT, its rules where they are in the checkout.
PROMETHEUS_CONFIG = sed -e 's/localhost:7451/localhost:$(HTTP_PORT)/' \
	  -e 's|rules/\*|$(CURDIR)/prometheus/rules/*|' prometheus/prometheus.yml

# A real Prometheus with the shipped config (pointed at HTTP_PORT) and a throw-away data dir.
prometheus: deps-apt
	@mkdir -p $(RUN_DIR) && rm -rf $(RUN_DIR)/prometheus-data
	$(PROMETHEUS_CONFIG) > $(RUN_DIR)/prometheus.yml
	prometheus --config.file=$(RUN_DIR)/prometheus.yml --storage.tsdb.path=$(RUN_DIR)/prometheus-data \
	  --web.listen-address=127.0.0.1:$(PROM_PORT)

# Server, one local agent and Prometheus together; Ctrl-C stops all three.
run: build deps-apt keys
	@mkdir -p $(RUN_DIR) && rm -rf $(RUN_DIR)/prometheus-data
	@$(PROMETHEUS_CONFIG) > $(RUN_DIR)/prometheus.yml
	@pids=(); trap 'kill $${pids[@]} 2>/dev/null; wait; exit 0' INT TERM; \
	./target/debug/vitals-server --listen 127.0.0.1:$(AGENT_PORT) --http 127.0.0.1:$(HTTP_PORT) \
	  --key-file $(KEYS_DIR)/server.keys & pids+=($$!); \
	sleep 0.5; \
	./target/debug/vitals-agent --server 127.0.0.1:$(AGENT_PORT) --interval $(INTERVAL) \
	  --id '$(ID)' --key-file $(KEYS_DIR)/agents/$(ID).key & pids+=($$!); \
	prometheus --config.file=$(RUN_DIR)/prometheus.yml --storage.tsdb.path=$(RUN_DIR)/prometheus-data \
	  --web.listen-address=127.0.0.1:$(PROM_PORT) --log.level=warn & pids+=($$!); \
	sleep 1; \
	echo; \
	echo "  the fleet:       http://127.0.0.1:$(HTTP_PORT)/"; \
	echo "  vitals metrics:  http://127.0.0.1:$(HTTP_PORT)/metrics"; \
	echo "  Prometheus:      http://127.0.0.1:$(PROM_PORT)/graph?g0.expr=node_load1"; \
	echo "  agents connect:  127.0.0.1:$(AGENT_PORT)"; \
	echo "  Ctrl-C stops all three."; \
	echo; \
	wait

clean:
	$(CARGO) clean
	rm -rf $(RUN_DIR)
