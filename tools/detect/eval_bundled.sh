#!/bin/sh
# mAP@0.5 of the bundled detector on freshly generated held-out scenes
# (Fashion-MNIST t10k items, never seen in training); fails below MIN.
#   eval_bundled.sh NN_TOOL MODEL WORKDIR [MIN]
set -eu
tool=$1
model=$2
work=$3
min=${4:-0.80}
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -d "$work/scenes" ]; then
  /usr/bin/python3 "$root/tools/detect/scenes.py" "$work/scenes" 200 12345 >/dev/null
fi
out=$("$tool" eval-detect "$model" --data "$work/scenes" --verbose)
echo "$out"
map=$(echo "$out" | sed -n 's/^mAP@0.5: //p')
if awk -v m="$map" -v t="$min" 'BEGIN { exit !(m >= t) }'; then
  echo "PASS: mAP@0.5 $map >= $min"
  echo "1 passed, 0 failed"
else
  echo "FAIL: mAP@0.5 $map < $min"
  echo "0 passed, 1 failed"
  exit 1
fi
