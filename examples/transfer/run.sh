#!/bin/sh
# The transfer-learning example from the command line (see README.md):
# fine-tune the pretrained network with a frozen backbone and a new head,
# train the same network from scratch on the same 250 images, and evaluate
# both on the 5,000 test images of the new classes.
# usage: examples/transfer/run.sh [NN_TOOL] [WORK_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tool=${1:-$here/../../build/tools/nn-tool/nn-tool}
work=${2:-$here/work}
[ -f "$work/pretrained.onnx" ] || /usr/bin/python3 "$here/prepare.py" --out "$work"
cd "$work"
common="--data train --epochs 20 --batch 25 --optimizer adam --seed 1"

# 1. frozen backbone (every pretrained layer), new 5-class head
"$tool" train pretrained.onnx $common --lr 0.01 --replace-head --freeze all --out head_only.onnx --plot head_only.png
# 2. frozen convolutional backbone (conv+BN x2), the fully connected layers and a new head trained
"$tool" train pretrained.onnx $common --lr 0.003 --replace-head --freeze 4 --out fc_tuned.onnx --plot fc_tuned.png
# 3. the same network from scratch (BatchNorm statistics learned from the batches)
"$tool" train scratch.onnx $common --lr 0.003 --replace-head --bn train --out scratch_trained.onnx --plot scratch.png

for m in head_only fc_tuned scratch_trained; do
  printf '%-16s ' "$m"
  "$tool" eval "$m.onnx" --data test 2>/dev/null | tail -n 1
done
