#!/bin/sh
# A model fine-tuned by `nn-tool train` (new head, frozen backbone, then the
# whole network) is valid ONNX that ONNX Runtime
# runs like nn within 1e-4 (tools/zoo/check_save.py; exit 77 = skipped without ORT).
# usage: train_ort.sh NN_TOOL SOURCE_DIR PYTHON
set -eu
tool=$1
src=$2
py=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$src/models/samples"/*; do
  d=$(basename "$f" | sed 's/[_.].*//')
  mkdir -p "$tmp/data/$d"
  cp "$f" "$tmp/data/$d/"
done
"$tool" train "$src/models/fashion_cnn.onnx" --data "$tmp/data" --replace-head --freeze all --epochs 3 --batch 4 \
  --out "$tmp/head.onnx" 2>/dev/null
"$tool" train "$src/models/fashion_cnn.onnx" --data "$tmp/data" --replace-head --epochs 3 --batch 4 \
  --optimizer adam --lr 0.001 --out "$tmp/full.onnx" 2>/dev/null
exec "$py" "$src/tools/zoo/check_save.py" --nn-tool "$tool" --no-edits --work "$tmp/work" "$tmp/head.onnx" "$tmp/full.onnx"
