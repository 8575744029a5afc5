#!/usr/bin/env bash
# bench/peers: onceflow beside Kafka Streams, Spark Structured Streaming and an at-least-once
# consumer on the bank workload, on one broker and one PostgreSQL server that this script starts
# (scripts/services/, temporary directories, stopped on exit). See bench/peers/README.md.
#
#   bench/peers/run.sh [peers.py options]      e.g. --records 500000 --systems onceflow-pg,alo-pg
#
# Downloads what it needs into $PEERS_WORK (default bench/peers/work, git-ignored): a Python venv
# (pyspark, confluent-kafka, psycopg, matplotlib from PyPI), the Kafka Streams app's jars
# (Maven), Spark's Kafka connector (Maven Central, through Spark's --packages). Needs the
# onceflow binary ($ONCEFLOW_BIN, default build/onceflow), Java 17, Maven, PostgreSQL 15.
# Writes $PEERS_RESULTS (default $PEERS_WORK/results.json; the versions beside it, *.txt), then
# bench/peers/results.md and bench/peers/peers.png from it. Runs split over several invocations
# (say, one system again) are combined by report.py, which takes a comma-separated list.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${PEERS_WORK:-$here/work}
onceflow=${ONCEFLOW_BIN:-$repo/build/onceflow}
spark_version=4.2.0
mkdir -p "$work"
work=$(cd "$work" && pwd)
results=${PEERS_RESULTS:-$work/results.json}
versions=${results%.json}.txt
[ -x "$onceflow" ] || { echo "run.sh: no onceflow binary at $onceflow (ninja -C build onceflow)" >&2; exit 1; }

# The venv: the Spark job, the at-least-once consumer, the driver and the plot.
if [ ! -f "$work/venv/.complete" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q "pyspark==$spark_version" "confluent-kafka==2.16.1" \
    "psycopg[binary]==3.3.9" "matplotlib==3.11.2"
  touch "$work/venv/.complete"
fi
py=$work/venv/bin/python

# The Kafka Streams app (its jars into bench/peers/kstreams/target, git-ignored).
(cd "$here/kstreams" && mvn -q -B package)

kafka_dir=$(mktemp -d /tmp/onceflow-peers-kafka.XXXXXX)
pg_dir=$(mktemp -d /tmp/onceflow-peers-pg.XXXXXX)
chmod 755 "$pg_dir"
stop() {
  bash "$repo/scripts/services/kafka.sh" stop "$kafka_dir" || true
  bash "$repo/scripts/services/postgres.sh" stop "$pg_dir/data" || true
  rm -rf "$kafka_dir" "$pg_dir"
}
trap stop EXIT
bootstrap=$(bash "$repo/scripts/services/kafka.sh" start "$kafka_dir")
conninfo=$(bash "$repo/scripts/services/postgres.sh" start "$pg_dir/data")
# Commit timestamps give each ledger row the time its transaction became visible (the
# latency's end); the same setting for every system.
echo "track_commit_timestamp = on" >>"$pg_dir/data/postgresql.conf"
bash "$repo/scripts/services/postgres.sh" restart "$pg_dir/data" >/dev/null

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "onceflow: $(git -C "$repo" rev-parse --short HEAD)"
  echo "kafka broker and kafka-streams: $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kstreams/pom.xml")"
  echo "spark (pyspark + spark-sql-kafka-0-10_2.13): $spark_version"
  echo "postgresql: $(/usr/lib/postgresql/15/bin/postgres --version | awk '{print $3}')"
  echo "java: $(java -version 2>&1 | head -1)"
  echo "python: $($py --version | awk '{print $2}'), $("$work/venv/bin/pip" list 2>/dev/null | grep -iE '^(confluent-kafka|psycopg) ' | tr -s ' ' | paste -sd, -)"
  echo "command: bench/peers/run.sh $*"
} >"$versions"

rm -f "$results"
"$py" "$here/peers.py" --bootstrap "$bootstrap" --conninfo "$conninfo" \
  --kafka-pid "$(cat "$kafka_dir/kafka.pid")" --pg-pid "$(head -n 1 "$pg_dir/data/postmaster.pid")" \
  --onceflow "$onceflow" --kstreams "$here/kstreams" --work "$work" --out "$results" \
  --spark-version "$spark_version" "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$versions"
"$py" "$here/report.py" "$results" "$versions" "$here/results.md" "$here/peers.png"
