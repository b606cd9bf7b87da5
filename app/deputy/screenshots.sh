#!/usr/bin/env bash
# Screenshots of the real window (Fyne's GL driver on Xvfb) for docs/screenshots/.
# Run through `make screenshots`, which provides Xvfb (.ci/with-xvfb.sh), a private Secret
# Service (.ci/with-secret-service.sh) and bin/deputy. Each scene starts the binary with an
# empty temporary profile folder and DEPUTY_SCREENSHOT_SCENE, waits for the window and for
# the binary to print "scene ready", then captures the window.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${DEPUTY_BIN:-bin/deputy}
out=${SCREENSHOT_DIR:-docs/screenshots}
: "${DISPLAY:?run under .ci/with-xvfb.sh}"
mkdir -p "$out"
IMPORT=/usr/bin/import # /usr/local/bin/convert on some images is a stand-in

shot() {
  local name=$1 scene=$2 theme=$3
  local cfg log pid wid
  cfg=$(mktemp -d) log=$(mktemp)
  DEPUTY_CONFIG_DIR="$cfg" DEPUTY_SCREENSHOT_SCENE="$scene" FYNE_THEME="$theme" LANG=en_US.UTF-8 \
    "$bin" >"$log" 2>&1 &
  pid=$!
  wid=$(timeout 30 xdotool search --sync --name '^Deputy$' | head -1) || { cat "$log"; kill "$pid"; return 1; }
  for _ in $(seq 600); do
    grep -q 'deputy: scene ready' "$log" && break
    if grep -q 'deputy: scene failed' "$log" || ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2; kill "$pid" 2>/dev/null || true; return 1
    fi
    sleep 0.1
  done
  grep -q 'deputy: scene ready' "$log" || { echo "screenshots: $scene never became ready" >&2; cat "$log" >&2; kill "$pid"; return 1; }
  # Park the pointer on the "Profiles" heading: a hover highlight elsewhere reads as a glitch.
  xdotool mousemove --window "$wid" 10 10 || true
  sleep 1.5 # let the last coalesced update and the frame after it land
  "$IMPORT" -window "$wid" "$out/$name.png"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$cfg" "$log"
  echo "screenshots: $out/$name.png"
}

shot welcome welcome light
shot profile profile light
shot diagnosis diagnosis light
shot diagnosis-dark diagnosis dark
shot setup setup light
shot migration migration light
