#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (a real
# Secret Service) and a throwaway HOME, so keychain tests never touch the user's keyring.
set -euo pipefail
export GOPATH="${GOPATH:-$(go env GOPATH)}" GOCACHE="${GOCACHE:-$(go env GOCACHE)}" GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE)}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/.local/share" XDG_CONFIG_HOME="$tmp/home/.config" XDG_CACHE_HOME="$tmp/home/.cache" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
export DEPUTY_SECRET_SERVICE=1
exec dbus-run-session -- bash -c '
  eval "$(printf %s deputy-test | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
  eval "$(gnome-keyring-daemon --start --components=secrets 2>/dev/null)"
  export GNOME_KEYRING_CONTROL
  "$@"' bash "$@"
