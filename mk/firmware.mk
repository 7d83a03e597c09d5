# The agent on a microcontroller (firmware/, its own workspace): agent-core on a Cortex-M3, the
# LM3S6965 that qemu-system-arm's lm3s6965evb emulates, its UART0 joined to the server's port.
#
# `make firmware` builds it and prints its flash and static RAM and agent-core's share;
# `make firmware-demo` runs it against a local server; `make firmware-check` is its fmt, clippy
# and host unit tests; server/tests/firmware.rs runs it end to end in `make test`.

FIRMWARE_TARGET := thumbv7m-none-eabi
# The main workspace's target directory, where server/tests/firmware.rs looks for the ELF.
FIRMWARE_TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
FIRMWARE_ELF := $(FIRMWARE_TARGET_DIR)/$(FIRMWARE_TARGET)/release/vitals-firmware
FIRMWARE_BASELINE := $(FIRMWARE_TARGET_DIR)/$(FIRMWARE_TARGET)/release/footprint-baseline
FIRMWARE_CARGO := cd firmware && $(CARGO)
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
# llvm-size and llvm-nm of rustup's llvm-tools, which know this LLVM's output.
LLVM_TOOLS = $(shell rustc --print sysroot)/lib/rustlib/$(HOST_TRIPLE)/bin

.PHONY: firmware firmware-check firmware-demo deps-firmware

deps-firmware:
	@command -v rustup >/dev/null || { echo "error: rustup is needed (https://rustup.rs)" >&2; exit 1; }
	@rustup target list --installed | grep -qx '$(FIRMWARE_TARGET)' || rustup target add $(FIRMWARE_TARGET)
	@rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
	@packages=""; command -v qemu-system-arm >/dev/null || packages=" qemu-system-arm"; \
	$(call board_apt_install,to run the firmware)

firmware: deps-firmware
	$(FIRMWARE_CARGO) build --release --target-dir $(FIRMWARE_TARGET_DIR)
	@firmware/footprint.sh $(FIRMWARE_ELF) $(FIRMWARE_BASELINE) $(LLVM_TOOLS)

firmware-check: deps-firmware
	$(FIRMWARE_CARGO) fmt --check
	$(FIRMWARE_CARGO) clippy --release --bins --lib --target-dir $(FIRMWARE_TARGET_DIR) -- -D warnings
	$(FIRMWARE_CARGO) clippy --lib --tests --target $(HOST_TRIPLE) --target-dir $(FIRMWARE_TARGET_DIR) -- -D warnings
	$(FIRMWARE_CARGO) test --lib --target $(HOST_TRIPLE) --target-dir $(FIRMWARE_TARGET_DIR)

# A server on AGENT_PORT/HTTP_PORT (no keys: the firmware has none) and the board in QEMU, its
# UART0 a TCP client of the server that reconnects every second, its UART1 (the console) here.
# Ctrl-C stops both.
firmware-demo: build firmware
	@pids=(); trap 'kill $${pids[@]} 2>/dev/null; wait; exit 0' INT TERM; \
	./target/debug/vitals-server --listen 127.0.0.1:$(AGENT_PORT) --http 127.0.0.1:$(HTTP_PORT) & pids+=($$!); \
	sleep 0.5; \
	echo; \
	echo "  the board's metrics:  curl -s http://127.0.0.1:$(HTTP_PORT)/metrics | grep lm3s6965evb"; \
	echo "  Ctrl-C stops the server and the board. The board's console:"; \
	echo; \
	qemu-system-arm -M lm3s6965evb -nodefaults -display none -kernel $(FIRMWARE_ELF) \
	  -chardev socket,id=link,host=127.0.0.1,port=$(AGENT_PORT),reconnect=1 -serial chardev:link \
	  -serial stdio & pids+=($$!); \
	wait
