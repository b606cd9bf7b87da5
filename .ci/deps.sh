#!/usr/bin/env bash
# Installs the Debian packages a target needs, only those missing: deps.sh GROUP...
set -euo pipefail
declare -A groups=(
  [build]="gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libwayland-dev libxkbcommon-dev wayland-protocols"
  [test]="libxml2-utils xvfb xauth x11-utils libgl1-mesa-dri xdotool imagemagick dbus-daemon dbus-bin gnome-keyring libsecret-tools poppler-utils"
  [browser]="chromium"
  [cross]="gcc-mingw-w64-x86-64-win32 icoutils"
  [wine]="wine wine64"
  [installer]="wixl msitools osslsigncode openssl zip unzip"
)
want=()
for g in "$@"; do
  for p in ${groups[$g]:?unknown group $g}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
done
[ ${#want[@]} -eq 0 ] && exit 0
echo "deps: installing ${want[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
for i in 1 2 3 4 5; do
  if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null; then exit 0; fi
  echo "deps: apt failed (try $i), retrying" >&2; sleep 5
done
exit 1
