#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: the libFuzzer target over the syscall-program decoder,
# with its seed corpus. $OUT receives `umk_syscalls` and `umk_syscalls_seed_corpus.zip`.
cd "$SRC/umk"
target=$(scripts/build-libfuzzer.sh)
cp "$target" "$OUT/umk_syscalls"
(cd fuzz/seeds && zip -q -r "$OUT/umk_syscalls_seed_corpus.zip" .)
