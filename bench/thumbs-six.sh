#!/usr/bin/env bash
# The thumbnail task's real work: six outputs (150/400/1024 px, WebP and
# JPEG, Q80) per image, from one decode (vips Thumbnails, session 4) vs the
# pre-session-4 way (a 1024 px PNG, written, then decoded again for each
# output), interleaved round by round, same files, same concurrency.
# Prints every run and the median ratios.
#   bench/thumbs-six.sh [ROUNDS] [CONCURRENCY] [SET]   (default 3 2 jpg)
set -euo pipefail
R=${1:-3}
C=${2:-2}
SET=${3:-jpg}
B=/tmp/stor-bench
cd "$(dirname "$0")/.."
go build -o "$B/bin/thumbs" ./bench/thumbs
OUT=$B/thumbs-six-runs.txt
: >"$OUT"
for r in $(seq "$R"); do
  tools="six six-png"
  [ $((r % 2)) = 0 ] && tools="six-png six"
  for tool in $tools; do
    echo "round=$r $("$B/bin/thumbs" -tool $tool -warm 1 -dir "$B/data/thumbs/$SET" -c "$C")" | tee -a "$OUT"
  done
done
med() { grep "tool=$1 " "$OUT" | sed "s/.* $2=\([0-9.]*\).*/\1/" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
n=$(med six throughput) o=$(med six-png throughput) nc=$(med six cpu_per_image) oc=$(med six-png cpu_per_image)
printf '%s six outputs, median of %s: one decode %s img/s vs PNG base %s img/s = %.2f× | CPU per image %s ms vs %s ms = %.2f× less\n' \
  "$SET" "$R" "$n" "$o" "$(echo "$n / $o" | bc -l)" "$nc" "$oc" "$(echo "$oc / $nc" | bc -l)"
