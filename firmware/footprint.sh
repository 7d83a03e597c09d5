#!/usr/bin/env bash
# Prints the firmware's flash and static RAM, and agent-core's share of them (`make firmware`).
#
# The share is a difference: `vitals-firmware` less `footprint-baseline`, which is the same
# board code (clock, UARTs, the serial transport, the sample, the console) without the agent.
# So it is everything the firmware holds because it runs agent-core: agent-core, what it
# depends on (serde, serde-json-core, ryu, heapless, sha2, hmac), and the few lines of `main`
# that drive it. Symbols per crate follow, for a rough picture; LTO inlines much of agent-core
# into the firmware's `run`, so those undercount it.
#
# usage: footprint.sh FIRMWARE_ELF BASELINE_ELF LLVM_BIN_DIR
set -euo pipefail
elf=$1 baseline=$2 llvm=$3

# Flash: the vector table, code, constants, and the initial values of .data (stored in flash,
# copied to RAM at start). Static RAM: .data, .bss and .uninit; the stack has the rest.
sections() {
  "$llvm/llvm-size" -A "$1" | awk '
    $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" || $1 == ".data" { flash += $2 }
    $1 == ".text" { text = $2 } $1 == ".rodata" { rodata = $2 }
    $1 == ".data" || $1 == ".bss" || $1 == ".uninit" { ram += $2 }
    END { print flash, ram, text, rodata }'
}
read -r flash ram text rodata < <(sections "$elf")
read -r base_flash base_ram _ _ < <(sections "$baseline")

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
row() { printf '  %-34s %9s B %10s   %9s B %10s\n' "$1" "$2" "($(kib "$2"))" "$3" "($(kib "$3"))"; }

echo
echo "firmware footprint: $elf"
echo "  (thumbv7m-none-eabi, release: opt-level \"z\", LTO, panic = abort; flash = vectors + .text"
echo "  + .rodata + .data, static RAM = .data + .bss + .uninit; the stack is measured at run time)"
printf '  %-34s %24s   %24s\n' "" "flash" "static RAM"
row "vitals-firmware" "$flash" "$ram"
row "footprint-baseline (no agent)" "$base_flash" "$base_ram"
row "agent-core's share (difference)" "$((flash - base_flash))" "$((ram - base_ram))"
echo "  of the firmware's flash: .text $text B, .rodata $rodata B. agent-core's static RAM is the"
echo "  agent's state and the ring its samples wait in (RING in src/main.rs); the console prints both."
echo
echo "  flash by crate, from the symbols (inlined code counts where it was inlined):"
"$llvm/llvm-nm" --print-size --size-sort --demangle --radix=d "$elf" | awk '
  $3 ~ /^[tTrR]$/ {
    name = $0
    sub(/^[0-9]+ [0-9]+ [a-zA-Z] /, "", name)
    # What llvm-nm leaves of legacy mangling inside generic names.
    gsub(/_\$LT\$/, "<", name); gsub(/\$LT\$/, "<", name); gsub(/\$u20\$/, " ", name)
    gsub(/\$RF\$/, "\\&", name); gsub(/\.\./, "::", name)
    sub(/^[<&_ ]+/, "", name); sub(/^(mut |dyn |impl )+/, "", name)
    # `<u64 as core::fmt::Display>`: the trait'"'"'s crate.
    if (match(name, /^(u8|u16|u32|u64|u128|usize|i8|i16|i32|i64|i128|isize|f32|f64|str|bool|char|T) as /))
      name = substr(name, RLENGTH + 1)
    split(name, part, "::"); crate = part[1]
    if (crate ~ /^\.L/) crate = "(constants)"
    else if (crate ~ /^(__aeabi|aeabi|memcpy|memmove|memset|memcmp|__)/) crate = "compiler_builtins"
    else if (crate ~ /^(INTERRUPTS|Reset|DefaultHandler|HardFault|__INTERRUPTS)/) crate = "cortex_m_rt"
    bytes[crate] += $2
  }
  END { for (c in bytes) printf "%8d  %s\n", bytes[c], c }' | sort -rn | awk 'NR <= 14 { print "  " $0 }'
