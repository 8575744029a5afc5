#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests, benchmarks and demos: Debian's binaries, a data
# directory of its own, loopback only, trust auth for the test user `onceflow`.
#
#   postgres.sh start DIR [PORT]   initdb into DIR if it holds no cluster, start, wait until it
#                                  answers, print the conninfo line (PORT: a free one if omitted)
#   postgres.sh stop DIR           fast shutdown of the server whose PID is in DIR/postmaster.pid
#   postgres.sh restart DIR        stop, then start on the same port
#   postgres.sh conninfo DIR       print the conninfo line of the cluster in DIR
#
# initdb and the server refuse to run as root: as root, they run as the system user `onceflow`
# (created if missing), which then owns DIR. The unix socket lives in DIR; the server listens on
# 127.0.0.1 only. Only the test user has trust auth; any other role needs a password.
set -euo pipefail

PGBIN=${ONCEFLOW_PGBIN:-/usr/lib/postgresql/15/bin}
PGUSER_NAME=onceflow

die() { echo "postgres.sh: $*" >&2; exit 1; }

usage() {
  sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# Runs a command as the server's owner: ourselves, or `onceflow` when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u "$PGUSER_NAME" -- "$@"
  else
    "$@"
  fi
}

ensure_owner() {  # DIR
  local dir=$1
  [ "$(id -u)" -eq 0 ] || return 0
  if ! id -u "$PGUSER_NAME" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      "$PGUSER_NAME" || die "cannot create the system user $PGUSER_NAME"
  fi
  chown -R "$PGUSER_NAME": "$dir"
  as_owner test -w "$dir" || die "$dir: the user $PGUSER_NAME cannot reach it (a parent directory is not searchable by others?)"
}

# free_port: a port below the ephemeral range that no socket uses.
# shellcheck source=ports.sh
source "$(dirname "$0")/ports.sh"

conninfo_of() {  # DIR
  [ -f "$1/onceflow.port" ] || die "$1: no cluster started by this script (no onceflow.port)"
  echo "host=127.0.0.1 port=$(cat "$1/onceflow.port") user=$PGUSER_NAME dbname=postgres"
}

server_pid() {  # DIR: the postmaster's PID if it is running
  local pid
  [ -f "$1/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$1/postmaster.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {  # DIR [PORT]
  local dir=$1 port=${2:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if server_pid "$dir" >/dev/null; then
    conninfo_of "$dir"
    return
  fi
  ensure_owner "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    [ -z "$(ls -A "$dir")" ] || die "$dir is neither empty nor a PostgreSQL cluster"
    local out
    out=$(as_owner "$PGBIN/initdb" -D "$dir" -U "$PGUSER_NAME" --auth=trust \
      --encoding=UTF8 --no-locale 2>&1) || { echo "$out" >&2; die "initdb failed in $dir"; }
    # Trust for the test user, over the socket in DIR and loopback TCP only.
    cat >"$dir/pg_hba.conf" <<EOF
local all $PGUSER_NAME trust
host  all $PGUSER_NAME 127.0.0.1/32 trust
host  all all 127.0.0.1/32 scram-sha-256
EOF
    cat >>"$dir/postgresql.conf" <<EOF
# onceflow test server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = 128MB
logging_collector = off
EOF
  fi
  [ -n "$port" ] || port=$( [ -f "$dir/onceflow.port" ] && cat "$dir/onceflow.port" || free_port)
  echo "$port" >"$dir/onceflow.port"
  as_owner "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -o "-p $port" -w -t 60 start \
    >/dev/null || { tail -n 20 "$dir/server.log" >&2; die "the server in $dir did not start"; }
  # pg_ctl -w waits for the postmaster; wait until it answers queries on TCP too.
  for _ in $(seq 1 100); do
    if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PGUSER_NAME" -d postgres; then
      conninfo_of "$dir"
      return
    fi
    sleep 0.1
  done
  die "the server in $dir does not answer on port $port"
}

stop() {  # DIR
  local dir=$1 pid
  pid=$(server_pid "$dir") || return 0  # not running: nothing to do
  kill -INT "$pid"  # fast shutdown: roll back open transactions, checkpoint, exit
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -QUIT "$pid" 2>/dev/null || true  # immediate shutdown after 30 s
  die "the server in $dir (pid $pid) ignored the fast shutdown; sent an immediate shutdown"
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
case "$cmd" in
  start) start "$dir" "${3:-}" ;;
  stop) stop "$dir" ;;
  restart) stop "$dir" && start "$dir" ;;
  conninfo) conninfo_of "$dir" ;;
  *) usage ;;
esac
