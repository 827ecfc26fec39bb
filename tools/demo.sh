#!/bin/sh
# The README's main command: build nn (Release, in build/release) and classify
# the bundled sample images with the bundled Fashion-MNIST model, printing the
# top-3 labels of each.
#   tools/demo.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
if [ ! -f build/release/CMakeCache.txt ]; then
  echo "== configuring build/release" >&2
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
echo "== building nn-tool" >&2
cmake --build build/release -j"$jobs" --target nn-tool >/dev/null
echo "\$ nn-tool classify models/fashion_cnn.onnx models/samples/*" >&2
exec build/release/tools/nn-tool/nn-tool classify models/fashion_cnn.onnx models/samples/*
