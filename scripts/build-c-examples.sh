#!/usr/bin/env bash
# Builds the C examples' images (examples/*/NAME.c -> NAME.elf, one image per source) with
# the Swift toolchain's own clang and ld.lld: freestanding, static, position-independent
# (a static PIE, ET_DYN without an interpreter), every loadable segment on pages of its
# own. Usage: scripts/build-c-examples.sh [OUTPUT_DIR] (default: beside each source).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(dirname "$(readlink -f "$(command -v swift)")")"
clang="$bin/clang" lld="$bin/ld.lld"
for tool in "$clang" "$lld"; do
    [[ -x "$tool" ]] || { echo "error: $tool not found (the Swift toolchain's clang and ld.lld build C images)" >&2; exit 1; }
done
out="${1:-}"
for src in examples/c-*/*.c; do
    dir="${out:-$(dirname "$src")}"
    mkdir -p "$dir"
    name="$(basename "$src" .c)"
    obj="$(mktemp --suffix=.o)"
    "$clang" --target=x86_64-unknown-none-elf -ffreestanding -fPIE -fno-stack-protector -nostdlib -O2 -Wall -Werror \
        -c "$src" -o "$obj"
    "$lld" -pie --no-dynamic-linker -z separate-loadable-segments -e _start "$obj" -o "$dir/$name.elf"
    rm -f "$obj"
    echo "$dir/$name.elf"
done
