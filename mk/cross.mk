# vitals-agent for ARM boards (docs/boards.md): `make cross` builds it for the four targets below,
# `make cross-test` only the two musl ones, which server/tests/boards.rs runs under qemu-user.
# Each lands in target/<triple>/board/vitals-agent, built with the `board` profile (Cargo.toml).
#
# The linkers reach cargo through the recipe's environment (CARGO_TARGET_<TRIPLE>_LINKER) rather
# than a committed .cargo/config.toml, so a developer's other builds and own cargo configuration
# stay as they were.

BOARD_PROFILE := board
BOARD_GNU_TARGETS := aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
BOARD_MUSL_TARGETS := aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf
BOARD_TARGETS := $(BOARD_GNU_TARGETS) $(BOARD_MUSL_TARGETS)
BOARD_CARGO_ARGS := -p agent-linux --bin vitals-agent --profile $(BOARD_PROFILE)

# The linker of each triple, and the Debian package that has it. The musl targets link with the
# glibc cross gcc too: rustc hands it -nostartfiles -nodefaultlibs and musl's own crt objects and
# libc.a, so gcc only drives ld and the result is a static executable.
BOARD_LINKER.aarch64-unknown-linux-gnu := aarch64-linux-gnu-gcc
BOARD_LINKER.aarch64-unknown-linux-musl := aarch64-linux-gnu-gcc
BOARD_LINKER.armv7-unknown-linux-gnueabihf := arm-linux-gnueabihf-gcc
BOARD_LINKER.armv7-unknown-linux-musleabihf := arm-linux-gnueabihf-gcc
BOARD_PACKAGE.aarch64-linux-gnu-gcc := gcc-aarch64-linux-gnu
BOARD_PACKAGE.arm-linux-gnueabihf-gcc := gcc-arm-linux-gnueabihf
# The PC's, for the container images (mk/images.mk): the host's gcc, as for the boards.
BOARD_LINKER.x86_64-unknown-linux-musl := gcc
BOARD_PACKAGE.gcc := gcc

board_linkers = $(sort $(foreach t,$(1),$(BOARD_LINKER.$(t))))
board_upper = $(shell echo '$(1)' | tr 'a-z-' 'A-Z_')
# CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc ... for the triples in $(1),
# and the same gcc as their C compiler (CC_aarch64_unknown_linux_gnu=...), for the server's *ring*.
board_env = $(foreach t,$(1),CARGO_TARGET_$(call board_upper,$(t))_LINKER=$(BOARD_LINKER.$(t)) \
	CC_$(subst -,_,$(t))=$(BOARD_LINKER.$(t)) \
	$(if $(BOARD_RUSTFLAGS.$(t)),CARGO_TARGET_$(call board_upper,$(t))_RUSTFLAGS=$(BOARD_RUSTFLAGS.$(t))))

# The PC's static binaries (the images') pack their relative relocations (RELR, which musl
# 1.2.4 and later applies at start): a static PIE otherwise keeps 24 bytes for each pointer in
# its tables, 76 KB of the agent's 1.08 MB, and the image's agent was past its 1 MiB. The
# boards' musl (Debian's 1.2.3 for armv7) cannot apply them, so only here.
BOARD_RUSTFLAGS.x86_64-unknown-linux-musl := -Clink-arg=-Wl,-z,pack-relative-relocs

# rustup has no prebuilt std for armv7-unknown-linux-musleabihf where our machines fetch from, so
# when `rustup target add` fails, std is built from source (nightly's -Zbuild-std, with rust-src)
# and linked against Debian's musl-dev for armhf. That package's libc.a and crt objects, with the
# cross gcc's crtbegin.o/crtend.o and its libgcc_eh.a as the unwinder (as musl's own toolchains
# use it), go into this directory, which rustc searches for the objects it would otherwise take
# from the rustup target. The .deb is fetched with a private apt state under target/, so the
# machine's dpkg gets no foreign architecture (whose indexes could break every `apt-get update`).
BOARD_SRC_STD_TARGET := armv7-unknown-linux-musleabihf
BOARD_SYSROOT := target/board-sysroot/$(BOARD_SRC_STD_TARGET)
BOARD_APT := target/board-sysroot/apt
BOARD_NIGHTLY := nightly

.PHONY: cross cross-test deps-cross deps-cross-musl deps-qemu

# Shell text installing the Debian packages named in the shell variable `packages`, if any, as root.
define board_apt_install
if [ -n "$$packages" ]; then \
	  echo "installing Debian packages$$packages ($(1))"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: they are missing and installing them needs root: apt-get install$$packages" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$packages >/dev/null \
	    || { echo "error: apt-get install$$packages failed" >&2; exit 1; }; \
	fi
endef

# Installs, only when missing, what building for the triples in $(1) needs: the Debian cross
# linkers, then each rustup target, or for BOARD_SRC_STD_TARGET what building its std needs.
define board_deps
	@command -v rustup >/dev/null || { echo "error: rustup is needed (https://rustup.rs)" >&2; exit 1; }
	@packages=""; \
	$(foreach l,$(call board_linkers,$(1)),command -v $(l) >/dev/null || packages+=" $(BOARD_PACKAGE.$(l))";) \
	$(call board_apt_install,cross linkers)
	@mkdir -p target; installed="$$(rustup target list --installed)"; \
	for t in $(1); do \
	  grep -qx "$$t" <<<"$$installed" && continue; \
	  if [ "$$t" != $(BOARD_SRC_STD_TARGET) ]; then \
	    rustup target add "$$t" || { echo "error: rustup target add $$t failed; building for $$t needs it" >&2; exit 1; }; \
	    continue; \
	  fi; \
	  if [ ! -f $(BOARD_SYSROOT)/libunwind.a ]; then \
	    rustup target add "$$t" >target/rustup-target-add.log 2>&1 && continue; \
	    echo "rustup has no std for $$t: preparing to build it from source, with musl from Debian"; \
	  fi; \
	  rustup toolchain list | grep -q '^$(BOARD_NIGHTLY)' || rustup toolchain install $(BOARD_NIGHTLY) --profile minimal; \
	  rustup component list --toolchain $(BOARD_NIGHTLY) --installed | grep -q '^rust-src' \
	    || rustup component add rust-src --toolchain $(BOARD_NIGHTLY); \
	  [ -f $(BOARD_SYSROOT)/libunwind.a ] && continue; \
	  apt="$(BOARD_APT)"; mkdir -p "$$apt/lists/partial" "$$apt/cache/archives/partial"; \
	  opts=(-o APT::Architecture=armhf -o "Dir::State::Lists=$(abspath $(BOARD_APT))/lists" \
	    -o "Dir::Cache=$(abspath $(BOARD_APT))/cache" -o Dir::State::status=/dev/null -o APT::Sandbox::User=root); \
	  apt-get -qq "$${opts[@]}" update >"$$apt/update.log" 2>&1 || true; \
	  (cd "$$apt" && rm -f musl-dev_*.deb && apt-get -qq "$${opts[@]}" download musl-dev:armhf) \
	    || { cat "$$apt/update.log" >&2; echo "error: could not fetch Debian's musl-dev for armhf" >&2; exit 1; }; \
	  rm -rf "$$apt/root" && dpkg-deb -x "$$apt"/musl-dev_*_armhf.deb "$$apt/root"; \
	  mkdir -p $(BOARD_SYSROOT); \
	  cp "$$apt"/root/usr/lib/arm-linux-musleabihf/{crt1.o,crti.o,crtn.o,libc.a} $(BOARD_SYSROOT)/; \
	  for f in crtbegin.o crtend.o; do cp "$$(arm-linux-gnueabihf-gcc -print-file-name=$$f)" $(BOARD_SYSROOT)/; done; \
	  cp "$$(arm-linux-gnueabihf-gcc -print-file-name=libgcc_eh.a)" $(BOARD_SYSROOT)/libunwind.a; \
	done
endef

# `cargo build $(2)` for the triples in $(1): those rustup has a std for in one cargo run, the
# other from source.
define board_cargo
	@installed="$$(rustup target list --installed)"; prebuilt=(); from_source=(); \
	for t in $(1); do \
	  if grep -qx "$$t" <<<"$$installed"; then prebuilt+=(--target "$$t"); else from_source+=(--target "$$t"); fi; \
	done; \
	export $(call board_env,$(1)); \
	if [ $${#prebuilt[@]} != 0 ]; then \
	  echo "$(CARGO) build $(2) $${prebuilt[*]}"; \
	  $(CARGO) build $(2) "$${prebuilt[@]}"; \
	fi; \
	if [ $${#from_source[@]} != 0 ]; then \
	  export CARGO_TARGET_$(call board_upper,$(BOARD_SRC_STD_TARGET))_RUSTFLAGS="-L native=$(abspath $(BOARD_SYSROOT))"; \
	  echo "cargo +$(BOARD_NIGHTLY) build -Zbuild-std=std,panic_abort $(2) $${from_source[*]}"; \
	  cargo +$(BOARD_NIGHTLY) build -Zbuild-std=std,panic_abort $(2) "$${from_source[@]}"; \
	fi
endef

# Checks that each of the files $(1) is stripped, and static if its path names a musl triple.
define board_check
	@for bin in $(1); do \
	  info="$$(file -b "$$bin")"; \
	  case "$$info" in *", stripped"*) ;; *) echo "error: $$bin is not stripped: $$info" >&2; exit 1;; esac; \
	  case "$$bin:$$info" in *musl*:*dynamic*) echo "error: $$bin is not static: $$info" >&2; exit 1;; esac; \
	done
endef

# Builds vitals-agent for the triples in $(1), checks that each binary is stripped and the musl
# ones are static, and prints the sizes.
define board_build
$(call board_cargo,$(1),$(BOARD_CARGO_ARGS))
$(call board_check,$(foreach t,$(1),target/$(t)/$(BOARD_PROFILE)/vitals-agent))
	@printf '\n%-32s %10s %8s  %s\n' target bytes KiB binary; \
	for t in $(1); do \
	  bin="target/$$t/$(BOARD_PROFILE)/vitals-agent"; bytes="$$(stat -c %s "$$bin")"; \
	  printf '%-32s %10s %8s  %s\n' "$$t" "$$bytes" "$$(( (bytes + 512) / 1024 ))" "$$bin"; \
	done
endef

deps-cross:
	$(call board_deps,$(BOARD_TARGETS))

deps-cross-musl:
	$(call board_deps,$(BOARD_MUSL_TARGETS))

# qemu-user runs the boards' binaries in the tests, which call qemu-aarch64-static and
# qemu-arm-static by name rather than rely on binfmt_misc, which containers often lack.
deps-qemu:
	@packages=""; \
	{ command -v qemu-aarch64-static && command -v qemu-arm-static; } >/dev/null || packages=" qemu-user-static"; \
	$(call board_apt_install,to run the boards' binaries)

cross: deps-cross
	$(call board_build,$(BOARD_TARGETS))

# What server/tests/boards.rs needs: the two static binaries, and qemu to run them.
cross-test: deps-cross-musl deps-qemu
	$(call board_build,$(BOARD_MUSL_TARGETS))
