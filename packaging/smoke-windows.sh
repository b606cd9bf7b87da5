#!/usr/bin/env bash
# make smoke-windows: runs the Windows release under Wine (Debian's wine64 8.0) in a fresh
# prefix under packaging/build/wine, on a private Xvfb:
#   1. deputy-cli.exe version / demo --json (verdict "fail", exit 1: the demo has failures);
#      the portable zip unpacked and its deputy-cli.exe version run
#   2. a 10 KB secret through Windows Credential Manager (chunking): stored by `deputy-cli.exe
#      profile add --password-stdin`, read back by credsmoke.exe, gone after `profile delete`;
#      plus credsmoke.exe's own Set/Get/Delete through deputy/internal/secret
#   3. the MSI installs per-machine (files + Start-menu shortcuts); a next-patch MSI built
#      from the same files upgrades it, the older one is then refused; uninstall is clean
#   4. the installed Deputy.exe opens its window -> packaging/build/wine-window.png
#   5. with only OpenGL 1.1 (as over RDP), Deputy.exe shows its "window cannot start" message box
#      -> packaging/build/wine-nogl.png
# Every step must pass; there are no optional ones.
# Builds dist/ first (package-windows.sh) when it is missing, incomplete or older than the
# sources (Go, go.mod/go.sum, FyneApp.toml, packaging/*.sh, packaging/windows/, resources/),
# or always with DEPUTY_BUILD_REF=<git ref> (builds that commit; see package-windows.sh).
# Go's build cache is reused (nothing here clears it), so repeated runs are quick.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
win=packaging/windows
out=packaging/build
GO=${GO:-go}
export GOFLAGS=${GOFLAGS:--buildvcs=false}
t_start=$(date +%s)
step() { echo "smoke-windows: $* ($(( $(date +%s) - t_start )) s)"; }
fail() { echo "smoke-windows: FAIL: $*" >&2; exit 1; }

.ci/deps.sh cross wine test
# unzip (for the portable zip) is only recommended by zip, which deps.sh installs without recommends.
command -v unzip >/dev/null || fail "unzip not found: apt-get install unzip (needed to unpack the portable zip)"

VERSION=$(sed -nE 's/^[[:space:]]*Version[[:space:]]*=[[:space:]]*"([^"]*)".*/\1/p' FyneApp.toml | head -n1)
NAME=$(sed -nE 's/^[[:space:]]*Name[[:space:]]*=[[:space:]]*"([^"]*)".*/\1/p' FyneApp.toml | head -n1)
msi="dist/$NAME-$VERSION-x64.msi"
zip="dist/$NAME-$VERSION-x64-portable.zip"
stage=packaging/build/package/msi # package-windows.sh's MSI staging dir (deputy.wxs for step 3b)
src=.
[[ -n ${DEPUTY_BUILD_REF:-} ]] && src=packaging/build/src # see package-windows.sh
# SHA256SUMS is written last, after package-windows.sh's own checks: a run that failed half
# way never counts as fresh. A dependency bump (go.mod/go.sum), a packaging script or
# resource change rebuilds as surely as a .go change.
if [[ -n ${DEPUTY_BUILD_REF:-} ]]; then
  why="DEPUTY_BUILD_REF=$DEPUTY_BUILD_REF"
else
  why=""
  for f in dist/SHA256SUMS dist/Deputy.exe dist/deputy-cli.exe "$msi" "$zip" "$stage/deputy.wxs"; do
    [[ -f $f ]] || { why="$f missing"; break; }
  done
  if [[ -z $why ]]; then
    newer=$(find . \( -path ./packaging/build -o -path ./.git -o -path ./dist \) -prune -o \
      \( -name '*.go' -o -name go.mod -o -name go.sum -o -name FyneApp.toml \
         -o -path './packaging/*.sh' -o -path './packaging/windows/*' -o -path './resources/*' \) \
      -newer dist/SHA256SUMS -print -quit)
    [[ -z $newer ]] || why="$newer is newer than dist/"
  fi
fi
if [[ -n $why ]]; then
  step "dist/ stale ($why): running package-windows.sh"
  packaging/package-windows.sh
fi

# --- fresh Wine prefix + bcryptprimitives stub ---------------------------------------------
export WINEPREFIX="$root/$out/wine" WINEDEBUG=-all WINEARCH=win64
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts
mkdir -p "$out"
pids=()
tmpdirs=()
cleanup() {
  wineserver -k 2>/dev/null || true # this prefix's server only
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in "${tmpdirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

# A private X server for everything (wineboot, msiexec and the window want one).
exec 5>"$out/xvfb.display"
Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
pids+=($!)
exec 5>&-
for _ in $(seq 100); do [[ -s $out/xvfb.display ]] && break; sleep 0.1; done
export DISPLAY=":$(head -n1 "$out/xvfb.display")"
[[ $DISPLAY != ":" ]] || fail "Xvfb did not start (see $out/xvfb.log)"

rm -rf "$WINEPREFIX"
step "wineboot (fresh prefix $WINEPREFIX)"
timeout 180 wineboot -i >/dev/null 2>&1 || true
wineserver -w
[[ -f $WINEPREFIX/system.reg ]] || fail "wineboot did not create a prefix"
sys32="$WINEPREFIX/drive_c/windows/system32"
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$out/bcryptprimitives.dll" \
  "$win/bcryptprimitives/bcryptprimitives.c" "$win/bcryptprimitives/bcryptprimitives.def" -ladvapi32
cp "$out/bcryptprimitives.dll" "$sys32/"
step "prefix ready, bcryptprimitives stub installed"

w() { timeout "${WINE_TIMEOUT:-120}" wine "$@"; } # every Wine call has a deadline
crlf() { tr -d '\r'; }

# --- 1. CLI ---------------------------------------------------------------------------------
ver=$(w dist/deputy-cli.exe version 2>/dev/null | crlf) || fail "deputy-cli.exe version failed: $ver"
[[ $ver == *"$VERSION"* && $ver == *windows/amd64* ]] || fail "deputy-cli.exe version said '$ver'"
step "deputy-cli.exe version: $ver"

# The real demo run (in-process simulator over HTTPS), not a look at the help text.
set +e
w dist/deputy-cli.exe demo --json >"$out/demo.json" 2>"$out/demo.err"
rc=$?
set -e
(( rc != 124 )) || fail "deputy-cli.exe demo --json did not finish within ${WINE_TIMEOUT:-120} s (stderr: $out/demo.err)"
# The result's own verdict is the only "verdict" key at the top level (2-space indent).
verdict=$(crlf <"$out/demo.json" | sed -nE 's/^  "verdict": "([a-z]+)",?$/\1/p')
grep -q '"schema": "deputy.diagnostics/v1"' "$out/demo.json" && [[ -n $verdict ]] ||
  fail "deputy-cli.exe demo --json printed no deputy.diagnostics/v1 JSON with a verdict (exit $rc; app/deputy-cli/cmd_demo.go; $out/demo.json): $(crlf <"$out/demo.err" | head -c 400)"
[[ $rc == 1 && $verdict == fail ]] || fail "demo --json: exit $rc verdict '$verdict', want exit 1 verdict 'fail' (the demo scenario has failing mailboxes on purpose; $out/demo.json)"
step "deputy-cli.exe demo --json: verdict $verdict, exit $rc (as expected: the demo contains failures)"

# The portable zip as a user gets it: unpacked anywhere, its deputy-cli.exe runs.
portable=$(mktemp -d "${TMPDIR:-/tmp}/deputy-portable.XXXXXX")
tmpdirs+=("$portable")
unzip -q "$zip" -d "$portable" || fail "cannot unpack $zip"
pdir="$portable/$NAME-$VERSION"
for f in Deputy.exe deputy-cli.exe; do
  cmp -s "$pdir/$f" "dist/$f" || fail "$zip: $NAME-$VERSION/$f is missing or differs from dist/$f"
done
[[ -s $pdir/README.txt ]] || fail "$zip has no $NAME-$VERSION/README.txt"
pver=$(w "$pdir/deputy-cli.exe" version 2>"$out/portable-version.err" | crlf) ||
  fail "portable deputy-cli.exe version failed (exit $?; 124 = no answer within ${WINE_TIMEOUT:-120} s): $(crlf <"$out/portable-version.err" | head -c 400)"
[[ $pver == "$ver" ]] || fail "portable deputy-cli.exe version said '$pver', want '$ver'"
step "portable zip: unpacked, deputy-cli.exe version: $pver"

# --- 1b. OpenGL preflight, for real: app/deputy's windows tests under Wine's WGL ----------
(cd "$src" && CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc "$GO" test -c -trimpath \
  -tags migrated_fynedo -o "$root/$out/deputy-gui.test.exe" ./app/deputy) || fail "app/deputy tests do not build for windows"
w "$out/deputy-gui.test.exe" -test.run 'GL' -test.v >"$out/gltest.log" 2>&1 ||
  fail "OpenGL preflight tests failed under Wine (Mesa llvmpipe): $(crlf <"$out/gltest.log" | tail -n 15)"
MESA_GL_VERSION_OVERRIDE=1.1 DEPUTY_EXPECT_NO_GL=1 w "$out/deputy-gui.test.exe" -test.run 'PreflightGL' -test.v \
  >"$out/gltest-nogl.log" 2>&1 ||
  fail "OpenGL preflight with only OpenGL 1.1: $(crlf <"$out/gltest-nogl.log" | tail -n 15)"
step "OpenGL preflight: passes with Mesa's GL 4.5, refuses GL 1.1 (tests in app/deputy)"

# --- 2. Credential Manager, 10 KB ----------------------------------------------------------
(cd "$src" && CGO_ENABLED=0 GOOS=windows GOARCH=amd64 "$GO" build -trimpath -o "$root/$out/credsmoke.exe" ./$win/credsmoke) ||
  fail "credsmoke.exe does not build ($win/credsmoke over internal/secret: see the compiler output above)"
secret=$(head -c 7680 /dev/urandom | base64 -w0) # 10,240 ASCII bytes
sum=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
# The real front door: deputy-cli stores the profile's password, credsmoke reads it back
# by the profile's id, deputy-cli deletes the profile, credsmoke finds the secret gone.
printf '%s\n' "$secret" | w dist/deputy-cli.exe profile add wine-smoke --url https://ex.invalid/EWS/Exchange.asmx \
  --user 'SMOKE\svc-deputy' --password-stdin >"$out/profile-add.log" 2>&1 ||
  fail "deputy-cli.exe profile add --password-stdin failed (app/deputy-cli/cmd_profile.go, internal/secret; $out/profile-add.log): $(crlf <"$out/profile-add.log" | head -c 600)"
id=$(crlf <"$out/profile-add.log" | sed -nE 's/.*\(id ([^)]+)\).*/\1/p' | head -n1)
[[ -n $id ]] || fail "profile add printed no '(id …)' (app/deputy-cli/cmd_profile.go; $out/profile-add.log): $(crlf <"$out/profile-add.log" | head -c 400)"
got=$(w "$out/credsmoke.exe" -profile "$id" -expect-sha256 "$sum" 2>&1 | crlf) ||
  fail "the 10 KB password stored by deputy-cli profile add did not read back from Credential Manager (internal/secret chunking): $got"
step "Credential Manager: deputy-cli profile add --password-stdin (10,240 B), read back intact: $got"
w dist/deputy-cli.exe profile delete wine-smoke >"$out/profile-delete.log" 2>&1 ||
  fail "deputy-cli.exe profile delete failed ($out/profile-delete.log): $(crlf <"$out/profile-delete.log" | head -c 400)"
got=$(w "$out/credsmoke.exe" -profile "$id" -expect-absent 2>&1 | crlf) ||
  fail "deputy-cli profile delete left the password in Credential Manager: $got"
step "Credential Manager: deputy-cli profile delete removed every chunk: $got"
got=$(w "$out/credsmoke.exe" -size 10240 2>&1 | crlf) || fail "credsmoke Set/Get/Delete round trip: $got"
[[ $got == OK* ]] || fail "credsmoke said: $got"
step "Credential Manager via internal/secret: $got"

# --- 3. MSI install --------------------------------------------------------------------------
pf="$WINEPREFIX/drive_c/Program Files/$NAME"
w msiexec /i "$(winepath -w "$msi")" /qn /l*v "$(winepath -w "$out/msi-install.log")" >/dev/null 2>&1 ||
  fail "msiexec /i failed (log: $out/msi-install.log)"
[[ -f $pf/Deputy.exe && -f $pf/deputy-cli.exe ]] || fail "MSI did not install into $pf"
lnk=$(find "$WINEPREFIX/drive_c" -iname "$NAME.lnk" -path '*Start Menu*' | head -n1)
[[ -n $lnk ]] || fail "MSI created no Start-menu shortcut '$NAME.lnk'"
cmp -s "$pf/Deputy.exe" dist/Deputy.exe || fail "installed Deputy.exe differs from dist/"
step "MSI installed into C:\\Program Files\\$NAME, shortcut: ${lnk#"$WINEPREFIX/"}"

# --- 4. the window ---------------------------------------------------------------------------
shot() { # shot OUT.png TITLE_REGEX EXE [env...]: run, wait for the window, screenshot, stop it
  local png=$1 title=$2 exe=$3; shift 3
  env "$@" wine "$exe" >"$out/$(basename "$png" .png).log" 2>&1 &
  local apid=$!
  pids+=("$apid")
  if ! timeout "${WAIT_S:-90}" xdotool search --sync --onlyvisible --name "$title" >/dev/null 2>&1; then
    kill "$apid" 2>/dev/null || true
    return 1
  fi
  sleep "${SETTLE_S:-4}" # let Fyne paint its first frame
  import -display "$DISPLAY" -window root "$png"
  kill "$apid" 2>/dev/null || true
  wineserver -k 2>/dev/null || true
  wait "$apid" 2>/dev/null || true
}
rm -f "$out/wine-window.png" "$out/wine-nogl.png"
shot "$out/wine-window.png" "^$NAME\$" "$pf/Deputy.exe" ||
  fail "Deputy.exe never showed a window titled '$NAME' (log: $out/wine-window.log)"
colours=$(convert "$out/wine-window.png" -format '%k' info:)
(( colours > 50 )) || fail "wine-window.png looks blank ($colours colours)"
step "Deputy.exe window up: $out/wine-window.png ($colours colours)"

# --- 5. no OpenGL: message box instead of vanishing ------------------------------------------
# Mesa offering only OpenGL 1.1 is what an RDP session's "GDI Generic" renderer looks like.
shot "$out/wine-nogl.png" "cannot start" "$pf/Deputy.exe" MESA_GL_VERSION_OVERRIDE=1.1 ||
  fail "with only OpenGL 1.1, Deputy.exe showed no 'cannot start' message box within ${WAIT_S:-90} s (does app/deputy/main.go still call ensureGL() before app.New? see app/deputy/glcheck_windows.go; log: $out/wine-nogl.log)"
step "no-OpenGL message box shown: $out/wine-nogl.png"

# --- 3b. MSI upgrade, downgrade refused, uninstall -----------------------------------------
# The same files as a next patch version: the stable UpgradeCode must make it replace this one.
installed() { # DisplayVersion of every installed product named $NAME, sorted
  w reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall' /s 2>/dev/null | crlf |
    awk -v n="$NAME" '/^HKEY/{k=$0} $1=="DisplayName" && $3==n && NF==3 {d[k]=1} $1=="DisplayVersion"{v[k]=$3}
                      END{for (k in d) print v[k]}' | sort | paste -sd' '
}
[[ $(installed) == "$VERSION" ]] || fail "after install, products named $NAME: '$(installed)', want '$VERSION'"
# package-windows.sh leaves the MSI's staged files and deputy.wxs in $stage (the stale check
# above rebuilds when they are missing).
[[ -f $stage/deputy.wxs ]] || fail "$stage/deputy.wxs is missing: package-windows.sh stages the MSI there; run make package-windows"
IFS=. read -r vmaj vmin vpat <<<"$VERSION"
next="$vmaj.$vmin.$((vpat + 1))"
up="$out/upgrade"
rm -rf "$up" && mkdir -p "$up"
cp "$stage/Deputy.exe" "$stage/deputy-cli.exe" "$stage/deputy.ico" "$up/"
sed "s/ Version=\"$VERSION\"/ Version=\"$next\"/" "$stage/deputy.wxs" >"$up/deputy.wxs"
grep -q " Version=\"$next\"" "$up/deputy.wxs" || fail "$stage/deputy.wxs has no Version=\"$VERSION\" to bump (packaging/windows/deputy.wxs.in)"
(cd "$up" && wixl -a x64 -o upgrade.msi deputy.wxs 2>/dev/null) || fail "wixl could not build the $next test MSI from $up/deputy.wxs"
w msiexec /i "$(winepath -w "$up/upgrade.msi")" /qn >/dev/null 2>&1 || fail "installing $next over $VERSION failed"
[[ $(installed) == "$next" ]] || fail "after installing $next over $VERSION, installed: '$(installed)' (MajorUpgrade broken)"
step "MSI upgrade: $next replaced $VERSION (one product left)"
if w msiexec /i "$(winepath -w "$msi")" /qn >/dev/null 2>&1; then fail "installing $VERSION over $next was not refused"; fi
[[ $(installed) == "$next" ]] || fail "refused downgrade changed the installation: '$(installed)'"
step "MSI downgrade to $VERSION refused"
w msiexec /x "$(winepath -w "$up/upgrade.msi")" /qn >/dev/null 2>&1 || fail "msiexec /x failed"
[[ ! -e $pf/Deputy.exe && -z $(installed) ]] || fail "uninstall left $pf/Deputy.exe or a product entry behind"
step "MSI uninstalled (files and product entry gone)"

step "PASS"
