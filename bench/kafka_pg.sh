#!/usr/bin/env bash
# Runs bench/kafka_pg.cc against a real Kafka broker and a real PostgreSQL server, started here
# in temporary directories (scripts/services/) and stopped on exit. Arguments go to the bench
# (e.g. --records 1000000 --reps 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-build-release/bench/kafka_pg_bench}
[ -x "$bin" ] || { echo "build it first: cmake --build build-release --target kafka_pg_bench" >&2; exit 1; }
kafka_dir=$(mktemp -d /tmp/onceflow-bench-kafka.XXXXXX)
pg_dir=$(mktemp -d /tmp/onceflow-bench-pg.XXXXXX)
chmod 755 "$pg_dir"
stop() {
  bash scripts/services/kafka.sh stop "$kafka_dir" || true
  bash scripts/services/postgres.sh stop "$pg_dir/data" || true
  rm -rf "$kafka_dir" "$pg_dir"
}
trap stop EXIT
bootstrap=$(bash scripts/services/kafka.sh start "$kafka_dir")
conninfo=$(bash scripts/services/postgres.sh start "$pg_dir/data")
"$bin" --bootstrap "$bootstrap" --conninfo "$conninfo" "$@"
