#!/usr/bin/env bash
# Runs the official IIIF Image API validator (github.com/IIIF/image-validator)
# against a real `stor serve`: Image API 3.0 at level 2 (/iiif/3) and 2.x at
# level 1 and 2 (/iiif/2), on the validator's own test image, served once from
# its original (a 1000x1000 PNG, below the pyramid threshold) and once from a
# tiled pyramid (a second server with STOR_PYRAMID_MIN_SIZE=256, so the image
# gets a pyramid and IIIF reads it). The asset is made public, since the
# validator sends no credentials. Prints every test's PASS/FAIL and a summary;
# exits non-zero on any failure.
#
#   scripts/iiif-validate.sh VALIDATOR        # a checkout, or a bare git dir (archived to a temp dir)
#
# Needs /usr/bin/python3 with python3-pil python3-lxml python3-bottle
# python3-magic (STOR_SETUP_TESTS=1 scripts/setup.sh installs them).
set -euo pipefail
V=${1:?usage: scripts/iiif-validate.sh VALIDATOR_CHECKOUT}
cd "$(dirname "$0")/.."
W=$(mktemp -d /tmp/stor-iiif-validate.XXXXXX)
PIDS=""
trap 'kill $PIDS 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
if [ ! -f "$V/iiif-validate.py" ]; then
  # A bare repository (e.g. the fetch tool's mirror): take its HEAD.
  mkdir -p "$W/validator"
  git --git-dir="$V" archive HEAD | tar -x -C "$W/validator"
  V=$W/validator
fi
IMG=$V/html/67352ccc-d1b0-11e1-89ae-279075081939.png
[ -f "$IMG" ] || { echo "no test image at $IMG" >&2; exit 2; }
go build -o "$W/stor" ./cmd/stor
TOKEN=iiif-validate-token-0123456789
PORT=${PORT:-28590}
FAILS=0
SUMMARY=""

serve() { # name port [env...]
  local name=$1 port=$2
  shift 2
  env STOR_DATA_DIR="$W/$name" STOR_ADDR=127.0.0.1:$port STOR_PUBLIC_URL=http://127.0.0.1:$port \
    STOR_BOOTSTRAP_TOKEN=$TOKEN STOR_LOG_LEVEL=warn "$@" "$W/stor" serve >"$W/$name.log" 2>&1 &
  PIDS="$PIDS $!"
  for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && return 0; sleep 0.1; done
  curl -fs -o /dev/null "http://127.0.0.1:$port/api/v1/assets" -H "Authorization: Bearer $TOKEN" && return 0
  echo "stor did not start:" >&2; cat "$W/$name.log" >&2; return 1
}

ingest() { # port -> asset id (public, ready)
  local s=http://127.0.0.1:$1 id state
  id=$(curl -fsS -H "Authorization: Bearer $TOKEN" -F file=@"$IMG" "$s/api/v1/assets" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" -X PUT -d '{"visibility":"public"}' "$s/api/v1/assets/$id/visibility"
  for _ in $(seq 600); do
    state=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$s/api/v1/assets/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    [ "$state" = ready ] && { echo "$id"; return 0; }
    [ "$state" = failed ] && break
    sleep 0.2
  done
  echo "asset $id did not become ready (state $state)" >&2
  curl -sS -H "Authorization: Bearer $TOKEN" "$s/api/v1/assets/$id/tasks" >&2
  return 1
}

validate() { # label port id
  local label=$1 port=$2 id=$3 run out rc
  for run in "iiif/3 3.0 2" "iiif/2 2.0 1" "iiif/2 2.0 2"; do
    set -- $run
    echo "== $label: /$1, validator --version=$2 --level $3, id $id"
    rc=0
    out=$(cd "$V" && /usr/bin/python3 iiif-validate.py -s "127.0.0.1:$port" -p "$1" -i "$id" --version="$2" --level "$3" 2>&1) || rc=$?
    echo "$out"
    SUMMARY="$SUMMARY$label /$1 $2 level $3: $(echo "$out" | grep -o 'Done (.*)')"$'\n'
    [ "$rc" = 0 ] || FAILS=$((FAILS + 1))
  done
}

serve original "$PORT"
ID=$(ingest "$PORT")
validate original "$PORT" "$ID"
serve pyramid $((PORT + 1)) STOR_PYRAMID_MIN_SIZE=256
ID=$(ingest $((PORT + 1)))
curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$((PORT + 1))/api/v1/assets/$ID/derivatives" | grep -q '"pyramid"' ||
  { echo "the pyramid server made no pyramid" >&2; exit 1; }
validate pyramid $((PORT + 1)) "$ID"

echo "== summary (validator $(git --git-dir="${1%/}" rev-parse --short HEAD 2>/dev/null || git -C "$V" rev-parse --short HEAD 2>/dev/null || echo checkout))"
printf '%s' "$SUMMARY"
[ "$FAILS" = 0 ] && echo "all passed" || { echo "$FAILS runs failed"; exit 1; }
