#!/usr/bin/env bash
# 1 GiB through stor's tus endpoint vs standalone tusd v2.8.0 vs dd, all
# writing to the same disk. Not run in CI. Usage: bench/uploads/run.sh [WORKDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$root/bench/uploads/work}
bin=$root/bench/bin
mkdir -p "$bin" "$work"
rm -rf "$work"/{stor-data,tusd-data,dd.out}
(cd "$root" && go build -o "$bin/stor" ./cmd/stor && go build -o "$bin/tusput" ./bench/uploads/tusput)
if [ ! -x "$bin/tusd" ]; then
  # `go install ...@v2.8.0` needs the proxy's version list; where that is
  # refused, build the same version from a throwaway module.
  GOBIN=$bin go install github.com/tus/tusd/v2/cmd/tusd@v2.8.0 || (
    t=$(mktemp -d) && cd "$t" && go mod init tusdbuild >/dev/null 2>&1 &&
    printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/tus/tusd/v2/cmd/tusd"\n' > tools.go &&
    go get github.com/tus/tusd/v2/cmd/tusd@v2.8.0 && go build -o "$bin/tusd" github.com/tus/tusd/v2/cmd/tusd)
fi
src=$work/src.bin
[ -f "$src" ] || head -c 1073741824 /dev/urandom > "$src"
chunk=$((64 << 20))
token=bench-token-0123456789abcdef

# waitfor URL: until the server answers (a busy machine starts slowly).
waitfor() { for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
runs=${RUNS:-3}
# secs LINE: the seconds in a tusput line ("2.94 s  365 MB/s") or dd's
# summary ("..., 2.19 s, 490 MB/s").
secs() { grep -oE '[0-9]+(\.[0-9]+)? s' <<<"$1" | tail -1 | cut -d' ' -f1; }
summary=()
for run in $(seq "$runs"); do
echo "== run $run: dd (bs=4M conv=fdatasync)"
out=$(dd if="$src" of="$work/dd.out" bs=4M conv=fdatasync 2>&1 | tail -1); echo "$out"
t_dd=$(secs "$out")
rm -f "$work/dd.out"

for sync in nosync fsync; do
echo "== run $run: tusd v2.8.0 (filestore, 64 MiB PATCHes, $sync)"
"$bin/tusd" -host 127.0.0.1 -port 18990 -upload-dir "$work/tusd-data" -base-path /files/ -verbose=false >/dev/null 2>&1 &
tpid=$!
waitfor http://127.0.0.1:18990/files/
if [ $sync = fsync ]; then
  out=$("$bin/tusput" http://127.0.0.1:18990/files/ - "$src" $chunk "$work/tusd-data"); t_tusd_fsync=$(secs "$out")
else
  out=$("$bin/tusput" http://127.0.0.1:18990/files/ - "$src" $chunk); t_tusd=$(secs "$out")
fi
echo "$out"
kill $tpid; wait $tpid 2>/dev/null || true
rm -rf "$work/tusd-data"
done

for md5 in inline deferred; do
echo "== run $run: stor tus, STOR_INGEST_MD5=$md5 (SHA-256$( [ $md5 = inline ] && echo ' + MD5') as bytes arrive, O_DIRECT writes, checkpoint every 256 MiB, one fsync before commit by rename; 64 MiB PATCHes)"
STOR_DATA_DIR=$work/stor-data STOR_ADDR=127.0.0.1:18991 STOR_BOOTSTRAP_TOKEN=$token STOR_WORKERS=0 \
  STOR_INGEST_MD5=$md5 STOR_LOG_LEVEL=error "$bin/stor" serve >/dev/null 2>&1 &
spid=$!
waitfor http://127.0.0.1:18991/healthz
out=$("$bin/tusput" http://127.0.0.1:18991/uploads/ $token "$src" $chunk); echo "$out"
if [ $md5 = inline ]; then t_inline=$(secs "$out"); else t_deferred=$(secs "$out"); fi
kill $spid; wait $spid 2>/dev/null || true
rm -rf "$work/stor-data"
done
# Speed ratios (>1 is stor faster): peer time / stor time.
summary+=("$(awk -v r=$run -v dd=$t_dd -v td=$t_tusd -v tf=$t_tusd_fsync -v si=$t_inline -v sd=$t_deferred 'BEGIN {
  printf "| %d | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f |", r, dd, td, tf, si, sd, dd/si, dd/sd, tf/si, tf/sd, td/si, td/sd }')")
done
echo
echo "| run | dd | tusd | tusd + fsync | stor inline MD5 | stor deferred MD5 | stor ÷ dd (inline / deferred) | stor ÷ tusd+fsync | stor ÷ tusd |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
