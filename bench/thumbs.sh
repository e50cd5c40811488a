#!/usr/bin/env bash
# Thumbnail benchmark, stor vs imgproxy vs ImageMagick, interleaved:
# imgproxy runs for the whole benchmark and each round times stor (in
# process, vips.Engine.Thumbnail as the thumbnail task calls it, at the
# task's default quality 80 like imgproxy's) and imgproxy (over loopback
# HTTP) on the same directory, the order alternating by round. Before the
# timed rounds each tool gets an untimed warm-up pass over the set (page
# cache, libvips start-up, imgproxy's buffer pools), and every run also
# does WARM untimed images first, CONCURRENCY at a time (stor runs in a
# fresh process per run: each of its worker threads must have run once
# before the clock starts, as imgproxy's long-lived ones have). The last round also times ImageMagick
# (`convert FILE -thumbnail 400x400 OUT.jpg`, one process per image, same
# concurrency) after stor: it takes minutes per set, so it runs once, last
# (CONVERT=0 leaves it out).
# Prints every run with its per-round ratio (stor ÷ imgproxy of the same
# round: the two ran back to back), then per set the median and the best
# of the rounds for throughput and for CPU per image (CPU time of the
# process doing the work, from the same runs: steadier than wall time on
# a shared machine), and stor ÷ ImageMagick from the last round.
# Needs bench/setup.sh and bench/gen.sh first.
#   bench/thumbs.sh [ROUNDS] [CONCURRENCY] [SET...]   (sets: jpg tif; default both; ROUNDS default 7)
set -euo pipefail
R=${1:-7}
C=${2:-2}
shift 2 2>/dev/null || shift $#
SETS=${*:-jpg tif}
WARM=${WARM:-2}
B=/tmp/stor-bench
D=$B/data
PORT=${PORT:-28081}
cd "$(dirname "$0")/.."
go build -o "$B/bin/thumbs" ./bench/thumbs
IMGPROXY_TIMEOUT=120 IMGPROXY_BIND=127.0.0.1:$PORT IMGPROXY_LOCAL_FILESYSTEM_ROOT=$D IMGPROXY_MAX_SRC_RESOLUTION=200 \
  "$B/bin/imgproxy" >"$B/imgproxy.log" 2>&1 &
IPID=$!
trap 'kill $IPID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done
run() { # run TOOL SET [flags]
  local tool=$1 set=$2
  shift 2
  "$B/bin/thumbs" -tool "$tool" -pid $IPID ${THREADS:+-threads $THREADS} -imgproxy "http://127.0.0.1:$PORT" -dir "$D/thumbs/$set" -c "$C" "$@"
}
echo "== uptime: $(uptime)"
for set in $SETS; do for tool in stor imgproxy; do run $tool "$set" >/dev/null; done; done # warm-up
OUT=$B/thumbs-runs.txt
: >"$OUT"
field() { sed "s/.* $1=\([0-9.]*\).*/\1/"; }
for r in $(seq "$R"); do
  tools="stor imgproxy"
  [ $((r % 2)) = 0 ] && tools="imgproxy stor"
  [ "$r" = "$R" ] && [ "${CONVERT:-1}" != 0 ] && tools="$tools convert"
  for set in $SETS; do
    for tool in $tools; do
      line=$(run $tool "$set" -warm "$WARM")
      echo "round=$r set=$set $line" >>"$OUT"
      echo "round=$r set=$set $line"
    done
    s=$(grep "^round=$r set=$set tool=stor " "$OUT" | field throughput)
    i=$(grep "^round=$r set=$set tool=imgproxy " "$OUT" | field throughput)
    sc=$(grep "^round=$r set=$set tool=stor " "$OUT" | field cpu_per_image)
    ic=$(grep "^round=$r set=$set tool=imgproxy " "$OUT" | field cpu_per_image)
    printf 'round=%s set=%s ratio: stor ÷ imgproxy throughput %.2f×, CPU per image imgproxy ÷ stor %.2f×\n' "$r" "$set" \
      "$(echo "$s / $i" | bc -l)" "$(echo "$ic / $sc" | bc -l)" | tee -a "$OUT"
  done
done
echo "== uptime: $(uptime)"
echo "== $R rounds: median and best (images/s: highest is best; CPU ms per image: lowest is best)"
for set in $SETS; do
  vals() { grep "set=$set tool=$1 " "$OUT" | field "$2" | sort -g; }
  med() { vals "$1" "$2" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  st=$(med stor throughput) it=$(med imgproxy throughput) sc=$(med stor cpu_per_image) ic=$(med imgproxy cpu_per_image)
  printf '%s median: stor %s img/s, imgproxy %s img/s, stor ÷ imgproxy %.2f× | CPU per image: stor %s ms, imgproxy %s ms, imgproxy ÷ stor %.2f×\n' \
    "$set" "$st" "$it" "$(echo "$st / $it" | bc -l)" "$sc" "$ic" "$(echo "$ic / $sc" | bc -l)"
  st=$(vals stor throughput | tail -1) it=$(vals imgproxy throughput | tail -1) sc=$(vals stor cpu_per_image | head -1) ic=$(vals imgproxy cpu_per_image | head -1)
  printf '%s best:   stor %s img/s, imgproxy %s img/s, stor ÷ imgproxy %.2f× | CPU per image: stor %s ms, imgproxy %s ms, imgproxy ÷ stor %.2f×\n' \
    "$set" "$st" "$it" "$(echo "$st / $it" | bc -l)" "$sc" "$ic" "$(echo "$ic / $sc" | bc -l)"
  rr=$(grep "^round=.* set=$set ratio:" "$OUT" | sed 's/.*throughput \([0-9.]*\)×.*/\1/' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR]}')
  echo "$set per-round stor ÷ imgproxy throughput: median min max = $rr"
  if grep -q "round=$R set=$set tool=convert " "$OUT"; then
    rl() { grep "round=$R set=$set tool=$1 " "$OUT" | field throughput; }
    sl=$(rl stor) ml=$(rl convert)
    printf '%s: round %s: stor %s img/s, ImageMagick convert %s img/s, stor ÷ ImageMagick %.1f×\n' "$set" "$R" "$sl" "$ml" "$(echo "$sl / $ml" | bc -l)"
  fi
done
