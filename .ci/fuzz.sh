#!/usr/bin/env bash
# Runs every fuzz target under internal/ for FUZZTIME (default 8s) each.
#
# A real finding always writes its input to testdata/fuzz/<Target>/. Go's fuzz
# coordinator can also fail with "context deadline exceeded" and no input when the
# machine is overloaded; that run is repeated once, never ignored twice.
set -euo pipefail
t="${FUZZTIME:-8s}"
go test -list '^Fuzz' ./internal/... | awk '
  /^Fuzz/ { fs[n++] = $1 }
  /^ok /  { for (i = 0; i < n; i++) print $2, fs[i]; n = 0 }' |
while read -r pkg fn; do
  dir="$(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$fn"
  count() { if [ -d "$dir" ]; then ls "$dir" | wc -l; else echo 0; fi; }
  before=$(count)
  for try in 1 2; do
    echo "fuzz: $pkg $fn ($t, try $try)"
    if go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg"; then break; fi
    after=$(count)
    if [ "$after" -gt "$before" ] || [ "$try" -eq 2 ]; then
      echo "fuzz: $fn failed (inputs in $dir)" >&2; exit 1
    fi
    echo "fuzz: $fn: the fuzzer gave up without a failing input (machine overloaded?); retrying once" >&2
  done
done
