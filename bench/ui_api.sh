#!/usr/bin/env bash
# The UI server's answer times over a pipeline with a long batch history: `onceflow ui` over a
# pipeline of BATCHES one-record batches (log -> SQLite), then each endpoint fetched REPS times
# with curl, one at a time; prints the median and the slowest per endpoint, beside GET /health
# on the same server in the same run (the ceiling: the HTTP round trip with no work).
# Usage: bench/ui_api.sh [BUILD_DIR] [BATCHES] [REPS]   (defaults: build 3000 21)
set -euo pipefail
build=${1:-build}
batches=${2:-3000}
reps=${3:-21}
onceflow=$(realpath "$build/onceflow")
dir=$(mktemp -d /tmp/onceflow-ui-bench.XXXXXX)
trap 'kill $ui 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
"$onceflow" --data data topics create big --partitions 1 2>/dev/null
seq 1 "$batches" | sed 's/.*/{"id":&}/' | "$onceflow" --data data produce big 2>/dev/null
cat > big.toml <<'TOML'
name = "big"
batch_interval_ms = 1
max_records_per_partition = 1
[source]
topic = "big"
[sink]
path = "big.db"
init = ["CREATE TABLE IF NOT EXISTS big(id INTEGER)"]
table = "big"
TOML
"$onceflow" --data data run big.toml --until-caught-up 2>/dev/null
"$onceflow" --data data ui --http 127.0.0.1:0 2> ui.err &
ui=$!
until grep -q 'serving http://' ui.err; do sleep 0.1; done
port=$(sed -n 's/.*serving http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' ui.err)
echo "ui_api: $batches batches in the history, $reps requests per endpoint, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-48s %10s %10s %10s\n' endpoint median_ms max_ms bytes
for path in /health /api/v1/pipelines /api/v1/pipelines/big "/api/v1/pipelines/big/batches?limit=50" \
            /api/v1/pipelines/big/batches/1500 "/api/v1/pipelines/big/timeline?limit=300" \
            /api/v1/pipelines/big/audit "/api/v1/pipelines/big/dead_letters?limit=100" \
            /api/v1/pipelines/big/state /metrics; do
  times=()
  for _ in $(seq "$reps"); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$path")")
  done
  bytes=$(curl -s "http://127.0.0.1:$port$path" | wc -c)
  sorted=$(printf '%s\n' "${times[@]}" | sort -g)
  median=$(echo "$sorted" | sed -n "$(((reps + 1) / 2))p")
  max=$(echo "$sorted" | tail -1)
  awk -v p="$path" -v m="$median" -v x="$max" -v b="$bytes" \
    'BEGIN { printf "%-48s %10.1f %10.1f %10d\n", p, m * 1000, x * 1000, b }' 
done
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
