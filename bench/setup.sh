#!/usr/bin/env bash
# Installs the benchmark peers (not needed by stor or its tests):
#   - iipsrv (Debian iipimage-server) behind nginx via spawn-fcgi;
#   - imgproxy v3.31.4 built from the Go module proxy (links libvips via cgo);
#   - ImageMagick (/usr/bin/convert), already a test package.
# Usage: bench/setup.sh [BIN_DIR]   (default /tmp/stor-bench/bin)
# Idempotent; run as root or with sudo.
set -euo pipefail
BIN=${1:-/tmp/stor-bench/bin}
mkdir -p "$BIN"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
missing=()
for p in iipimage-server spawn-fcgi nginx imagemagick libvips-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts a system nginx; the benchmark runs its own.
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
fi

if [ ! -x "$BIN/imgproxy" ]; then
  # `go install` is refused for imgproxy; download the module and build it.
  dir=$(go mod download -json github.com/imgproxy/imgproxy/v3@v3.31.4 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  work=$(mktemp -d)
  cp -r "$dir" "$work/imgproxy"
  chmod -R u+w "$work/imgproxy"
  (cd "$work/imgproxy" && CGO_ENABLED=1 go build -o "$BIN/imgproxy" .)
  rm -rf "$work"
fi
echo "bench peers ready in $BIN"
