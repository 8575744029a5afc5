#!/usr/bin/env bash
# The test command behind `make test`: builds and runs every test that is not labelled `slow`,
# first in a normal build, then under AddressSanitizer+UBSan, then ThreadSanitizer (the log
# writer and anything threaded), then a short libFuzzer run of the batch decoder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

step() { printf '\n=== %s ===\n' "$*"; }

# One real Kafka broker (KRaft, loopback) for the whole run; tests that need it read
# ONCEFLOW_TEST_KAFKA, and ONCEFLOW_REQUIRE_SERVICES=1 makes them fail rather than skip without it.
step "start a Kafka broker"
kafka_dir=$(mktemp -d /tmp/onceflow-test-kafka.XXXXXX)
trap 'bash scripts/services/kafka.sh stop "$kafka_dir"; rm -rf "$kafka_dir"' EXIT
ONCEFLOW_TEST_KAFKA=$(bash scripts/services/kafka.sh start "$kafka_dir")
export ONCEFLOW_TEST_KAFKA ONCEFLOW_REQUIRE_SERVICES=1
echo "Kafka at $ONCEFLOW_TEST_KAFKA ($kafka_dir)"

configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

step "build (RelWithDebInfo)"
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
step "tests"
(cd build && ctest -LE slow --output-on-failure -j "$jobs")

step "build (ASan + UBSan)"
configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DONCEFLOW_SANITIZE=address \
  -DONCEFLOW_BENCH=OFF
step "tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -LE slow --output-on-failure -j "$jobs")

step "build (TSan)"
configure_and_build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONCEFLOW_SANITIZE=thread \
  -DONCEFLOW_BENCH=OFF
step "unit and integration tests under TSan (log writer, executor, scheduler)"
# report_thread_leaks=0: the crash fault point _exit()s with threads running, on purpose.
# Not the Kafka tests: librdkafka's own threads are not instrumented.
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 report_thread_leaks=0" \
  ctest -L "unit|integration" -LE kafka --output-on-failure -j "$jobs")

if [ -f scripts/fuzz.sh ]; then
  step "fuzz the batch decoder (20 s)"
  bash scripts/fuzz.sh 20
fi

step "summary"
# The plain build's full test run once more, so that the closing lines are its counts.
summary=$(cd build && ctest -LE slow -j "$jobs" 2>&1 || true)
echo "$summary" | tail -n 12
total=$(echo "$summary" | sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p')
failed=$(echo "$summary" | sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p')
[ -n "$total" ] && [ -n "$failed" ] || { echo "no ctest summary"; exit 1; }
echo "$((total - failed)) passed, ${failed} failed"
[ "$failed" = "0" ]
