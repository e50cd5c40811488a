#!/usr/bin/env bash
# Thumbnail benchmark, stor vs imgproxy vs ImageMagick, interleaved:
# imgproxy runs for the whole benchmark and each round times stor (in
# process, vips.Engine.Thumbnail as the thumbnail task calls it) and imgproxy
# (over loopback HTTP) on the same directory, the order alternating by round.
# The last round also times ImageMagick (`convert FILE -thumbnail 400x400
# OUT.jpg`, one process per image, same concurrency) after stor: it
# takes minutes per set, so it runs once, last (CONVERT=0 leaves it out).
# Prints every run, the best of the rounds and the ratios (stor ÷
# ImageMagick from the last round, where both ran).
# Needs bench/setup.sh and bench/gen.sh first.
#   bench/thumbs.sh [ROUNDS] [CONCURRENCY] [SET...]   (sets: jpg tif; default both)
set -euo pipefail
R=${1:-3}
C=${2:-2}
shift 2 2>/dev/null || shift $#
SETS=${*:-jpg tif}
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
OUT=$B/thumbs-runs.txt
: >"$OUT"
for r in $(seq "$R"); do
  tools="stor imgproxy"
  [ $((r % 2)) = 0 ] && tools="imgproxy stor"
  [ "$r" = "$R" ] && [ "${CONVERT:-1}" != 0 ] && tools="$tools convert"
  for set in $SETS; do
    for tool in $tools; do
      line=$("$B/bin/thumbs" -tool $tool -pid $IPID ${THREADS:+-threads $THREADS} -imgproxy "http://127.0.0.1:$PORT" -dir "$D/thumbs/$set" -c "$C")
      echo "round=$r set=$set $line" | tee -a "$OUT"
    done
  done
done
echo "== best of $R rounds (images/s, highest; CPU ms per image, lowest)"
for set in $SETS; do
  best() { grep "set=$set tool=$1 " "$OUT" | sed 's/.*throughput=\([0-9.]*\).*/\1/' | sort -gr | head -1; }
  cpu() { grep "set=$set tool=$1 " "$OUT" | sed 's/.*cpu_per_image=\([0-9.]*\).*/\1/' | sort -g | head -1; }
  s=$(best stor) i=$(best imgproxy) sc=$(cpu stor) ic=$(cpu imgproxy)
  printf '%s: stor %s img/s, imgproxy %s img/s, stor ÷ imgproxy %.2f× | CPU per image: stor %s ms, imgproxy %s ms, imgproxy ÷ stor %.2f×\n' \
    "$set" "$s" "$i" "$(echo "$s / $i" | bc -l)" "$sc" "$ic" "$(echo "$ic / $sc" | bc -l)"
  if grep -q "round=$R set=$set tool=convert " "$OUT"; then
    rl() { grep "round=$R set=$set tool=$1 " "$OUT" | sed 's/.*throughput=\([0-9.]*\).*/\1/'; }
    sl=$(rl stor) ml=$(rl convert)
    printf '%s: round %s: stor %s img/s, ImageMagick convert %s img/s, stor ÷ ImageMagick %.1f×\n' "$set" "$R" "$sl" "$ml" "$(echo "$sl / $ml" | bc -l)"
  fi
done
