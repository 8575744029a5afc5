#!/usr/bin/env bash
# The enforced habits behind `make lint` and `make format` (.clang-format, .clang-tidy).
#
#   scripts/lint.sh             clang-format check of every tracked C++ file, then clang-tidy over
#                               the core modules; non-zero on any difference or warning
#   scripts/lint.sh --changed   the same, only for files changed against the merge base with
#                               origin/main (else main), committed or not (also LINT_CHANGED=1)
#   scripts/lint.sh --format    rewrite every tracked C++ file in place (`make format`)
#   scripts/lint.sh --no-tidy   the clang-format check only (also LINT_TIDY=0)
#   scripts/lint.sh --no-format the clang-tidy run only (also LINT_FORMAT=0)
#
# clang-tidy runs over the core modules only: src/util, src/log, src/checkpoint and src/state, the
# storage half whose bugs lose or corrupt data on disk (the log, the offsets and commits logs, the
# keyed state) and which everything else stands on. Their tests are left out (gtest macros, and
# time). The rest of the tree is checked by the compiler's warnings and the tests; clang-tidy's
# path analysis over all of it would take most of a CI run on 2 cores.
#
# clang-tidy is version 19: clang-tidy 14 cannot parse libstdc++ 12's std::expected (our
# Result<T>), which needs the conditionally trivial special members of clang 16+.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=check
changed=${LINT_CHANGED:-0}
tidy=${LINT_TIDY:-1}
format=${LINT_FORMAT:-1}
for arg in "$@"; do
  case "$arg" in
    --changed) changed=1 ;;
    --format) mode=format ;;
    --no-tidy) tidy=0 ;;
    --no-format) format=0 ;;
    *) echo "usage: scripts/lint.sh [--changed] [--no-tidy | --no-format] | --format" >&2; exit 2 ;;
  esac
done

clang_format=$(command -v clang-format-14 || command -v clang-format || true)
clang_tidy=$(command -v clang-tidy-19 || true)
[ -n "$clang_format" ] || { echo "lint: clang-format not found (bash scripts/setup.sh)" >&2; exit 1; }

build=${BUILD:-build}
jobs=${JOBS:-$(nproc)}
cxx_globs=('*.cc' '*.h')
core_dirs=(src/util src/log src/checkpoint src/state)

# Every tracked C++ file, or (--changed) those changed since the merge base plus untracked ones.
cxx_files() {
  if [ "$changed" = 1 ]; then
    local upstream=origin/main
    git rev-parse -q --verify "$upstream" >/dev/null || upstream=main
    local base
    base=$(git merge-base HEAD "$upstream")
    { git diff --name-only --diff-filter=d "$base" -- "${cxx_globs[@]}"
      git ls-files --others --exclude-standard -- "${cxx_globs[@]}"; } | sort -u
  else
    git ls-files -- "${cxx_globs[@]}"
  fi
}

if [ "$mode" = format ]; then
  git ls-files -z -- "${cxx_globs[@]}" | xargs -0 -r -P "$jobs" -n 16 "$clang_format" -i
  echo "format: $(git ls-files -- "${cxx_globs[@]}" | wc -l) files formatted with $($clang_format --version)"
  exit 0
fi

mapfile -t files < <(cxx_files)
[ "$format" = 1 ] && echo "=== clang-format: ${#files[@]} file(s) ==="
if [ "$format" = 1 ] && [ ${#files[@]} -gt 0 ]; then
  if ! printf '%s\0' "${files[@]}" |
      xargs -0 -r -n 64 "$clang_format" --dry-run -Werror; then  # serial: readable output
    echo "lint: clang-format would change the files above: run 'make format'" >&2
    exit 1
  fi
fi

[ "$tidy" = 1 ] || exit 0
[ -n "$clang_tidy" ] || { echo "lint: clang-tidy-19 not found (bash scripts/setup.sh)" >&2; exit 1; }

# The core modules' sources (headers are checked through them: HeaderFilterRegex in .clang-tidy).
# With --changed: the changed ones, or all of them if a core header changed.
core_sources() {
  git ls-files -- "${core_dirs[@]/%//*.cc}" | grep -v '_test\.cc$' || true
}
mapfile -t tidy_files < <(core_sources)
if [ "$changed" = 1 ]; then
  core_re="^($(IFS='|'; echo "${core_dirs[*]}"))/"
  if ! printf '%s\n' "${files[@]}" | grep -E "$core_re" | grep -q '\.h$'; then
    mapfile -t tidy_files < <(printf '%s\n' "${files[@]}" | grep -E "$core_re" |
                                grep -E '\.cc$' | grep -v '_test\.cc$' || true)
  fi
fi
echo "=== clang-tidy: ${#tidy_files[@]} file(s) of ${core_dirs[*]} ==="
[ ${#tidy_files[@]} -gt 0 ] || exit 0

# compile_commands.json comes from CMake's configure step (no build needed); refresh it so that
# files added since the last configure are in it.
if [ -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" >/dev/null
else
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi

# run-clang-tidy keeps each file's output together; without it, xargs runs them in parallel.
start=$(date +%s)
ok=1
if command -v run-clang-tidy-19 >/dev/null; then
  # Its file arguments are regular expressions over the database's absolute paths.
  patterns=()
  for f in "${tidy_files[@]}"; do patterns+=("^$(pwd)/${f//./\\.}\$"); done
  run-clang-tidy-19 -clang-tidy-binary "$clang_tidy" -p "$build" -j "$jobs" -quiet \
    -warnings-as-errors='*' "${patterns[@]}" || ok=0
else
  printf '%s\0' "${tidy_files[@]}" |
    xargs -0 -r -P "$jobs" -n 1 "$clang_tidy" -p "$build" --quiet --warnings-as-errors='*' ||
    ok=0
fi
if [ "$ok" = 0 ]; then
  echo "lint: clang-tidy found the warnings above (fix them; a NOLINT needs a reason)" >&2
  exit 1
fi
echo "clang-tidy: clean in $(( $(date +%s) - start )) s"
