#!/bin/sh
# Darknet parity: nn against Debian's darknet on seeded weights.
#   parity.sh DN_TOOL DARKNET_PARITY WORKDIR [MODEL...]
# For each model (default: yolov3-tiny yolov2-tiny, Debian's cfgs) dn_tool
# writes seeded "sane" weights, then for each sample photo it records what
# darknet computes (letterboxed input, raw head inputs, drawn boxes);
# darknet_parity runs nn on the same input and compares raw outputs and
# boxes. The first photo is also run through `darknet detector test` itself
# to check that dn_tool reports exactly what the darknet program prints.
set -eu
dn_tool=$1
parity=$2
mkdir -p "$3"
work=$(cd "$3" && pwd)
shift 3
models=${*:-yolov3-tiny yolov2-tiny}
cfgdir=/usr/share/darknet/cfg
data=/usr/share/darknet/data
thresh=0.5
mkdir -p "$work"
printf 'classes=80\nnames=%s/coco.names\n' "$data" >"$work/coco.data"
pass=0
fail=0
result() {
  if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}
for model in $models; do
  cfg=$cfgdir/$model.cfg
  weights=$work/$model.weights
  [ -s "$weights" ] || "$dn_tool" weights "$cfg" "$data/dog.jpg" 1 "$weights" >"$work/$model.log" 2>&1
  first=1
  for img in dog giraffe person eagle; do
    out=$work/$model-$img
    mkdir -p "$out"
    "$dn_tool" run "$cfg" "$weights" "$data/$img.jpg" $thresh "$out" >"$out/dn_tool.log" 2>&1
    echo "== $model on $img.jpg ($(wc -l <"$out/boxes.txt") darknet detections)"
    if "$parity" "$cfg" "$weights" "$out" $thresh "$data/$img.jpg"; then result ok; else result fail; fi
    if [ $first = 1 ]; then
      first=0
      # the darknet program's own printout: "name: NN%" per drawn detection
      (cd "$work" && darknet detector test coco.data "$cfg" "$weights" "$data/$img.jpg" -thresh $thresh \
        -out "$out/predictions" 2>/dev/null | grep -E '^[a-z ]+: [0-9]+%$' >"$out/cli.txt") || true
      awk 'NR == FNR { name[NR - 1] = $0; next } { printf "%s: %.0f%%\n", name[$1], $2 * 100 }' \
        "$data/coco.names" "$out/boxes.txt" >"$out/dn_tool.txt"
      if [ -s "$out/cli.txt" ] && cmp -s "$out/cli.txt" "$out/dn_tool.txt"; then
        echo "PASS: darknet detector test prints the same $(wc -l <"$out/cli.txt") detections as dn_tool"
        result ok
      else
        echo "FAIL: darknet detector test and dn_tool disagree (see $out/cli.txt, $out/dn_tool.txt)"
        result fail
      fi
    fi
  done
done
echo "darknet parity: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
