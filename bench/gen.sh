#!/usr/bin/env bash
# Generates the benchmark images with libvips' CLI (deterministic sizes,
# photo-like content: smoothed colour noise over gradients).
#   thumbs/jpg: 20 JPEGs of 6000x4000 (24 MP), Q90
#   thumbs/tif: 5 TIFFs of 10000x10000 (100 MP), 8-bit RGB, uncompressed strips
#   tiles/big.tif: a 20000x20000 pyramid, 256 JPEG tiles Q85, one level per page
#                  (exactly what stor's pyramid task writes)
# Usage: bench/gen.sh [DIR]  (default /tmp/stor-bench/data)
set -euo pipefail
D=${1:-/tmp/stor-bench/data}
mkdir -p "$D/thumbs/jpg" "$D/thumbs/tif" "$D/tiles"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

photo() { # photo W H OUT[options] SEED
  local w=$1 h=$2 out=$3 seed=$4
  vips gaussnoise "$T/n.v" $((w / 8)) $((h / 8)) --sigma 60 --mean 128 --seed "$seed"
  vips gaussnoise "$T/n2.v" $((w / 8)) $((h / 8)) --sigma 60 --mean 128 --seed $((seed + 1))
  vips gaussnoise "$T/n3.v" $((w / 8)) $((h / 8)) --sigma 60 --mean 128 --seed $((seed + 2))
  vips bandjoin "$T/n.v $T/n2.v $T/n3.v" "$T/c.v"
  vips gaussblur "$T/c.v" "$T/b.v" 3
  vips resize "$T/b.v" "$T/r.v" 8 --kernel cubic
  vips gaussnoise "$T/fine.v" "$w" "$h" --sigma 10 --mean 0 --seed $((seed + 3))
  vips add "$T/r.v" "$T/fine.v" "$T/s.v"
  vips cast "$T/s.v" "$T/u.v" uchar
  vips copy "$T/u.v" "$T/srgb.v" --interpretation srgb
  vips copy "$T/srgb.v" "$out"
  rm -f "$T"/n*.v "$T"/c.v "$T"/b.v "$T"/r.v "$T"/fine.v "$T"/s.v "$T"/u.v "$T"/srgb.v
}

# One photo-like base per size, then cheap per-file variants (each band
# scaled and offset differently, some flipped), so every file differs.
variant() { # variant IN OUT i
  local a=$((90 + $3 % 7)) b=$((95 + ($3 * 3) % 9)) c=$((85 + ($3 * 5) % 11))
  local in=$1
  if [ $(($3 % 2)) = 1 ]; then vips flip "$1" "$T/f.v" horizontal; in="$T/f.v"; fi
  vips linear "$in" "$T/l.v" "0.$a 0.$b 0.$c" "$3 $((2 * $3)) 5" --uchar
  vips copy "$T/l.v" "$2"
  rm -f "$T/l.v" "$T/f.v"
}
if [ ! -s "$D/thumbs/jpg/photo-20.jpg" ]; then
  photo 6000 4000 "$T/base24.v" 1
  for i in $(seq -w 1 20); do variant "$T/base24.v" "$D/thumbs/jpg/photo-$i.jpg[Q=90]" "$((10#$i))"; done
fi
if [ ! -s "$D/thumbs/tif/master-5.tif" ] || [ ! -s "$D/tiles/big.tif" ]; then
  photo 10000 10000 "$T/base100.v" 2
  for i in 1 2 3 4 5; do variant "$T/base100.v" "$D/thumbs/tif/master-$i.tif" "$i"; done
fi
if [ ! -s "$D/tiles/big.tif" ]; then
  vips resize "$T/base100.v" "$T/big.v" 2 --kernel cubic
  vips tiffsave "$T/big.v" "$D/tiles/big.tif" --tile --tile-width 256 --tile-height 256 \
    --pyramid --compression jpeg --Q 85 --strip
fi
ls -la "$D"/thumbs/jpg | head -3; ls -la "$D"/thumbs/tif "$D"/tiles
