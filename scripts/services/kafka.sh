#!/usr/bin/env bash
# A real Apache Kafka broker for onceflow's tests and demos: one KRaft node that is both broker
# and controller, on loopback, with all its files in one directory.
#
#   kafka.sh fetch                 resolve the broker's jars (Maven) into the cache, print the dir
#   kafka.sh start DIR [PORT]      format DIR (first time), start the node, wait until it serves,
#                                  print its bootstrap address (127.0.0.1:PORT; a free port if none)
#   kafka.sh stop DIR              stop the node started in DIR (by PID; SIGKILL after 30 s)
#   kafka.sh restart DIR           stop, then start again on the same port with the same data
#
# The jars come from Maven Central through tools/kafka/pom.xml and are cached outside the
# repository in ${ONCEFLOW_CACHE:-~/.cache/onceflow}/kafka-<version>/libs. DIR holds
# server.properties, data/, kafka.pid, kafka.port and kafka.log (the broker's own log).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
pom=$repo/tools/kafka/pom.xml
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
cache=${ONCEFLOW_CACHE:-$HOME/.cache/onceflow}
libs=$cache/kafka-$version/libs
heap=${ONCEFLOW_KAFKA_HEAP:-256m}

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null || die "maven is not installed (bash scripts/setup.sh)"
  echo "kafka.sh: resolving Kafka $version jars into $libs" >&2
  rm -rf "$libs"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$libs" >&2 ||
    die "maven could not resolve Kafka $version (see the output above)"
  touch "$libs/.complete"
}

# free_port, port_unused: ports below the ephemeral range, unused by any socket.
# shellcheck source=ports.sh
source "$(dirname "$0")/ports.sh"
port_free() { port_unused "$1"; }

running() {  # DIR: the node's PID if it is alive
  local pid
  pid=$(cat "$1/kafka.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

write_config() {  # DIR PORT
  local dir=$1 port=$2 cport=$(($2 + 1))
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
# One node: every internal topic has one replica, and few partitions so that it loads fast.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
min.insync.replicas=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Tests kill producers mid-transaction; let the coordinator abort them sooner than 15 min.
transaction.abort.timed.out.transaction.cleanup.interval.ms=2000
PROPS
  cat >"$dir/log4j2.properties" <<PROPS
status = error
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = WARN
PROPS
}

java_opts() {  # DIR
  echo "-Xms$heap -Xmx$heap -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true" \
    "-Dlog4j2.configurationFile=$1/log4j2.properties"
}

format() {  # DIR: a new cluster's storage (its controller's address is written into it)
  local dir=$1 id
  # A cluster id is 16 random bytes in URL-safe base64. One starting with '-' would read as
  # an option to the argument parser (1 start in 64 failed so): draw again.
  id=-
  while [ "${id#-}" != "$id" ]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  # shellcheck disable=SC2046
  java $(java_opts "$dir") -cp "$libs/*" kafka.tools.StorageTool format --standalone \
    -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 ||
    { cat "$dir/format.log" >&2; die "formatting the storage in $dir failed"; }
}

start() {  # DIR [PORT]
  local dir=${1:?usage: kafka.sh start DIR [PORT]} port=${2:-}
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  fetch
  if pid=$(running "$dir"); then die "a broker already runs in $dir (pid $pid)"; fi
  # A port of our own choosing may be chosen again if a start finds it taken; one that the
  # caller gave or a restart keeps (clients know it) may not.
  local chosen=0
  if [ -z "$port" ]; then
    port=$(cat "$dir/kafka.port" 2>/dev/null) || { port=$(free_port 2) || die "no free port"; chosen=1; }
  fi
  port_free "$port" || die "port $port is in use"
  port_free $((port + 1)) || die "port $((port + 1)) (the controller's) is in use"
  write_config "$dir" "$port"
  echo "$port" >"$dir/kafka.port"
  [ -f "$dir/data/meta.properties" ] || format "$dir"
  # A node that dies before it serves (seen once in CI: killed right after printing its config,
  # no error logged) is started again, up to 3 times in all, with its status and log kept.
  local attempt status
  for attempt in 1 2 3; do
    : >"$dir/kafka.log"
    # shellcheck disable=SC2046
    nohup java $(java_opts "$dir") -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
      >>"$dir/kafka.log" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/kafka.pid"
    # Ready when the server says so: by then the broker is unfenced and serves requests.
    for _ in $(seq 1 1200); do
      if grep -q "Kafka Server started" "$dir/kafka.log"; then
        echo "127.0.0.1:$port"
        return 0
      fi
      if ! kill -0 "$pid" 2>/dev/null; then
        status=0; wait "$pid" || status=$?
        cp "$dir/kafka.log" "$dir/kafka.failed-$attempt.log"
        tail -n 30 "$dir/kafka.log" >&2
        echo "kafka.sh: the broker exited with status $status (attempt $attempt of 3;" \
          "its log: $dir/kafka.failed-$attempt.log)" >&2
        rm -f "$dir/kafka.pid"
        [ "$attempt" -lt 3 ] || die "the broker exited"
        if ! port_free "$port" || ! port_free $((port + 1)) ||
          grep -q "Address already in use" "$dir/kafka.log"; then
          [ "$chosen" = 1 ] || die "the broker exited and port $port or $((port + 1)) is in use"
          port=$(free_port 2) || die "no free port"
          echo "kafka.sh: port taken; trying port $port with a new cluster" >&2
          write_config "$dir" "$port"
          echo "$port" >"$dir/kafka.port"
          rm -rf "$dir/data"
          format "$dir"
        fi
        sleep 1
        continue 2
      fi
      sleep 0.1
    done
    break
  done
  tail -n 30 "$dir/kafka.log" >&2
  stop "$dir"
  die "the broker did not start within 120 s"
}

stop() {  # DIR
  local dir=${1:?usage: kafka.sh stop DIR} pid
  pid=$(running "$dir") || { rm -f "$dir/kafka.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/kafka.pid"; return 0; }
    sleep 0.1
  done
  echo "kafka.sh: broker $pid did not stop within 30 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$dir/kafka.pid"
}

cmd=${1:-}; shift || true
case "$cmd" in
  fetch) fetch; echo "$libs" ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  restart) stop "$@"; start "$1" ;;
  *) die "usage: kafka.sh fetch | start DIR [PORT] | stop DIR | restart DIR" ;;
esac
