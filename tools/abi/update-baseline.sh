#!/bin/sh
# Regenerate the committed ABI baseline tools/abi/libnn.so.1.abi from the
# current sources. Run deliberately, and commit the result together with the
# API change it records (new functions, an options struct grown at its end).
# Never run it to silence a failing `abi` test for a removal or a change of an
# existing function: that needs SONAME 2 (docs/ABI.md).
# usage: tools/abi/update-baseline.sh
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNN_ABI_CHECK=ON -DNN_BUILD_TESTS=OFF \
  -DNN_BUILD_TOOLS=OFF -DNN_BUILD_STATIC=OFF >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target nn >/dev/null
out="$src/tools/abi/libnn.so.1.abi"
abidw --headers-dir "$src/include" --no-corpus-path --no-comp-dir-path "$build/lib/libnn.so.1" > "$out.new"
if [ -f "$out" ]; then
  echo "== changes against the previous baseline:"
  abidiff --headers-dir1 "$src/include" --headers-dir2 "$src/include" "$out" "$out.new" || true
fi
mv "$out.new" "$out"
echo "== wrote $out ($(grep -c '<elf-symbol ' "$out") symbols); commit it with the change it records"
