#!/usr/bin/env bash
# The Python package's tests (python/tests, pytest), as `make test` runs them after the plain
# build: a fresh virtual environment under the build directory, nanobind, scikit-build-core and
# pytest from PyPI, the package installed with `pip install ./python` using the build directory
# itself as scikit-build-core's (it reconfigures it with ONCEFLOW_PYTHON=ON and builds only the
# module and its stubs: the engine's objects are the build's own, never compiled twice), then
# pytest.
#   bash scripts/python_test.sh [BUILD_DIR] [pytest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
venv="$build/python-venv"
rm -rf "$venv"
python3 -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install "nanobind>=2.0" "scikit-build-core>=0.10" pytest
"${pip[@]}" install --no-build-isolation ./python -C build-dir="$(pwd)/$build" \
  -C cmake.define.ONCEFLOW_DEBUG_INFO=lines
python="$(pwd)/$venv/bin/python"
cd python/tests
"$python" -m pytest -q -p no:cacheprovider "$@"
