#!/bin/sh
# Acceptance check for the bundled model: convert Fashion-MNIST's 10k test
# images into a class-folder tree and require `nn-tool eval` accuracy >= 0.90.
# usage: check_accuracy.sh NN_TOOL SOURCE_DIR WORK_DIR
set -eu
tool=$1
src=$2
work=$3
[ -f "$work/.done" ] || { /usr/bin/python3 "$src/tools/fashion/make_eval_tree.py" "$work" >/dev/null && touch "$work/.done"; }
out=$("$tool" eval "$src/models/fashion_cnn.onnx" --data "$work" --threads 2 2>/dev/null)
echo "$out"
acc=$(echo "$out" | sed -n 's/^accuracy: //p')
awk -v a="$acc" 'BEGIN { if (a + 0 >= 0.90) { print "accuracy " a " >= 0.90"; exit 0 } print "accuracy " a " < 0.90"; exit 1 }'
