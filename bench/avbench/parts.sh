#!/usr/bin/env bash
# Where the CPU of a one-decode HLS ladder goes (issue 7), not in CI.
# Usage: bench/avbench/parts.sh SRC [SECONDS]
#   SRC: a 1080p H.264 clip (go run ./bench/avbench -skip stor,bare,perrung,node
#   leaves /tmp/stor-avbench/src60.mp4); SECONDS of it are used (default 10).
# Prints user+sys CPU seconds (bash time: the commands and their children) of:
#   decode            decoding the video alone
#   scales-full       fps + format + the five rung scales, each from the full picture
#   scales-cascade    the same, each rung scaled from the next larger one
#   ladder-full       the whole one-decode ladder, every rung from the full picture (stor before)
#   ladder-cascade    the whole one-decode ladder, cascaded (stor's BuildPlan now)
#   per-rung          five ffmpeg runs, one per rung, same x264/AAC/HLS settings
# SWS=bilinear (any swscale flags) scales with those flags in every line.
set -euo pipefail
S=$1
T=${2:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
t() {
  local name=$1; shift
  { TIMEFORMAT='%U %S %R'; time "$@" 2>"$out/err"; } 2>"$out/t" || { cat "$out/err" >&2; exit 1; }
  read -r u s e <"$out/t"
  printf '%-16s %7.2f s CPU %7.2f s wall\n' "$name" "$(echo "$u + $s" | bc)" "$e"
}
SF=${SWS:+:flags=$SWS}
W=(426 640 852 1280 1920) H=(240 360 480 720 1080) K=(400 800 1400 2800 5000)
FULL="[0:v:0]fps=30,format=yuv420p,split=5[s0][s1][s2][s3][s4]"
CASC="[0:v:0]fps=30,format=yuv420p,setsar=1,split=2[v4][c4]"
for i in 0 1 2 3 4; do FULL+=";[s$i]scale=${W[$i]}:${H[$i]}$SF,setsar=1[v$i]"; done
for i in 3 2 1 0; do
  if [ $i -gt 0 ]; then CASC+=";[c$((i+1))]scale=${W[$i]}:${H[$i]}$SF,setsar=1,split=2[v$i][c$i]"; else CASC+=";[c1]scale=${W[0]}:${H[0]}$SF,setsar=1[v0]"; fi
done
nulls=(); for i in 0 1 2 3 4; do nulls+=(-map "[v$i]" -f null -); done
X264=(-c:v libx264 -preset veryfast -pix_fmt yuv420p -g 120 -keyint_min 120 -sc_threshold 0 -force_key_frames 'expr:gte(t,n_forced*4)')
HLS=(-f hls -hls_time 4 -hls_playlist_type event -hls_segment_type fmp4 -hls_flags temp_file+independent_segments)
AAC=(-c:a aac -b:a 128k -ac 2 -ar 48000)
ladder() { # graph dir
  local maps=() enc=("${X264[@]}")
  for i in 0 1 2 3 4; do
    mkdir -p "$2/v$i"
    maps+=(-map "[v$i]" -map 0:a:0)
    enc+=(-b:v:$i "${K[$i]}k" -maxrate:v:$i "$((K[$i] * 107 / 100))k" -bufsize:v:$i "$((K[$i] * 3 / 2))k")
  done
  ffmpeg -nostdin -v error -t "$T" -i "$S" -filter_complex "$1" "${maps[@]}" "${enc[@]}" "${AAC[@]}" "${HLS[@]}" \
    -hls_segment_filename "$2/v%v/seg%05d.m4s" -var_stream_map "v:0,a:0 v:1,a:1 v:2,a:2 v:3,a:3 v:4,a:4" "$2/v%v/index.m3u8"
}
perrung() {
  for i in 0 1 2 3 4; do
    mkdir -p "$out/pr/v$i"
    ffmpeg -nostdin -v error -t "$T" -i "$S" -map 0:v:0 -map 0:a:0 -vf "fps=30,format=yuv420p,scale=${W[$i]}:${H[$i]}$SF,setsar=1" \
      "${X264[@]}" -b:v "${K[$i]}k" -maxrate "$((K[$i] * 107 / 100))k" -bufsize "$((K[$i] * 3 / 2))k" "${AAC[@]}" "${HLS[@]}" \
      -hls_segment_filename "$out/pr/v$i/seg%05d.m4s" "$out/pr/v$i/index.m3u8"
  done
}
echo "scale flags: ${SWS:-default (bicubic)}; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t decode ffmpeg -nostdin -v error -t "$T" -i "$S" -map 0:v:0 -f null -
t scales-full ffmpeg -nostdin -v error -t "$T" -i "$S" -filter_complex "$FULL" "${nulls[@]}"
t scales-cascade ffmpeg -nostdin -v error -t "$T" -i "$S" -filter_complex "$CASC" "${nulls[@]}"
t ladder-full ladder "$FULL" "$out/full"
t ladder-cascade ladder "$CASC" "$out/casc"
t per-rung perrung
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
