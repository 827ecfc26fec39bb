#!/bin/sh
# nn-tool train on the bundled Fashion-MNIST model and its ten sample images
# (one class folder each): a new head over a frozen backbone learns them, the
# saved model reloads and evaluates them all correctly, the cache gives the
# same model as --no-cache, --plot writes a PNG, bad flags fail cleanly.
# usage: train_cli.sh NN_TOOL SOURCE_DIR
set -eu
tool=$1
src=$2
model="$src/models/fashion_cnn.onnx"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for f in "$src/models/samples"/*; do
  d=$(basename "$f" | sed 's/[_.].*//')
  mkdir -p "$tmp/data/$d"
  cp "$f" "$tmp/data/$d/"
done
args="--data $tmp/data --replace-head --freeze all --epochs 40 --batch 4 --optimizer adam --lr 0.05 --seed 7 --threads 2"
"$tool" train "$model" $args --out "$tmp/a.onnx" --plot "$tmp/loss.png" 2>"$tmp/log" || { cat "$tmp/log"; fail "train"; }
grep -q "^epoch 40/40" "$tmp/log" || grep -q "epoch 40/40" "$tmp/log" || fail "no progress lines: $(cat "$tmp/log")"
grep -q "frozen-prefix cache" "$tmp/log" || fail "the cache was not used: $(cat "$tmp/log")"
[ "$(head -c 8 "$tmp/loss.png" | od -An -c | tr -d ' ')" = "211PNG\r\n032\n" ] || fail "--plot did not write a PNG"
out=$("$tool" eval "$tmp/a.onnx" --data "$tmp/data" 2>/dev/null)
echo "$out" | grep -q "mapped to classes by name" || fail "labels not saved as nn.labels: $out"
echo "$out" | grep -qx "accuracy: 1.0000" || fail "the new head did not learn the samples: $out"
"$tool" train "$model" $args --no-cache --out "$tmp/b.onnx" 2>/dev/null || fail "train --no-cache"
cmp -s "$tmp/a.onnx" "$tmp/b.onnx" || fail "the frozen-prefix cache changed the result"
"$tool" train "$model" $args --class-weights auto --epochs 2 --out "$tmp/c.onnx" 2>"$tmp/log" || fail "class weights"
grep -q "^class weights: 1 1 1" "$tmp/log" || fail "auto class weights: $(cat "$tmp/log")"
if "$tool" train "$model" --data "$tmp/data" --out "$tmp/d.onnx" --optimizer nope 2>/dev/null; then fail "bad optimizer accepted"; fi
# without a new head, folders map to the model's own classes (here by sorted order)
mv "$tmp/data/tshirt" "$tmp/data/T-shirt_top"
"$tool" train "$model" --data "$tmp/data" --out "$tmp/d.onnx" --epochs 1 --freeze 2 2>"$tmp/log" || fail "train without a new head"
grep -q "mapped to the model's classes by sorted order" "$tmp/log" || fail "folder mapping: $(cat "$tmp/log")"
echo "train CLI checks passed"
