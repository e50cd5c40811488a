#!/usr/bin/env bash
# Runs the ingest benchmark (not part of CI): builds stor, starts it on a
# fresh data dir under bench/out/ (the repository's disk), and compares
# POST /api/v1/assets with dd conv=fdatasync. Flags go to ingestbench, e.g.
#   ./bench/run.sh -big-size 268435456 -small 1000
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dd >/dev/null
exec go run ./bench/cmd/ingestbench "$@"
