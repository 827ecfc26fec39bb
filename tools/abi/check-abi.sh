#!/bin/sh
# Compare a built libnn.so.1 with the committed ABI baseline (libabigail).
# usage: check-abi.sh LIBNN_SO SOURCE_DIR
#
# Additions are allowed: abidiff runs with --no-added-syms, so new functions
# pass (they are listed as a reminder to refresh the baseline). Any other
# reported change fails: removed or re-versioned symbols (abidiff sets the
# ABI_INCOMPATIBLE_CHANGE bit, 8) and changed types of existing functions
# (ABI_CHANGE, 4: a parameter, return or struct changed). Growing an options
# struct at its end is compatible by docs/ABI.md, but it is reviewed: check
# the report shows only an appended member, then run
# tools/abi/update-baseline.sh in the same commit.
# The library must carry DWARF (configure with -DNN_ABI_CHECK=ON, the default
# when libabigail is installed). Exit 77 (skip) for another architecture.
set -u
so=$1
src=$2
baseline="$src/tools/abi/libnn.so.1.abi"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! readelf -S "$so" | grep -q '\.debug_info'; then
  echo "abi: $so has no debug info; configure with -DNN_ABI_CHECK=ON"
  exit 1
fi
abidw --headers-dir "$src/include" --no-corpus-path --no-comp-dir-path "$so" > "$tmp/current.abi" || exit 1
arch_of() { sed -n "s/.*architecture='\([^']*\)'.*/\1/p" "$1" | head -1; }
if [ "$(arch_of "$baseline")" != "$(arch_of "$tmp/current.abi")" ]; then
  echo "abi: baseline is for $(arch_of "$baseline"), library is $(arch_of "$tmp/current.abi"): skipped"
  exit 77
fi

abidiff --no-added-syms --headers-dir1 "$src/include" --headers-dir2 "$src/include" \
  "$baseline" "$tmp/current.abi" > "$tmp/report"
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
  cat "$tmp/report"
  echo "abi: abidiff failed (exit $rc)"
  exit 1
fi
if [ $((rc & 8)) -ne 0 ]; then
  cat "$tmp/report"
  echo "abi: INCOMPATIBLE change against the baseline (abidiff exit $rc): symbols removed or re-versioned"
  exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
  cat "$tmp/report"
  echo "abi: existing functions or types changed (abidiff exit $rc). If this is an options struct"
  echo "     growing at its end (docs/ABI.md), refresh the baseline: tools/abi/update-baseline.sh"
  exit 1
fi
# additions: a reminder, not a failure
abidiff --headers-dir1 "$src/include" --headers-dir2 "$src/include" "$baseline" "$tmp/current.abi" > "$tmp/added"
added=$(grep -c "^  \[A\]" "$tmp/added" || true)
if [ "$added" -gt 0 ]; then
  grep "^  \[A\]" "$tmp/added"
  echo "abi: compatible; $added added function(s) not in the baseline yet (tools/abi/update-baseline.sh)"
else
  echo "abi: no change against the baseline"
fi
exit 0
