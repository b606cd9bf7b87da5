#!/usr/bin/env bash
# Runs every fuzz target under internal/ for FUZZTIME (default 8s) each.
set -euo pipefail
t="${FUZZTIME:-8s}"
go test -list '^Fuzz' ./internal/... | awk '
  /^Fuzz/ { fs[n++] = $1 }
  /^ok /  { for (i = 0; i < n; i++) print $2, fs[i]; n = 0 }' |
while read -r pkg fn; do
  echo "fuzz: $pkg $fn ($t)"
  go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$pkg"
done
