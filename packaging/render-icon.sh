#!/usr/bin/env bash
# Regenerates the committed icon renders from their SVG sources, so the build never needs
# a renderer:  resources/icon.svg       -> resources/icon.png (512 px, FyneApp.toml's Icon)
#              resources/icon-small.svg -> the 16/24/32 px frames (simplified drawing)
#              both                     -> packaging/windows/deputy.ico (16,24,32,48,64,128,256)
# Needs: rsvg-convert (librsvg2-bin) and icotool (icoutils). Run after editing an SVG, look
# at the result, commit the renders.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
res=$root/resources
ico=$root/packaging/windows/deputy.ico
for t in rsvg-convert icotool; do
  command -v "$t" >/dev/null || { echo "render-icon: $t missing (apt-get install librsvg2-bin icoutils)" >&2; exit 2; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

rsvg-convert -w 512 -h 512 "$res/icon.svg" -o "$res/icon.png"
frames=()
for s in 16 24 32; do
  rsvg-convert -w $s -h $s "$res/icon-small.svg" -o "$tmp/$s.png"; frames+=("$tmp/$s.png")
done
for s in 48 64 128; do
  rsvg-convert -w $s -h $s "$res/icon.svg" -o "$tmp/$s.png"; frames+=("$tmp/$s.png")
done
rsvg-convert -w 256 -h 256 "$res/icon.svg" -o "$tmp/256.png"
# 256 px stored as PNG inside the .ico (-r), the rest as 32-bit BMP frames: what Windows expects.
icotool -c -o "$ico" "${frames[@]}" -r "$tmp/256.png"
echo "render-icon: wrote $res/icon.png and $ico"
icotool -l "$ico"
