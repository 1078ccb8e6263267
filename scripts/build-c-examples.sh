#!/usr/bin/env bash
# Builds the C examples' images (examples/c-*/NAME.c, examples/c-*/c/NAME.c and the Microkit PDs
# examples/microkit-*/NAME.c -> NAME.elf
# beside it, one image per source).
# A source that includes seL4's or Microkit's API (<sel4/...>, <microkit.h>) is built with `umk cc`
# against umk's SDK;
# c-hello's, which uses no SDK, with the Swift toolchain's clang and ld.lld directly:
# freestanding, static, position-independent, every loadable segment on pages of its own.
# Usage: scripts/build-c-examples.sh [OUTPUT_DIR] (default: beside each source). UMK names
# the umk to build with (default: a debug build, built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(dirname "$(readlink -f "$(command -v swift)")")"
clang="$bin/clang" lld="$bin/ld.lld"
for tool in "$clang" "$lld"; do
    [[ -x "$tool" ]] || { echo "error: $tool not found (the Swift toolchain's clang and ld.lld build C images)" >&2; exit 1; }
done
umk="${UMK:-.build/debug/umk}"
out="${1:-}"
for src in examples/c-*/*.c examples/c-*/c/*.c examples/microkit-*/*.c; do
    [[ -e "$src" ]] || continue
    dir="${out:-$(dirname "$src")}"
    mkdir -p "$dir"
    name="$(basename "$src" .c)"
    if grep -qE '#include <(sel4/|microkit.h)' "$src"; then
        [[ -x "$umk" ]] || swift build --product umk >&2
        "$umk" cc -o "$dir/$name.elf" "$src"
    else
        obj="$(mktemp --suffix=.o)"
        "$clang" --target=x86_64-unknown-none-elf -ffreestanding -fPIE -fno-stack-protector -nostdlib -O2 -Wall -Werror \
            -c "$src" -o "$obj"
        "$lld" -pie --no-dynamic-linker -z separate-loadable-segments -e _start "$obj" -o "$dir/$name.elf"
        rm -f "$obj"
    fi
    echo "$dir/$name.elf"
done
