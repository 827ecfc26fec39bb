#!/bin/sh
# nn-tool classify / eval on the bundled model and samples: the exact JSON
# line format, text output, error exit status, and eval over a class-folder
# tree built from the samples (folder names in several spellings).
# usage: image_cli.sh NN_TOOL SOURCE_DIR
set -eu
tool=$1
src=$2
model="$src/models/fashion_cnn.onnx"
s="$src/models/samples"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

line=$("$tool" classify "$model" "$s/dress.png" --json --top 2)
case "$line" in
  "{\"image\": \"$s/dress.png\", \"top\": [{\"index\": 3, \"label\": \"Dress\", \"score\": "*"}, {\"index\": "*"}]}") ;;
  *) fail "unexpected JSON line: $line" ;;
esac
[ "$("$tool" classify "$model" "$s"/* --json | wc -l)" -eq 10 ] || fail "not one JSON line per image"
"$tool" classify "$model" "$s/trouser.jpg" | grep -q "Trouser (1)" || fail "text output"
if "$tool" classify "$model" "$src/test/data/images/bad_truncated.png" --json >"$tmp/out" 2>/dev/null; then
  fail "a bad image must make classify fail"
fi
grep -q '"error": "loading image' "$tmp/out" || fail "no JSON error line"

# eval: one folder per class, spelled as labels, squashed, or renamed
for f in "$s"/*; do
  base=$(basename "$f")
  case "$base" in
    tshirt*) d="T-shirt_top" ;; ankle*) d="ankle boot" ;; *) d=$(echo "$base" | sed 's/[_.].*//') ;;
  esac
  mkdir -p "$tmp/tree/$d"
  cp "$f" "$tmp/tree/$d/"
done
out=$("$tool" eval "$model" --data "$tmp/tree" --threads 3 2>"$tmp/err")
echo "$out" | grep -q "mapped to classes by name" || fail "folders not mapped by name: $out"
echo "$out" | grep -qx "accuracy: 1.0000" || fail "eval accuracy: $out"
echo "image CLI checks passed"
