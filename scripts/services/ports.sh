#!/usr/bin/env bash
# Sourced by the service scripts: picks a loopback TCP port for a server to listen on.
#
# A server's port must never be one the kernel may hand out as the local end of an outgoing
# connection: with many clients busy (a test suite against a shared broker and server), such a
# port can be held by an established connection when the server binds it, and the bind fails
# with "Address already in use" although nothing listens there (seen in CI: a private broker
# failed three starts in a row so). So ports are drawn below the ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range), and a port counts as free only if no TCP socket in
# any state uses it as its local port (`ss`), not merely if nothing answers a connect.

ephemeral_low() {
  local low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || low=32768
  echo "${low:-32768}"
}

port_unused() {  # PORT: true if no TCP socket has it as its local port
  # TIME-WAIT sockets do not count: servers bind with SO_REUSEADDR (Kafka and PostgreSQL do),
  # and a restarted server finds its own old connections so.
  if command -v ss >/dev/null; then
    [ -z "$(ss -Htan exclude time-wait "sport = :$1" 2>/dev/null)" ]
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

free_port() {  # [COUNT]: the first of COUNT consecutive unused ports (default 1)
  local count=${1:-1} low top p i ok
  low=10000
  top=$(($(ephemeral_low) - count))
  [ "$top" -gt $((low + 1000)) ] || { low=20000; top=$((50000 - count)); }
  for _ in $(seq 1 500); do
    p=$((low + (RANDOM * 32768 + RANDOM) % (top - low)))
    ok=1
    for ((i = 0; i < count; i++)); do port_unused $((p + i)) || { ok=0; break; }; done
    [ "$ok" = 1 ] && { echo "$p"; return 0; }
  done
  echo "no free port found below $top" >&2
  return 1
}
