#!/usr/bin/env bash
# Installs every system package stor needs on Debian 12, idempotently.
# Run as root (or with sudo available). Safe to run again: it only installs
# what is missing.
set -euo pipefail

# Runtime: media tools the pipeline shells out to or links against.
RUNTIME_PKGS=(
  ca-certificates
  libvips-dev libvips-tools
  libjpeg62-turbo-dev  # internal/vips decodes pyramid tiles with libjpeg (also a libvips-dev dependency)
  libimage-exiftool-perl
  dcraw
  ffmpeg
  poppler-utils
  tesseract-ocr tesseract-ocr-eng
  libreoffice-core libreoffice-writer libreoffice-calc libreoffice-impress python3-uno
  pkg-config
)
# Tests and benchmarks: real peers and tools the test suite uses. The python3
# packages are what the official IIIF image validator needs (run by hand,
# see internal/iiifserver/validator_test.go).
TEST_PKGS=(
  chromium
  imagemagick
  python3-pil python3-lxml python3-bottle python3-magic
  procps
  psmisc
  qpdf
)

# Building the web UI needs Node.js and npm (the browser tests need Node 20+,
# as this machine kind has); a machine without any gets Debian's (18: builds only).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  RUNTIME_PKGS+=(nodejs npm)
fi

want=("${RUNTIME_PKGS[@]}")
if [ "${STOR_SETUP_TESTS:-0}" = 1 ]; then
  want+=("${TEST_PKGS[@]}")
fi

# MinIO (tests only): the S3 server the storage, replica and node tests start
# on loopback. Built from the Go module proxy once (~4.5 min) and cached
# outside the repo; the tests find it there (or via STOR_MINIO_BIN).
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
if [ "${STOR_SETUP_TESTS:-0}" = 1 ]; then
  minio_bin="${XDG_CACHE_HOME:-$HOME/.cache}/stor/bin"
  if [ ! -x "$minio_bin/minio" ] || [ "$(cat "$minio_bin/minio.version" 2>/dev/null)" != "$MINIO_VERSION" ]; then
    echo "setup: building MinIO $MINIO_VERSION into $minio_bin (takes minutes)" >&2
    mkdir -p "$minio_bin"
    (cd / && GOBIN="$minio_bin" go install "github.com/minio/minio@$MINIO_VERSION")
    echo "$MINIO_VERSION" >"$minio_bin/minio.version"
  fi
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
