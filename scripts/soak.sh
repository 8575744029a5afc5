#!/usr/bin/env bash
# The long chaos soaks of docs/soak.md: `onceflow chaos` (kills at random moments, crashes and
# power losses at random fault points, injected I/O errors) over three pipelines, each followed
# by its audits. One at a time, at nice 10.
#
#   scripts/soak.sh [ledger|window|kafka-pg|all]     (default: all)
#
#   ledger     examples/ledger.toml, embedded log -> SQLite: LEDGER_KILLS (1000) kills over
#              LEDGER_TRANSFERS (6000000) transfers; chaos's own audits (verify, reference run,
#              every transfer's id once in the ledger: --audit-key id=ledger.id)
#   window     examples/window_sums.toml, a one-minute tumbling window per user, embedded log ->
#              SQLite with keyed state: WINDOW_KILLS (200) kills over WINDOW_PURCHASES (1000000)
#   kafka-pg   the ledger from a Kafka topic into PostgreSQL (a broker and a server of its own,
#              scripts/services/): KAFKA_PG_KILLS (200) kills over KAFKA_PG_TRANSFERS (1000000);
#              then verify, and the PostgreSQL tables compared with a reference run of the same
#              input from Kafka into SQLite, row for row
#
# SOAK_SEED (1501) seeds the input and every chaos choice; SOAK_DIR (/tmp/onceflow-soak) holds the
# data (each soak's directory is made afresh); ONCEFLOW (build/onceflow) is the binary. Exit 0
# when every soak passed; the reports are in SOAK_DIR/<soak>.out.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${ONCEFLOW:-$repo/build/onceflow}
dir=${SOAK_DIR:-/tmp/onceflow-soak}
seed=${SOAK_SEED:-1501}
which=${1:-all}
[ -x "$bin" ] || { echo "soak.sh: no $bin (make build first)" >&2; exit 2; }
mkdir -p "$dir"
of() { nice -n 10 "$bin" "$@"; }

# Ledger transfers as `produce --key-separator TAB` lines, "payer<TAB>{json}" (keyed by payer, as
# the demo's): ids FIRST.., N of them, between ACCOUNTS accounts, from SEED. mawk prints
# integers past 2^31 only with %.0f.
transfers() {  # first n accounts seed
  awk -v first="$1" -v n="$2" -v accounts="$3" -v seed="$4" 'BEGIN {
    srand(seed)
    for (i = first; i < first + n; i++) {
      f = int(rand() * accounts); t = int(rand() * (accounts - 1)); if (t >= f) t++
      printf "%d\t{\"id\":%.0f,\"from\":%d,\"to\":%d,\"amount\":%d}\n", f, i, f, t, 1 + int(rand() * 1000)
    }
  }'
}

# Purchases {"user","amount","ts"}: 50 users, event time 10 ms apart (increasing in every
# partition, so that no record is late however the batches fall).
purchases() {  # n seed
  awk -v n="$1" -v seed="$2" 'BEGIN {
    srand(seed)
    for (i = 0; i < n; i++) {
      u = int(rand() * 50)
      printf "u%d\t{\"user\":\"u%d\",\"amount\":%d,\"ts\":%.0f}\n", u, u, 1 + int(rand() * 1000), 1700000000000 + i * 10
    }
  }'
}

# chaos, its output kept; returns its exit status.
chaos() {  # name toml data kills [more chaos options]
  local name=$1 toml=$2 data=$3 kills=$4 out=$dir/$1.out
  shift 4
  echo "=== $name: onceflow chaos $toml --kills $kills --seed $seed --power-loss --faults $*" \
    "--data $data"
  local start=$SECONDS rc=0
  of chaos "$toml" --kills "$kills" --seed "$seed" --power-loss --faults "$@" --data "$data" \
    >"$out" 2>&1 || rc=$?
  sed -n '/^report:/,$p' "$out"
  echo "--- $name: exit $rc after $((SECONDS - start)) s (every run: $out)"
  return $rc
}

soak_ledger() {
  local d=$dir/ledger
  rm -rf "$d" && mkdir -p "$d"
  sed 's/^batch_interval_ms = 20$/&\nmax_records_per_partition = 250/' "$repo/examples/ledger.toml" \
    >"$d/ledger.toml"
  of topics create transfers --partitions 4 --data "$d"
  transfers 0 "${LEDGER_TRANSFERS:-6000000}" 10000 "$seed" |
    of produce transfers --key-separator $'\t' --data "$d"
  chaos ledger "$d/ledger.toml" "$d" "${LEDGER_KILLS:-1000}" --audit-key id=ledger.id
}

soak_window() {
  local d=$dir/window
  rm -rf "$d" && mkdir -p "$d"
  cp "$repo/examples/window_sums.toml" "$d/"
  of topics create purchases --partitions 4 --data "$d"
  purchases "${WINDOW_PURCHASES:-1000000}" "$seed" |
    of produce purchases --key-separator $'\t' --data "$d"
  chaos window "$d/window_sums.toml" "$d" "${WINDOW_KILLS:-200}"
}

soak_kafka_pg() {
  local d=$dir/kafka-pg svc=$dir/kafka-pg-services
  rm -rf "$d" "$svc" && mkdir -p "$d" "$svc/pg"
  chmod 755 "$svc/pg"  # the server runs as the user `onceflow` when we are root
  stop_services() {
    bash "$repo/scripts/services/kafka.sh" stop "$svc/kafka" || true
    bash "$repo/scripts/services/postgres.sh" stop "$svc/pg/data" || true
  }
  trap stop_services EXIT
  local kafka pg
  kafka=$(bash "$repo/scripts/services/kafka.sh" start "$svc/kafka")
  pg=$(bash "$repo/scripts/services/postgres.sh" start "$svc/pg/data")
  echo "Kafka at $kafka, PostgreSQL at $pg"
  of topics create transfers --partitions 4 --kafka "$kafka"
  transfers 0 "${KAFKA_PG_TRANSFERS:-1000000}" 10000 "$seed" |
    of produce transfers --key-separator $'\t' --kafka "$kafka"
  # examples/ledger.toml from Kafka into PostgreSQL (as src/testing/ledger_postgres.cc makes it),
  # and the same from Kafka into SQLite under another name: the reference.
  local base
  base=$(sed -e 's/^batch_interval_ms = 20$/&\nmax_records_per_partition = 250/' \
    -e "s|^type = \"log\"$|type = \"kafka\"\nbootstrap = \"$kafka\"|" "$repo/examples/ledger.toml")
  echo "$base" | sed -e "s|^type = \"sqlite\"$|type = \"postgres\"|" \
    -e "s|^path = \"bank.db\"$|conninfo = \"$pg\"|" \
    -e 's/SET balance = balance /SET balance = accounts.balance /' >"$d/ledger-pg.toml"
  echo "$base" | sed 's/^name = "ledger"$/name = "ledger-reference"/' >"$d/reference.toml"
  local rc=0
  chaos kafka-pg "$d/ledger-pg.toml" "$d" "${KAFKA_PG_KILLS:-200}" || rc=$?
  # The reference: the same input, no faults, into SQLite; then both sinks' tables, sorted.
  of run "$d/reference.toml" --until-caught-up --data "$d" 2>&1 | tail -1
  local q_ledger="SELECT id, src, dst, amount FROM ledger ORDER BY id, src, dst, amount"
  local q_accounts="SELECT id, balance FROM accounts ORDER BY id"
  for q in "$q_ledger" "$q_accounts"; do
    local table=${q#*FROM }; table=${table%% *}
    psql -X -q -At -F '|' "$pg" -c "$q" >"$d/$table.pg"
    sqlite3 -separator '|' "$d/bank.db" "$q" >"$d/$table.reference"
    if cmp -s "$d/$table.pg" "$d/$table.reference"; then
      echo "audit: table $table: $(wc -l <"$d/$table.pg") rows, identical to the reference run's"
    else
      echo "VIOLATION: table $table differs from the reference run (diff $d/$table.pg" \
        "$d/$table.reference):"
      diff "$d/$table.pg" "$d/$table.reference" | head -20 || true
      rc=1
    fi
  done
  stop_services
  trap - EXIT
  return $rc
}

failed=()
case $which in
  ledger) soak_ledger || failed+=(ledger) ;;
  window) soak_window || failed+=(window) ;;
  kafka-pg) soak_kafka_pg || failed+=(kafka-pg) ;;
  all)
    soak_ledger || failed+=(ledger)
    soak_window || failed+=(window)
    soak_kafka_pg || failed+=(kafka-pg)
    ;;
  *) echo "usage: scripts/soak.sh [ledger|window|kafka-pg|all]" >&2; exit 2 ;;
esac
if [ ${#failed[@]} -gt 0 ]; then
  echo "soak: FAILED: ${failed[*]} (reports in $dir)"
  exit 1
fi
echo "soak: every soak passed (reports in $dir)"
