#!/usr/bin/env bash
# Runs every test: installs the test packages (idempotently), then go vet, a
# gofmt check and `go test ./...`. Works unattended (CI=true, no stdin).
# Extra arguments go to `go test`, e.g. ./scripts/test.sh -run TestAuth ./internal/api
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

STOR_SETUP_TESTS=1 ./scripts/setup.sh

echo "== web UI bundle"
./scripts/build-web.sh

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
# -v so the summary can count tests; the console shows only results and
# failure messages, the full output stays in $log until the end.
go test -count=1 -timeout 30m -v "${pkgs[@]}" >"$log" 2>&1 &
gotest=$!
# The scale-out backend: the API suite (every test that starts a node with
# nodetest) once more on PostgreSQL (STOR_TEST_BACKEND=postgres), in
# parallel with the rest, so CI covers both backends without taking twice
# as long (cmd/stor's cluster tests are the long pole). Only for the full
# run; `scripts/test.sh ./internal/api/` runs SQLite only.
pglog="$(mktemp)"
trap 'rm -f "$log" "$pglog"' EXIT
pgtest=
if [ "$#" -eq 0 ]; then
  STOR_TEST_BACKEND=postgres go test -count=1 -timeout 30m -v ./internal/api/... >"$pglog" 2>&1 &
  pgtest=$!
fi
tail -n +1 -f --pid=$gotest "$log" | grep --line-buffered -E '^(ok|FAIL|--- FAIL|--- SKIP|panic)|^\s+\S+\.go:[0-9]+:|\[build failed\]|cannot|undefined' || true
wait $gotest
status=$?
if [ -n "$pgtest" ]; then
  wait $pgtest
  pgstatus=$?
  echo "== go test on PostgreSQL (STOR_TEST_BACKEND=postgres ./internal/api/...)"
  grep -E '^(ok|FAIL|--- FAIL|--- SKIP|panic)|^\s+\S+\.go:[0-9]+:|\[build failed\]' "$pglog" | grep -v '^\s*{"time"' || true
  if [ "$pgstatus" -ne 0 ] && [ "$status" -eq 0 ]; then status=$pgstatus; fi
  # Counted in the summary, the package lines marked "(postgres)".
  sed -E 's/^(ok|FAIL)([[:space:]]+stor[^[:space:]]*)/\1\2 (postgres)/' "$pglog" >>"$log"
fi
set -e
echo "== summary"
grep -E '^(ok|FAIL)\s' "$log" || true
pass=$(grep -cE '^\s*--- PASS' "$log" || true)
fail=$(grep -cE '^\s*--- FAIL' "$log" || true)
skip=$(grep -cE '^\s*--- SKIP' "$log" || true)
echo "tests (with subtests): ${pass} passed, ${fail} failed, ${skip} skipped"
echo "packages: $(grep -cE '^ok\s' "$log" || true) ok, $(grep -cE '^FAIL\s' "$log" || true) failed"
if [ "$status" -ne 0 ]; then
  echo "TESTS FAILED (exit $status)" >&2
else
  echo "ALL TESTS PASSED"
fi
exit "$status"
