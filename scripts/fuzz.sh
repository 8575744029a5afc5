#!/usr/bin/env bash
# Builds the libFuzzer target of the log's decoders (batch header, batches, index files) with
# clang, ASan and UBSan, and runs it for N seconds (first argument, default 30) from the seed
# corpus in fuzz/corpus. Exits non-zero if the fuzzer finds a crash, a sanitizer error or a
# failed check; the input that did it is left in build-fuzz/fuzz-artifacts/.
#
# Environment: CXX (default clang++) picks the compiler when build-fuzz is first configured;
# ONCEFLOW_FUZZ_BUILD the build directory (default build-fuzz).
set -euo pipefail
seconds=${1:-30}
cd "$(dirname "$0")/.."
build=${ONCEFLOW_FUZZ_BUILD:-build-fuzz}

CXX=${CXX:-clang++} cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DONCEFLOW_FUZZ=ON -DONCEFLOW_BENCH=OFF -DONCEFLOW_EXAMPLES=OFF -DONCEFLOW_DEBUG_INFO=lines \
  >/dev/null
cmake --build "$build" --target batch_decoder_fuzz -j "$(nproc)"

# New inputs go to a scratch corpus in the build directory; the checked-in seeds stay as they
# are.
corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"
echo "fuzz: running batch_decoder_fuzz for ${seconds}s"
"$build/fuzz/batch_decoder_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" fuzz/corpus
echo "fuzz: no crash in ${seconds}s"
