#!/usr/bin/env bash
# Runs every test: installs the test packages (idempotently), then go vet, a
# gofmt check and `go test ./...`. Works unattended (CI=true, no stdin).
# Extra arguments go to `go test`, e.g. ./scripts/test.sh -run TestAuth ./internal/api
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

STOR_SETUP_TESTS=1 ./scripts/setup.sh

echo "== go vet"
go vet ./...

echo "== gofmt"
unformatted="$(gofmt -l $(go list -f '{{.Dir}}' ./...) | sort -u)"
if [ -n "$unformatted" ]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go test"
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then pkgs=(./...); fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
go test -count=1 -timeout 30m "${pkgs[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo "== summary"
grep -E '^(ok|FAIL|---|panic)' "$log" | grep -v '^--- PASS' || true
echo "packages: $(grep -c '^ok' "$log") ok, $(grep -c '^FAIL' "$log") failed, $(grep -c 'no test files' "$log") without tests"
if [ "$status" -ne 0 ]; then
  echo "TESTS FAILED" >&2
else
  echo "ALL TESTS PASSED"
fi
exit "$status"
