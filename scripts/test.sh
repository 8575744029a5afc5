#!/usr/bin/env bash
# The test command behind `make test`: lints (scripts/lint.sh), then builds and runs every test
# that is not labelled `slow`, first in a normal build (every crash test; then the Python
# package, installed from that build into a fresh venv, and its pytest suite), then the unit and
# integration tests under AddressSanitizer+UBSan, then ThreadSanitizer (the log writer and
# anything threaded), then a short libFuzzer run of every parser.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# ccache keys on paths relative to the checkout: a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR="$(pwd)"

# Each step's wall time, printed when the next one starts and all together at the end, so that
# a CI log says where the minutes went.
step_name="" step_start=$SECONDS run_start=$SECONDS step_times=()
end_step() {
  [ -n "$step_name" ] || return 0
  local took=$((SECONDS - step_start))
  step_times+=("$(printf '%5ds  %s' "$took" "$step_name")")
  printf -- '--- %s: %ds\n' "$step_name" "$took"
  step_name=""
}
step() {
  end_step
  step_name="$*" step_start=$SECONDS
  printf '\n=== %s ===\n' "$*"
}
print_step_times() {
  end_step
  printf '\nstep times (load average at the end: %s)\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%s\n' "${step_times[@]}"
  printf '%5ds  total\n' "$((SECONDS - run_start))"
}
trap print_step_times EXIT

step "setup (Debian packages)"
bash scripts/setup.sh

# First, before any service or build: clang-format over every C++ file, clang-tidy over the core
# modules (it configures build/ for compile_commands.json if needed).
step "lint"
bash scripts/lint.sh

# The commit protocol's Promela model (model/README.md): spin's exhaustive search of the correct
# protocol on small bounds, and every known-wrong variant caught. About 25 s of CPU, two at a time.
step "model check the commit protocol"
bash model/check.sh

# Real services for the whole run, stopped on any exit: one Kafka broker (KRaft, loopback) and
# one PostgreSQL server (scripts/services/). Tests read ONCEFLOW_TEST_KAFKA and
# ONCEFLOW_TEST_POSTGRES; ONCEFLOW_REQUIRE_SERVICES=1 makes them fail rather than skip without.
kafka_dir=$(mktemp -d /tmp/onceflow-test-kafka.XXXXXX)
pg_dir=$(mktemp -d /tmp/onceflow-pg.XXXXXX)
chmod 755 "$pg_dir"  # the server runs as the user `onceflow` when we are root
stop_services() {
  bash scripts/services/kafka.sh stop "$kafka_dir" || true
  bash scripts/services/postgres.sh stop "$pg_dir/data" || true
  rm -rf "$kafka_dir" "$pg_dir"
}
trap 'print_step_times; stop_services' EXIT
step "start a Kafka broker"
ONCEFLOW_TEST_KAFKA=$(bash scripts/services/kafka.sh start "$kafka_dir")
echo "Kafka at $ONCEFLOW_TEST_KAFKA ($kafka_dir)"
step "start a PostgreSQL server"
ONCEFLOW_TEST_POSTGRES=$(bash scripts/services/postgres.sh start "$pg_dir/data")
export ONCEFLOW_TEST_KAFKA ONCEFLOW_TEST_POSTGRES ONCEFLOW_REQUIRE_SERVICES=1

configure_and_build() {  # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

# Every test build leaves out what no test runs (benchmarks; examples in the sanitizer builds)
# and keeps line tables only for debug info (ONCEFLOW_DEBUG_INFO=lines: file:line in stack
# traces and sanitizer reports, objects a fifth of the size). The plain build is the Makefile's
# (BUILD_FLAGS there), so that `make check` after `make test` rebuilds nothing.
step "build (RelWithDebInfo)"
# ONCEFLOW_PYTHON=OFF: the Python step below turns it on in this build directory to build the
# module; the plain build itself does not need nanobind.
configure_and_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONCEFLOW_BENCH=OFF \
  -DONCEFLOW_DEBUG_INFO=lines -DONCEFLOW_PYTHON=OFF
step "tests"
# The plain run's output is kept for the summary at the end; a failure here still stops the run.
(cd build && ctest -LE slow --output-on-failure -j "$jobs") 2>&1 | tee build/ctest-plain.log
[ "${PIPESTATUS[0]}" = "0" ] || { echo "plain tests failed"; exit 1; }

step "Python package: pip install ./python into a fresh venv (the plain build's objects), pytest"
bash scripts/python_test.sh build

step "build (ASan + UBSan)"
# The sanitizer builds are never the inner loop: unity builds (CMAKE_UNITY_BUILD, batches of 8
# files, the headers parsed once per batch) compile them in about 40% of the time.
# Only the binaries of the tests it runs (ONCEFLOW_SKIP_TEST_LABELS: no crash tests). -O0: ASan
# and UBSan at -O1 took twice the compile time.
configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DONCEFLOW_SANITIZE=address \
  -DONCEFLOW_BENCH=OFF -DONCEFLOW_EXAMPLES=OFF -DONCEFLOW_DEBUG_INFO=lines \
  -DONCEFLOW_SKIP_TEST_LABELS='crash;slow' -DCMAKE_UNITY_BUILD=ON
step "unit and integration tests under ASan + UBSan"
# The kill -9 loops (label crash) ran in the plain build above: under ASan they test the same
# protocol again, ten times slower, and find no memory error the integration tests miss.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -L 'unit|integration' -LE 'slow|crash' --output-on-failure -j "$jobs")

step "build (TSan)"
# Only the binaries of the tests it runs (no crash tests, none against Kafka or PostgreSQL).
# -O2 and full debug info, as before: scripts/tsan.supp matches a frame inlined into our code
# (rocksdb::DB::Get), and GCC's line tables (-g1) carry no inlined frames.
configure_and_build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DONCEFLOW_SANITIZE=thread \
  -DONCEFLOW_BENCH=OFF -DONCEFLOW_EXAMPLES=OFF -DONCEFLOW_DEBUG_INFO= \
  -DONCEFLOW_SKIP_TEST_LABELS='crash;slow;kafka;postgres' -DCMAKE_UNITY_BUILD=ON
step "unit and integration tests under TSan (log writer, executor, scheduler)"
# report_thread_leaks=0: the crash fault point _exit()s with threads running, on purpose.
# scripts/tsan.supp: races inside libraries built without TSan (RocksDB).
# Not the tests against Kafka and PostgreSQL (labels kafka, postgres): librdkafka's own threads
# are not instrumented, and those tests exercise the clients rather than our threads.
tsan_supp="$(pwd)/scripts/tsan.supp"
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 report_thread_leaks=0 suppressions=$tsan_supp" \
  ctest -L 'unit|integration' -LE 'kafka|postgres' --output-on-failure -j "$jobs")

if [ -f scripts/fuzz.sh ]; then
  # Every parser's target for 5 s each (8 targets): the build with a warm ccache and the runs
  # take under a minute; `make fuzz` runs them for 5 minutes each.
  step "fuzz every parser (5 s per target)"
  bash scripts/fuzz.sh 5
fi

step "summary"
# The plain build's counts (from its run above), so that the closing lines say them.
summary=$(cat build/ctest-plain.log)
echo "$summary" | grep -A12 "tests passed" | head -n 12
total=$(echo "$summary" | sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p')
failed=$(echo "$summary" | sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p')
[ -n "$total" ] && [ -n "$failed" ] || { echo "no ctest summary"; exit 1; }
echo "$((total - failed)) passed, ${failed} failed"
[ "$failed" = "0" ]
