#!/usr/bin/env bash
# Creates (or brings up to date) the Python virtual environment the tests use, with the packages
# of scripts/requirements-test.txt from PyPI, in ~/.cache/onceflow/venv (CMake's ONCEFLOW_TEST_PYTHON). Called
# by scripts/setup.sh; idempotent (pip runs only when the requirements changed). Prints nothing
# when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$HOME/.cache/onceflow/venv
requirements=scripts/requirements-test.txt
stamp="$venv/.onceflow-requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
  exit 0
fi
echo "python_venv: installing $(tr '\n' ' ' < "$requirements")into $venv" >&2
# Debian's python3 (python3-venv, installed by setup.sh), whatever python3 comes first in PATH.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
cp "$requirements" "$stamp"
