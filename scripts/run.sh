#!/usr/bin/env bash
# Quick start: install what a fresh Debian 12 machine lacks, build stor into
# bin/, and run `stor serve` on the embedded default (./stor-data, SQLite,
# local disk, http://127.0.0.1:8080). Arguments are passed to `stor serve`,
# e.g. ./scripts/run.sh --addr 0.0.0.0:8080. The first start prints the URL
# and the admin token.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
if ! command -v go >/dev/null 2>&1; then
  echo "run.sh: Go 1.26 or newer is needed (https://go.dev/dl/)" >&2
  exit 1
fi
./scripts/build-web.sh
mkdir -p bin
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
go build -ldflags "-X stor/internal/node.Version=${version}" -o bin/stor ./cmd/stor
exec bin/stor serve "$@"
