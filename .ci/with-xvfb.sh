#!/usr/bin/env bash
# Runs a command with a private Xvfb display (for screenshot and real-window tests).
set -euo pipefail
if ! command -v Xvfb >/dev/null; then echo "with-xvfb: Xvfb missing (run .ci/deps.sh test)" >&2; exit 1; fi
for n in $(seq 90 140); do [ -e /tmp/.X$n-lock ] || { disp=$n; break; }; done
Xvfb ":$disp" -screen 0 1280x860x24 -nolisten tcp >/dev/null 2>&1 &
xpid=$!
trap 'kill $xpid 2>/dev/null || true' EXIT
for _ in $(seq 50); do xdpyinfo -display ":$disp" >/dev/null 2>&1 && break; sleep 0.1; done
export DISPLAY=":$disp"
"$@"
