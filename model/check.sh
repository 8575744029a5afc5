#!/usr/bin/env bash
# Model-checks the commit protocol with spin (model/README.md): an exhaustive search of each
# correct model must end with no error and a complete search, and every known-wrong variant
# must give a counterexample of the kind it should. Exits non-zero otherwise.
#   bash model/check.sh          all of it (two searches at a time)
#   KEEP=1 bash model/check.sh   keep the work directory (pan logs, trails) and print its path
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# One search, run as `check.sh --search DIR OPT MODEL [-D...]`: spin's exhaustive safety search
# of MODEL (assertions and invalid end states) in DIR, compiled with gcc OPT; pan.log there.
if [ "${1:-}" = --search ]; then
  dir=$2 opt=$3 model=$4
  shift 4
  cd "$dir"
  spin -a "$@" "$model" >spin.log 2>&1 || { cat spin.log >&2; exit 1; }
  # COLLAPSE: lossless state compression. MEMLIM (MB): a search that needs more stops, and
  # says so (then it is not complete, and fails below).
  gcc "$opt" -w -DCOLLAPSE -DSAFETY -DMEMLIM=2048 -o pan pan.c
  # -m: the search depth limit (a search that reaches it says so); -w: hash table of 2^24.
  ./pan -m1000000 -w24 >pan.log 2>&1 || true
  exit 0
fi

for tool in spin gcc; do
  command -v "$tool" >/dev/null ||
    { echo "model/check.sh: $tool is not installed (scripts/setup.sh installs it)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/onceflow-model.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then
  echo "model/check.sh: work directory $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# The checks: name, model, expected outcome ("ok", or an extended regular expression that the
# counterexample's first MODEL line must match), then spin's -D options.
checks=(
  # The correct protocol, on small bounds (model/README.md, "Bounds").
  "driver|driver.pml|ok"
  "driver-task-failures|driver.pml|ok|-DMAXCRASH=1 -DMAXTASKFAIL=2"
  "group|group.pml|ok"
  "group-3-generations|group.pml|ok|-DGENS=3 -DMAXCRASH=0"
  # The known-wrong variants: each must be caught.
  "state-before-sink|driver.pml|state of record .* applied twice|state store refuses|\
-DWRONG_STATE_BEFORE_SINK"
  "state-before-sink-crash-only|driver.pml|sink's output ends at|\
-DWRONG_STATE_BEFORE_SINK -DMAXTHROW=0"
  "resume-from-sink|driver.pml|state marker is at|in the state 0 times|-DWRONG_RESUME_FROM_SINK"
  "claim-without-epoch-check|group.pml|lands on task .* after epoch|-DWRONG_CLAIM_NO_EPOCH"
  "commit-without-epoch-check|group.pml|lands on task .* after epoch|-DWRONG_COMMIT_NO_EPOCH"
)
field() { echo "$1" | cut -d'|' -f"$2"; }
# The expectation may itself hold '|': it is every field between the model and the last one
# when the last one holds -D options.
expectation() {
  local n
  n=$(echo "$1" | awk -F'|' '{print NF}')
  if [[ $(field "$1" "$n") == -D* ]]; then
    echo "$1" | cut -d'|' -f3-$((n - 1))
  else
    echo "$1" | cut -d'|' -f3-
  fi
}
defines() {
  local n
  n=$(echo "$1" | awk -F'|' '{print NF}')
  if [[ $(field "$1" "$n") == -D* ]]; then field "$1" "$n"; fi
}

echo "model check of the commit protocol (model/README.md)"
start=$SECONDS
# The searches, two at a time; the correct models (large searches) compiled with -O2, the
# wrong variants (found in a fraction of a second) with -O0, which compiles five times faster.
for c in "${checks[@]}"; do
  name=$(field "$c" 1)
  mkdir "$work/$name"
  cp "$here"/*.pml "$work/$name"/
  opt=-O0
  [ "$(expectation "$c")" = ok ] && opt=-O2
  # shellcheck disable=SC2046 # the -D options are words
  printf '%s\0' "$work/$name" "$opt" "$(field "$c" 2)" $(defines "$c") >"$work/$name/args"
  : >"$work/$name/pan.log"  # a search that cannot start leaves it empty: a failure below
done
for c in "${checks[@]}"; do echo "$work/$(field "$c" 1)/args"; done |
  xargs -P 2 -I{} sh -c 'xargs -0 bash "$0" --search < "$1"' "$0" {} || true

failures=0
for c in "${checks[@]}"; do
  name=$(field "$c" 1) model=$(field "$c" 2) expect=$(expectation "$c")
  read -r -a defs <<<"$(defines "$c")"
  dir="$work/$name"
  log="$dir/pan.log"
  first=""
  if [ -f "$dir/$model.trail" ]; then
    first=$(cd "$dir" && spin -t "${defs[@]}" "$model" 2>/dev/null | grep "MODEL:" |
      sed 's/^ *MODEL: //' | head -n 1)
  fi
  if [ "$expect" = ok ]; then
    states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log")
    if grep -q "errors: 0" "$log" &&
      ! grep -qiE "search not completed|depth too small|out of memory|memlim" "$log"; then
      printf 'ok    %-30s no error in a complete search of %s states\n' "$name" "$states"
    else
      printf 'FAIL  %-30s expected no error in a complete search; %s\n' "$name" "${first:-}"
      grep -E "errors:|assertion|Search not|depth too small|memory" "$log" |
        sed 's/^/      /' || true
      failures=$((failures + 1))
    fi
  elif grep -q "errors: [1-9]" "$log" && [ -n "$first" ] && echo "$first" | grep -qE "$expect"; then
    printf 'ok    %-30s caught: %s\n' "$name" "$first"
  else
    printf 'FAIL  %-30s expected a counterexample matching /%s/, got: %s\n' "$name" "$expect" \
      "${first:-none}"
    grep -E "errors:|assertion" "$log" | sed 's/^/      /' || true
    failures=$((failures + 1))
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "model/check.sh: $failures check(s) failed after $((SECONDS - start))s" \
    "(KEEP=1 keeps the trails)"
  exit 1
fi
echo "model/check.sh: the protocol holds on these bounds and every wrong variant is caught" \
  "($((SECONDS - start))s)"
