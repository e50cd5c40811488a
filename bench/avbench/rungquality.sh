#!/usr/bin/env bash
# A rung's x264 preset: CPU against quality (issue 7), not in CI.
# Usage: bench/avbench/rungquality.sh SRC W H KBPS PRESET...
#   SRC: a 1080p clip, e.g. ~/.cache/stor/bench/av/phone10.mp4 (made by
#   `go run ./bench/avbench -secs 10 -print`).
# For each preset: encodes the rung alone with av.Plan.RungVideoArgs's
# settings (fps, format, scale, 4 s key frames, ABR with maxrate 1.07×,
# buffer 1.5×), prints the CPU (user+sys, decode included) and SSIM/PSNR
# of the encode against the same scaled picture before encoding.
set -euo pipefail
S=$1 W=$2 H=$3 K=$4; shift 4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
VF="fps=30/1,format=yuv420p,scale=$W:$H,setsar=1"
for P in "$@"; do
  o=$out/$P.mp4
  { TIMEFORMAT='%U %S'; time ffmpeg -nostdin -v error -y -i "$S" -map 0:v:0 -vf "$VF" -c:v libx264 -preset "$P" -pix_fmt yuv420p \
      -g 120 -keyint_min 120 -sc_threshold 0 -force_key_frames 'expr:gte(t,n_forced*4)' \
      -b:v "${K}k" -maxrate "$((K * 107 / 100))k" -bufsize "$((K * 3 / 2))k" "$o"; } 2>"$out/t"
  read -r u s <"$out/t"
  ssim=$(ffmpeg -nostdin -i "$o" -i "$S" -lavfi "[1:v]$VF[ref];[0:v][ref]ssim" -f null - 2>&1 | grep -o 'All:[0-9.]* ([0-9.inf]*)')
  psnr=$(ffmpeg -nostdin -i "$o" -i "$S" -lavfi "[1:v]$VF[ref];[0:v][ref]psnr" -f null - 2>&1 | grep -o 'average:[0-9.inf]*')
  printf '%sp %-10s CPU %6.2f s  SSIM %s  PSNR %s  %s bytes\n' "$H" "$P" "$(echo "$u + $s" | bc)" "$ssim" "$psnr" "$(stat -c %s "$o")"
done
