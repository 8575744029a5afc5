#!/usr/bin/env bash
# Installs the Debian packages onceflow needs to build, test and benchmark. Idempotent and
# non-interactive: it only calls apt-get when a package is missing. Both `make run` and
# `make test` call it. clang-format (14) and clang-tidy-19 are for `make lint` (scripts/lint.sh:
# clang-tidy 14 cannot parse libstdc++ 12's std::expected).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache iproute2
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libsimdjson-dev libtomlplusplus-dev
  clang libclang-rt-14-dev clang-format clang-tidy-19
  librdkafka-dev libpq-dev librocksdb-dev libcpp-httplib-dev libjemalloc-dev
  postgresql-15 postgresql-client-15 openjdk-17-jre-headless maven
  spin
  python3-dev python3-venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
