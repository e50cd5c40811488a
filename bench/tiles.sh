#!/usr/bin/env bash
# Tile benchmark: random 256px tiles from the 20000x20000 pyramid made by
# gen.sh, stor's /iiif/2 vs iipsrv behind nginx, same URLs, same
# concurrency, loopback only. Both servers run for the whole benchmark and
# are measured in turns (round r: aligned then arbitrary, each server in
# turn, the order alternating by round; round r uses URL seed r for
# everyone), so a noisy machine hits both alike. Prints every run, then the
# best of the rounds per server and the ratios, and peak RSS.
# Needs bench/setup.sh and bench/gen.sh first.
#   bench/tiles.sh [CONCURRENCY] [ALIGNED_N] [ARBITRARY_N] [ROUNDS]
# STOR_BEFORE=/path/to/stor adds an older stor binary as a third server
# (e.g. main's, for before/after figures).
set -euo pipefail
C=${1:-8}
NA=${2:-4000}
NR=${3:-600}
R=${4:-3}
B=/tmp/stor-bench
D=$B/data
TOKEN=bench-token-0123456789abcdef
SPORT=${SPORT:-28480} OPORT=${OPORT:-28481} NPORT=${NPORT:-28490} FPORT=${FPORT:-29400}
cd "$(dirname "$0")/.."
mkdir -p "$B/bin"
go build -o "$B/bin/stor" ./cmd/stor
go build -o "$B/bin/load" ./bench/load
go build -o "$B/bin/tileprep" ./bench/tileprep

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; } # KiB
waitfor() { for _ in $(seq 100); do curl -fs -o /dev/null "$@" && return 0; sleep 0.1; done; echo "not ready: $*" >&2; return 1; }
PIDS=""
trap 'kill $PIDS 2>/dev/null || true' EXIT

declare -A BASE TOK
start_stor() { # name binary port
  local name=$1 bin=$2 port=$3
  rm -rf "$B/$name"
  local id
  id=$("$B/bin/tileprep" -data "$B/$name" -pyramid "$D/tiles/big.tif" -token "$TOKEN")
  STOR_DATA_DIR=$B/$name STOR_ADDR=127.0.0.1:$port STOR_WORKERS=0 STOR_LOG_LEVEL=warn "$bin" serve >"$B/$name.log" 2>&1 &
  eval "PID_$name=$!"
  PIDS="$PIDS $!"
  waitfor -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/iiif/2/$id/info.json"
  BASE[$name]="http://127.0.0.1:$port/iiif/2/$id"
  TOK[$name]=$TOKEN
}
SERVERS="stor"
start_stor stor "$B/bin/stor" "$SPORT"
if [ -n "${STOR_BEFORE:-}" ]; then
  start_stor before "$STOR_BEFORE" "$OPORT"
  SERVERS="$SERVERS before"
fi

N=$B/nginx
rm -rf "$N"; mkdir -p "$N/tmp"
cat >"$N/nginx.conf" <<CONF
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $N/tmp; fastcgi_temp_path $N/tmp; proxy_temp_path $N/tmp;
  uwsgi_temp_path $N/tmp; scgi_temp_path $N/tmp;
  server {
    listen 127.0.0.1:$NPORT;
    location ~ ^/iiif/(.*)\$ {
      fastcgi_pass 127.0.0.1:$FPORT;
      fastcgi_param QUERY_STRING IIIF=/\$1;
      fastcgi_param REQUEST_METHOD \$request_method;
      fastcgi_param REQUEST_URI \$request_uri;
      fastcgi_param SERVER_NAME \$server_name;
      fastcgi_param SERVER_PORT \$server_port;
      fastcgi_param SERVER_PROTOCOL \$server_protocol;
      fastcgi_param HTTP_HOST \$host;
    }
  }
}
CONF
# One iipsrv process per core, as stor uses every core.
FPIDS=$(FILESYSTEM_PREFIX=$D/tiles/ BASE_URL=http://127.0.0.1:$NPORT/iiif JPEG_QUALITY=85 CORS='*' \
  VERBOSITY=0 spawn-fcgi -a 127.0.0.1 -p $FPORT -F "$(nproc)" -- /usr/lib/iipimage-server/iipsrv.fcgi |
  sed -n 's/.*PID: \([0-9]*\).*/\1/p' | tr '\n' ' ')
/usr/sbin/nginx -c "$N/nginx.conf" -p "$N" -g 'daemon off;' &
NPID=$!
PIDS="$PIDS $NPID $FPIDS"
waitfor "http://127.0.0.1:$NPORT/iiif/big.tif/info.json"
BASE[iipsrv]="http://127.0.0.1:$NPORT/iiif/big.tif"
TOK[iipsrv]=""
SERVERS="$SERVERS iipsrv"

OUT=$B/tiles-runs.txt
: >"$OUT"
for r in $(seq "$R"); do
  order=$SERVERS
  if [ $((r % 2)) = 0 ]; then order=$(echo "$SERVERS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
  for mode in aligned arbitrary; do
    n=$NA; [ $mode = arbitrary ] && n=$NR
    for s in $order; do
      line=$("$B/bin/load" -base "${BASE[$s]}" -mode $mode -n "$n" -c "$C" -seed "$r" -token "${TOK[$s]}")
      echo "round=$r server=$s $line" | tee -a "$OUT"
    done
  done
done

echo "== best of $R rounds (requests/s; p50/p99 of that run)"
best() { # server mode -> "rps p50 p99"
  grep "server=$1 mode=$2 " "$OUT" | sed 's/.*rps=\([0-9.]*\) p50=\([0-9.]*\)ms p99=\([0-9.]*\)ms.*/\1 \2 \3/' | sort -k1,1 -gr | head -1
}
for mode in aligned arbitrary; do
  read -r ip _ _ <<<"$(best iipsrv $mode)"
  for s in $SERVERS; do
    read -r rps p50 p99 <<<"$(best "$s" $mode)"
    printf '%-9s %-7s %8.1f req/s  p50 %7.2f ms  p99 %8.2f ms  ÷ iipsrv %.2f×\n' "$mode" "$s" "$rps" "$p50" "$p99" "$(echo "$rps / $ip" | bc -l)"
  done
done
echo "stor peak RSS: $(( $(hwm "$PID_stor") / 1024 )) MiB"
if [ -n "${STOR_BEFORE:-}" ]; then echo "before peak RSS: $(( $(hwm "$PID_before") / 1024 )) MiB"; fi
tot=0
for p in $FPIDS; do tot=$((tot + $(hwm "$p"))); done
echo "iipsrv peak RSS: $((tot / 1024)) MiB over $(echo $FPIDS | wc -w) processes (sum of each one's peak); nginx master+worker: $(( ($(hwm $NPID) + $(for p in $(pgrep -P $NPID); do hwm $p; done | awk '{s+=$1} END {print s+0}')) / 1024 )) MiB"
