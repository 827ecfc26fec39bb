#!/bin/sh
# The README's main command: build nn (Release, in build/release), classify
# the bundled sample images with the bundled Fashion-MNIST model (the top-3
# labels of each), then detect the items of a bundled sample scene with the
# bundled detector (boxes, labels, scores; the annotated image is written to
# build/detector_scene_0000_detected.png).
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
tool=build/release/tools/nn-tool/nn-tool
echo "\$ nn-tool classify models/fashion_cnn.onnx models/samples/*" >&2
"$tool" classify models/fashion_cnn.onnx models/samples/*
scene=models/detector_samples/scene_0000.png
out=build/detector_scene_0000_detected.png
echo "\$ nn-tool detect models/fashion_detector.onnx $scene --out $out" >&2
"$tool" detect models/fashion_detector.onnx "$scene" --out "$out"
echo "(annotated image: $out; true items of the scene: ${scene%.png}.txt)" >&2
