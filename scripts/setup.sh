#!/usr/bin/env bash
# Installs the Debian packages onceflow needs to build, test and benchmark, and the web UI's npm
# packages (ui/node_modules: uPlot, compiled into the binary, and playwright-core for the browser
# tests, which drive Debian's chromium). Idempotent and non-interactive: it only calls apt-get
# when a package is missing, and `npm ci` when ui/package-lock.json changed since the last one.
# Both `make run` and `make test` call it. clang-format (14) and clang-tidy-19 are for
# `make lint` (scripts/lint.sh: clang-tidy 14 cannot parse libstdc++ 12's std::expected). Then
# the tests' Python venv (scripts/python_venv.sh: PyPI packages, pip only when its requirements
# changed).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache iproute2
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libsimdjson-dev libtomlplusplus-dev libxxhash-dev
  clang libclang-rt-14-dev clang-format clang-tidy-19
  librdkafka-dev libpq-dev librocksdb-dev libcpp-httplib-dev libjemalloc-dev libre2-dev
  postgresql-15 postgresql-client-15 openjdk-17-jre-headless maven
  spin python3-dev python3-venv
  chromium chromium-driver
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm for the UI's packages: the machine's own when it has them (playwright-core
# wants Node 20 or newer), else Debian's.
command -v npm >/dev/null || missing+=(nodejs npm)

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The UI's npm packages, exactly as ui/package-lock.json pins them. npm ci leaves its own copy of
# the lock in node_modules: a newer lock file means the packages changed.
ui="$(cd "$(dirname "$0")/.." && pwd)/ui"
if [ ! -f "$ui/node_modules/.package-lock.json" ] ||
   [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in ui/ (uPlot, playwright-core)" >&2
  (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The tests' Python packages (PyPI) in one venv: the Prometheus exposition parser that checks
# the UI's /metrics.
bash "$(dirname "$0")/python_venv.sh"
