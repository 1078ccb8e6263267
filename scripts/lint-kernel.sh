#!/usr/bin/env bash
# Checks the kernel's structural rules: no Foundation in the kernel, no class instances for
# kernel objects (the only classes in UMKernel are the Kernel itself and the simulated
# backend's RAM owner), pointer arithmetic only in the named Memory files and HAL/, the
# host reached only from HAL/Linux, and guests linking only CGuest.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

if grep -rn --include='*.swift' -E '^\s*import\s+Foundation' Sources/UMKernel Sources/UMKABI; then
    echo "error: Foundation imported in the kernel or the ABI" >&2
    status=1
fi

allowed_classes='final class Kernel<|final class RAMStorage'
if grep -rn --include='*.swift' -E '\bclass\s+[A-Z]' Sources/UMKernel | grep -vE "$allowed_classes"; then
    echo "error: a class in UMKernel (kernel objects are structs in RAM)" >&2
    status=1
fi

if grep -rln --include='*.swift' -E 'Unsafe(Mutable)?(Raw)?Pointer' Sources/UMKernel \
    | grep -vE 'Sources/UMKernel/(Memory/(Physmap|ObjectRef)\.swift|HAL/)'; then
    echo "error: raw pointers outside Memory/ and HAL/" >&2
    status=1
fi
if grep -rln --include='*.swift' -E '^\s*import\s+(CShims|Glibc)\b' Sources/UMKernel | grep -v '^Sources/UMKernel/HAL/Linux/'; then
    echo "error: the host (CShims, Glibc) imported outside HAL/Linux" >&2
    status=1
fi

# (examples/sandbox is the exception: its guests make host calls on purpose, for the
# sandbox to refuse.)
if grep -rln --include='*.swift' --exclude-dir=.build -E '^\s*import\s+(CShims|Glibc)\b' Sources/UMKGuest Sources/Servers examples \
    | grep -v '^examples/sandbox/'; then
    echo "error: guest code imports the host side (guests link CGuest)" >&2
    status=1
fi
exit $status
