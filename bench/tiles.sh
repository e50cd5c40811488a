#!/usr/bin/env bash
# Tile benchmark: random 256px tiles from the 20000x20000 pyramid made by
# gen.sh, stor's /iiif/2 vs iipsrv behind nginx, same URLs, same
# concurrency, loopback only. Prints requests/s, p50/p99 and peak RSS.
# Needs bench/setup.sh and bench/gen.sh first.
#   bench/tiles.sh [CONCURRENCY] [ALIGNED_N] [ARBITRARY_N]
set -euo pipefail
C=${1:-8}
NA=${2:-4000}
NR=${3:-600}
B=/tmp/stor-bench
D=$B/data
TOKEN=bench-token-0123456789abcdef
SPORT=${SPORT:-28480} NPORT=${NPORT:-28490} FPORT=${FPORT:-29400}
cd "$(dirname "$0")/.."
mkdir -p "$B/bin"
go build -o "$B/bin/stor" ./cmd/stor
go build -o "$B/bin/load" ./bench/load
go build -o "$B/bin/tileprep" ./bench/tileprep

hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; } # KiB
waitfor() { for _ in $(seq 100); do curl -fs -o /dev/null "$@" && return 0; sleep 0.1; done; echo "not ready: $*" >&2; return 1; }

echo "== stor"
rm -rf "$B/stor"
ID=$("$B/bin/tileprep" -data "$B/stor" -pyramid "$D/tiles/big.tif" -token "$TOKEN")
STOR_DATA_DIR=$B/stor STOR_ADDR=127.0.0.1:$SPORT STOR_WORKERS=0 STOR_LOG_LEVEL=warn "$B/bin/stor" serve >"$B/stor.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null || true' EXIT
waitfor -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SPORT/iiif/2/$ID/info.json"
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SPORT/iiif/2/$ID/info.json" | tr -d ' \n' | head -c 400; echo
for mode in aligned arbitrary; do
  n=$NA; [ $mode = arbitrary ] && n=$NR
  "$B/bin/load" -base "http://127.0.0.1:$SPORT/iiif/2/$ID" -mode $mode -n "$n" -c "$C" -token "$TOKEN"
done
echo "stor peak RSS: $(( $(hwm $SPID) / 1024 )) MiB"
kill $SPID; wait $SPID 2>/dev/null || true

echo "== iipsrv"
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
trap 'kill $NPID $FPIDS 2>/dev/null || true' EXIT
waitfor "http://127.0.0.1:$NPORT/iiif/big.tif/info.json"
curl -s "http://127.0.0.1:$NPORT/iiif/big.tif/info.json" | tr -d ' \n' | head -c 400; echo
for mode in aligned arbitrary; do
  n=$NA; [ $mode = arbitrary ] && n=$NR
  "$B/bin/load" -base "http://127.0.0.1:$NPORT/iiif/big.tif" -mode $mode -n "$n" -c "$C"
done
tot=0
for p in $FPIDS; do tot=$((tot + $(hwm "$p"))); done
echo "iipsrv peak RSS: $((tot / 1024)) MiB over $(echo $FPIDS | wc -w) processes (sum of each one's peak); nginx master+worker: $(( ($(hwm $NPID) + $(for p in $(pgrep -P $NPID); do hwm $p; done | awk '{s+=$1} END {print s+0}')) / 1024 )) MiB"
