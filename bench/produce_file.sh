#!/usr/bin/env bash
# produce_file.sh: times `onceflow produce` on a file of 1,000,000 lines (one record per line)
# and prints records/s and MB/s: the end-to-end figure of the command a user runs, to compare
# with log_append_bench's library-level figures. See bench/README.md.
#
# usage: bench/produce_file.sh [--bin PATH] [--dir DIR] [--lines N] [--line-bytes B]
#                              [--partitions P] [--durability fsync|none] [--reps N] [--keep]
#   --bin         the onceflow binary (default: <repo>/build/onceflow)
#   --dir         work directory for the input file and the data directory; must be on the disk
#                 you want to measure, not tmpfs (default: <dir of the binary>/produce_file.data)
#   --lines       lines in the input file (default 1000000)
#   --line-bytes  bytes per line without the newline (default 100)
#   --partitions  partitions of the topic (default 1)
#   --durability  of the topic (default fsync)
#   --reps        repetitions; the median is reported (default 3)
#   --keep        keep the work directory
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$repo/build/onceflow"
dir=""
lines=1000000
line_bytes=100
partitions=1
durability=fsync
reps=3
keep=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --lines) lines="$2"; shift 2 ;;
    --line-bytes) line_bytes="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --durability) durability="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "produce_file.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$bin" ]]; then
  echo "produce_file.sh: no onceflow binary at $bin (build it: ninja -C build onceflow," \
       "or pass --bin)" >&2
  exit 1
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [[ -z "$dir" ]]; then dir="$(dirname "$bin")/produce_file.data"; fi
if (( line_bytes < 9 )); then echo "produce_file.sh: --line-bytes must be >= 9" >&2; exit 2; fi
mkdir -p "$dir"
fs="$(df --output=fstype "$dir" | tail -1)"
if [[ "$fs" == "tmpfs" ]]; then
  echo "WARNING: $dir is on tmpfs: fsync costs nothing there, the figure means little" >&2
fi

input="$dir/input.txt"
data="$dir/data"
cleanup() { if (( keep == 0 )); then rm -rf "$dir"; fi; }
trap cleanup EXIT

# Lines: an 8-digit line number, a space, then filler: distinct records of a fixed size.
awk -v n="$lines" -v b="$line_bytes" 'BEGIN {
  filler = ""; for (i = 0; i < b - 9; i++) filler = filler sprintf("%c", 97 + i % 26);
  for (i = 0; i < n; i++) printf "%08d %s\n", i, filler;
}' > "$input"
input_bytes=$(stat -c %s "$input")
sync
cat "$input" > /dev/null  # into the page cache: time the produce, not the input's disk reads

echo "onceflow produce: $lines lines of $line_bytes bytes ($input_bytes bytes), topic of" \
     "$partitions partition(s), durability=$durability, $reps reps"
echo "binary: $bin"
echo "dir:    $dir ($fs, $(df -h "$dir" | awk 'NR==2 {print $1", "$2" total, "$4" free"}'))"
echo "date:   $(date -u '+%Y-%m-%d %H:%M:%S UTC'), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"

rates=()
for ((r = 1; r <= reps; r++)); do
  rm -rf "$data"
  if ! out=$("$bin" topics create bench --data "$data" --partitions "$partitions" \
      --durability "$durability" 2>&1); then
    echo "produce_file.sh: topics create failed: $out" >&2
    exit 1
  fi
  sync
  err="$dir/produce.err"
  t0=$(date +%s.%N)
  "$bin" produce bench --data "$data" < "$input" 2> "$err"
  t1=$(date +%s.%N)
  produced=$(sed -n 's/^produced \([0-9]*\) records.*/\1/p' "$err")
  if [[ "$produced" != "$lines" ]]; then
    echo "produce_file.sh: expected $lines records produced, the command said:" >&2
    cat "$err" >&2
    exit 1
  fi
  rate=$(awk -v n="$lines" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
  mbs=$(awk -v n="$input_bytes" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) / 1e6 }')
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  echo "rep $r: $secs s, $rate records/s, $mbs MB/s of input"
  rates+=("$rate")
done

median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
median_mbs=$(awk -v r="$median" -v n="$input_bytes" -v l="$lines" 'BEGIN { printf "%.1f", r * n / l / 1e6 }')
echo "median: $median records/s ($median_mbs MB/s of input lines)"
