#!/usr/bin/env bash
# Builds the libFuzzer targets of every parser (fuzz/README.md: the log's batches and index
# files, the pipeline TOML, HTTP requests, TCP frames, checkpoint records, state values, the sink
# progress text, expressions) with clang, ASan and UBSan, and runs each in turn for SECONDS
# (first argument, default 30: the time per target, so the run takes about SECONDS x targets)
# from its checked-in seeds in fuzz/corpus/NAME/. Further arguments name the targets to run
# (default: all), e.g.
#   scripts/fuzz.sh 300 tcp_frame_fuzz
# Exits non-zero if any target finds a crash, a sanitizer error or a failed property; the input
# that did it is left in build-fuzz/fuzz-artifacts/TARGET/ (replay: build-fuzz/fuzz/TARGET FILE).
#
# Environment: CXX (default clang++) picks the compiler when build-fuzz is first configured;
# ONCEFLOW_FUZZ_BUILD the build directory (default build-fuzz).
set -euo pipefail
seconds=${1:-30}
shift || true
cd "$(dirname "$0")/.."
build=${ONCEFLOW_FUZZ_BUILD:-build-fuzz}
# ccache keys on paths relative to the checkout: a clone elsewhere reuses the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(pwd)}

CXX=${CXX:-clang++} cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DONCEFLOW_FUZZ=ON -DONCEFLOW_BENCH=OFF -DONCEFLOW_EXAMPLES=OFF -DONCEFLOW_DEBUG_INFO=lines \
  >/dev/null
all=$(sed -n 's/^ONCEFLOW_FUZZ_TARGETS:INTERNAL=//p' "$build/CMakeCache.txt" | tr ';' ' ')
targets=${*:-$all}
for t in $targets; do
  case " $all " in *" $t "*) ;; *) echo "fuzz: no target '$t' (targets: $all)" >&2; exit 2 ;; esac
done
# shellcheck disable=SC2086  # one word per target
cmake --build "$build" --target $targets -j "$(nproc)"

failed=()
for t in $targets; do
  name=${t%_fuzz}
  # New inputs go to a scratch corpus in the build directory; the checked-in seeds stay as
  # they are.
  corpus="$build/fuzz-corpus/$name"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: running $t for ${seconds}s"
  if "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "fuzz/corpus/$name" \
    >"$build/fuzz-$name.log" 2>&1; then
    awk '/^stat::number_of_executed_units/ {runs = $2} /^stat::new_units_added/ {added = $2}
      END {printf "fuzz:   %s runs, %s new inputs\n", runs, added}' "$build/fuzz-$name.log"
  else
    tail -n 60 "$build/fuzz-$name.log"
    echo "fuzz: $t FAILED (log: $build/fuzz-$name.log; input: $artifacts/)"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: no crash in ${seconds}s per target ($(echo "$targets" | wc -w) targets)"
