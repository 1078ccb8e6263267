#!/bin/sh
# Builds the libFuzzer target (Sources/UMKLibFuzzer) with the Swift toolchain's
# -sanitize=fuzzer,address and prints its path. Run it like any libFuzzer binary:
#   $(scripts/build-libfuzzer.sh) fuzz/corpus fuzz/seeds -max_total_time=60
# Several jobs on one machine share the corpus directory:
#   $(scripts/build-libfuzzer.sh) -jobs=2 -workers=2 fuzz/corpus fuzz/seeds
set -eu
cd "$(dirname "$0")/.."
scratch=.build-libfuzzer
swift build --scratch-path "$scratch" -c debug --product umk-libfuzzer \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DUMK_LIBFUZZER \
    -Xcc -fsanitize=fuzzer-no-link,address >&2
echo "$PWD/$scratch/debug/umk-libfuzzer"
