#!/usr/bin/env bash
# make package-windows: cross-builds and packs the Windows release into dist/.
#
#   dist/Deputy.exe                         the window (cgo + mingw-w64, -H windowsgui)
#   dist/deputy-cli.exe                     the console front end (CGO_ENABLED=0)
#   dist/Deputy-<version>-x64.msi           per-machine installer (wixl)
#   dist/Deputy-<version>-x64-portable.zip  both exes + README.txt, for jump hosts
#   dist/SHA256SUMS
#   dist/test-signing-cert.pem              only when no real certificate was given
#
# Name, ID, version and build number come from the root FyneApp.toml (the single source;
# this script never writes it). Icon, manifest and version info are compiled with windres
# into a *_windows_amd64.syso next to each main package for the duration of the build
# only (the suffix keeps it out of any other GOOS/GOARCH build even if a kill -9 leaves it).
#
# Signing: DEPUTY_SIGN_PFX (path to a .pfx/.p12) + DEPUTY_SIGN_PASSWORD, optional
# DEPUTY_SIGN_TIMESTAMP (RFC 3161 URL), optional DEPUTY_SIGN_CAFILE (verify against this CA
# instead of the system's, for an enterprise CA). Without DEPUTY_SIGN_PFX a throwaway self-signed
# code-signing certificate is made so signing and verification always run.
#
# DEPUTY_BUILD_REF=<git ref> (e.g. HEAD, v0.1.0) builds that commit, exported with
# `git archive` into packaging/build/src, instead of the working tree: for release builds,
# and for a tree where other work in progress does not compile.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
src=.
if [[ -n ${DEPUTY_BUILD_REF:-} ]]; then
  src=packaging/build/src
  rm -rf "$src" && mkdir -p "$src"
  git archive --format=tar "$DEPUTY_BUILD_REF" | tar -x -C "$src"
  echo "package-windows: building $DEPUTY_BUILD_REF ($(git rev-parse --short "$DEPUTY_BUILD_REF")) from $src"
fi
win=packaging/windows
dist=dist
build=packaging/build/package
GO=${GO:-go}
export GOFLAGS=${GOFLAGS:--buildvcs=false}

t_start=$(date +%s)
step() { echo "package-windows: $* ($(( $(date +%s) - t_start )) s)"; }

.ci/deps.sh cross installer

# --- identity from FyneApp.toml --------------------------------------------------------
toml() { # toml KEY -> value of the first `KEY = "..."` or `KEY = n`
  sed -nE "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"?([^\"]*)\"?[[:space:]]*$/\1/p" "$src/FyneApp.toml" | head -n1
}
NAME=$(toml Name); ID=$(toml ID); VERSION=$(toml Version); BUILD=$(toml Build); WEBSITE=$(toml Website)
BUILD=${BUILD:-0}
[[ -n $NAME && -n $ID ]] || { echo "package-windows: FyneApp.toml lacks Name or ID" >&2; exit 2; }
# MSI ProductVersion and the PE version resource need plain numbers: major.minor.patch.
[[ $VERSION =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ && $BUILD =~ ^[0-9]+$ ]] || {
  echo "package-windows: FyneApp.toml Version must be MAJOR.MINOR.PATCH and Build a number (got '$VERSION' build '$BUILD')" >&2; exit 2; }
(( BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 65535 )) || {
  echo "package-windows: Version $VERSION exceeds the MSI limits 255.255.65535" >&2; exit 2; }
VERSION4="$VERSION.$BUILD"
VERSIONCOMMA=${VERSION4//./,}
MANUFACTURER="$NAME project"
COPYRIGHT="Copyright (c) $(date -u +%Y) the $NAME authors"
WEBSITE=${WEBSITE:-https://example.invalid/deputy}
step "$NAME $VERSION (build $BUILD, id $ID)"

rm -rf "$dist" "$build"
mkdir -p "$dist" "$build"
dist=$root/dist

# --- resources (.syso) --------------------------------------------------------------------
sysos=()
cleanup() { rm -f "${sysos[@]}" "$build/sign.pass"; }
trap cleanup EXIT

subst() { # subst TEMPLATE OUT key=value...
  local tpl=$1 out=$2; shift 2
  local s; s=$(<"$tpl")
  for kv in "$@"; do s=${s//@${kv%%=*}@/${kv#*=}}; done
  printf '%s\n' "$s" >"$out"
  if grep -q '@[A-Z0-9]*@' "$out"; then echo "package-windows: unfilled placeholder in $out" >&2; exit 1; fi
}

syso() { # syso PKGDIR EXE KIND DESCRIPTION
  local pkg=$1 exe=$2 kind=$3 desc=$4 d="$build/res-$3"
  mkdir -p "$d"
  cp "$win/deputy.ico" "$d/deputy.ico"
  subst "$win/deputy.manifest.in" "$d/app.manifest" EXE="$exe" ID="$ID" KIND="$kind" VERSION4="$VERSION4" DESCRIPTION="$desc"
  subst "$win/resources.rc.in" "$d/app.rc" EXE="$exe" ICO=deputy.ico MANIFEST=app.manifest \
    VERSION="$VERSION" VERSION4="$VERSION4" VERSIONCOMMA="$VERSIONCOMMA" NAME="$NAME" \
    MANUFACTURER="$MANUFACTURER" DESCRIPTION="$desc" INTERNAL="${exe%.exe}" COPYRIGHT="$COPYRIGHT" WEBSITE="$WEBSITE"
  local out="$pkg/zz_deputy_rsrc_windows_amd64.syso"
  sysos+=("$out")
  (cd "$d" && x86_64-w64-mingw32-windres -O coff -i app.rc -o res.syso)
  cp "$d/res.syso" "$out"
}

syso "$src/app/deputy" Deputy.exe gui "$NAME - prove an Exchange impersonation service account"
syso "$src/app/deputy-cli" deputy-cli.exe cli "$NAME console - prove an Exchange impersonation service account"

# --- build ------------------------------------------------------------------------------
# -trimpath: no build paths in the binaries; -s -w: no symbol tables (panics still show
# function names and lines). The cgo build of Fyne/GLFW is the slow part (~7 min cold).
step "building deputy-cli.exe"
(cd "$src" && CGO_ENABLED=0 GOOS=windows GOARCH=amd64 "$GO" build -trimpath -ldflags "-s -w" \
  -o "$dist/deputy-cli.exe" ./app/deputy-cli)
step "building Deputy.exe (cgo, mingw-w64)"
(cd "$src" && CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
  "$GO" build -trimpath -tags migrated_fynedo -ldflags "-s -w -H=windowsgui" \
  -o "$dist/Deputy.exe" ./app/deputy)
cleanup; sysos=()
step "built"

# --- signing ------------------------------------------------------------------------------
pass_file="$build/sign.pass"
( umask 077; : >"$pass_file" )
verify_args=()
if [[ -n ${DEPUTY_SIGN_PFX:-} ]]; then
  [[ -r $DEPUTY_SIGN_PFX ]] || { echo "package-windows: DEPUTY_SIGN_PFX=$DEPUTY_SIGN_PFX is not readable" >&2; exit 2; }
  pfx=$DEPUTY_SIGN_PFX
  printf '%s' "${DEPUTY_SIGN_PASSWORD:-}" >"$pass_file"
  # A certificate from an internal (enterprise) CA verifies against that CA, not the system's.
  [[ -n ${DEPUTY_SIGN_CAFILE:-} ]] && verify_args=(-CAfile "$DEPUTY_SIGN_CAFILE")
  step "signing with $pfx"
else
  # Throwaway certificate: exercises signing on every build. Its key stays in the build
  # directory; only the certificate goes to dist/ (for `osslsigncode verify -CAfile`).
  pfx="$build/test-signing.pfx"
  openssl req -x509 -newkey rsa:3072 -sha256 -days 30 -nodes \
    -keyout "$build/test-signing-key.pem" -out "$dist/test-signing-cert.pem" \
    -subj "/CN=$NAME Test Code Signing (untrusted)/O=$NAME test build" \
    -addext "extendedKeyUsage=codeSigning" -addext "keyUsage=critical,digitalSignature" \
    -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null
  openssl rand -hex 16 | tr -d '\n' >"$pass_file"
  openssl pkcs12 -export -out "$pfx" -inkey "$build/test-signing-key.pem" \
    -in "$dist/test-signing-cert.pem" -passout "file:$pass_file"
  verify_args=(-CAfile "$dist/test-signing-cert.pem")
  step "signing with a throwaway test certificate (DEPUTY_SIGN_PFX not set)"
fi
ts_args=()
[[ -n ${DEPUTY_SIGN_TIMESTAMP:-} ]] && ts_args=(-ts "$DEPUTY_SIGN_TIMESTAMP")

sign() { # sign FILE DESCRIPTION — in place
  local f=$1 tmp="$1.signing"
  rm -f "$tmp"
  # -readpass keeps the password off the command line (ps).
  osslsigncode sign -pkcs12 "$pfx" -readpass "$pass_file" -h sha256 \
    -n "$2" -i "$WEBSITE" "${ts_args[@]}" -in "$f" -out "$tmp" >/dev/null
  mv "$tmp" "$f"
}
verify() {
  local out
  if ! out=$(osslsigncode verify "${verify_args[@]}" -in "$1" 2>&1); then
    echo "$out" >&2; echo "package-windows: signature verification FAILED for $1" >&2; exit 1
  fi
  echo "  verified: $(basename "$1")"
}

# Sign the programs before they are packed, so the installed/unzipped files are signed.
sign "$dist/Deputy.exe" "$NAME"
sign "$dist/deputy-cli.exe" "$NAME console"

# --- MSI ----------------------------------------------------------------------------------
msi="$NAME-$VERSION-x64.msi"
stage="$build/msi"
mkdir -p "$stage"
cp "$dist/Deputy.exe" "$dist/deputy-cli.exe" "$win/deputy.ico" "$stage/"
subst "$win/deputy.wxs.in" "$stage/deputy.wxs" NAME="$NAME" VERSION="$VERSION" \
  MANUFACTURER="$MANUFACTURER" WEBSITE="$WEBSITE"
step "building $msi"
# wixl resolves sources relative to the working directory and rejects absolute paths.
(cd "$stage" && wixl -a x64 -o "$msi" deputy.wxs 2> >(grep -v 'GLib-GObject-WARNING\|^$' >&2))
mv "$stage/$msi" "$dist/$msi"
sign "$dist/$msi" "$NAME $VERSION installer"

# --- portable zip ---------------------------------------------------------------------------
zipname="$NAME-$VERSION-x64-portable.zip"
zdir="$build/zip/$NAME-$VERSION"
mkdir -p "$zdir"
cp "$dist/Deputy.exe" "$dist/deputy-cli.exe" "$zdir/"
subst "$win/README.txt.in" "$zdir/README.txt" NAME="$NAME" VERSION="$VERSION" WEBSITE="$WEBSITE"
sed -i 's/$/\r/' "$zdir/README.txt" # Notepad-friendly line ends
(cd "$build/zip" && zip -q -X -r "$zipname" "$NAME-$VERSION")
mv "$build/zip/$zipname" "$dist/$zipname"
# The zip's promise, read back: both signed exes and the README under one top folder, intact.
command -v unzip >/dev/null || { echo "package-windows: unzip not found: apt-get install unzip (needed to check the portable zip)" >&2; exit 1; }
unzip -tq "$dist/$zipname" >/dev/null || { echo "package-windows: $zipname is corrupt (unzip -t $dist/$zipname)" >&2; exit 1; }
zipfiles=$(unzip -Z1 "$dist/$zipname")
for f in Deputy.exe deputy-cli.exe README.txt; do
  grep -qxF "$NAME-$VERSION/$f" <<<"$zipfiles" ||
    { echo "package-windows: $zipname lacks $NAME-$VERSION/$f (it has: $(paste -sd' ' <<<"$zipfiles"))" >&2; exit 1; }
done
echo "  portable zip: $NAME-$VERSION/ with Deputy.exe, deputy-cli.exe, README.txt"

# --- checks + checksums -------------------------------------------------------------------
for f in "$dist/Deputy.exe" "$dist/deputy-cli.exe" "$dist/$msi"; do verify "$f"; done
for exe in Deputy.exe deputy-cli.exe; do
  wrestool -l "$dist/$exe" | grep -q 'type=14' || { echo "package-windows: $exe has no icon group" >&2; exit 1; }
  got=$(wrestool -x --raw --type=16 "$dist/$exe" | x86_64-w64-mingw32-strings -el | grep -A1 -x FileVersion | tail -n1)
  [[ $got == "$VERSION4" ]] || { echo "package-windows: $exe FileVersion '$got', want $VERSION4" >&2; exit 1; }
done
# The installer's promises, read back from the MSI tables.
tables=$(msiinfo export "$dist/$msi" Shortcut; msiinfo export "$dist/$msi" Upgrade; msiinfo export "$dist/$msi" Property)
for want in "ProgramMenuFolder	$NAME	DeputyExe	[INSTALLDIR]Deputy.exe" "{3705E810-D52A-4BC9-B8D0-A795EC78B8D6}" "ALLUSERS	1"; do
  grep -qF "$want" <<<"$tables" || { echo "package-windows: the MSI lacks '$want'" >&2; exit 1; }
done
echo "  MSI: per-machine, Start-menu shortcut, UpgradeCode {3705E810-D52A-4BC9-B8D0-A795EC78B8D6}"
(cd "$dist" && sha256sum Deputy.exe deputy-cli.exe "$msi" "$zipname" >SHA256SUMS)

step "done"
ls -l "$dist"
