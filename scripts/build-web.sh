#!/usr/bin/env bash
# Builds the web UI bundle into internal/webui/dist (embedded by go build).
# Idempotent and quick when nothing changed: `npm ci` runs only when
# node_modules is missing or package-lock.json changed since the last
# install, and esbuild runs only when the sources, the build script or the
# lock file changed (or the bundle is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "build-web: Node.js 18+ and npm are needed (scripts/setup.sh installs them)" >&2
  exit 1
fi

web=web
lock_sum="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
lock_stamp="$web/node_modules/.stor-lock-sha256"
if [ ! -d "$web/node_modules" ] || [ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "build-web: npm ci" >&2
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$lock_stamp"
fi

src_sum="$( (cd "$web" && find src build.mjs package-lock.json -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)"
build_stamp="$web/node_modules/.stor-build-sha256"
if [ -f internal/webui/dist/index.html ] && [ "$(cat "$build_stamp" 2>/dev/null)" = "$src_sum" ]; then
  exit 0
fi
(cd "$web" && node build.mjs)
echo "$src_sum" >"$build_stamp"
