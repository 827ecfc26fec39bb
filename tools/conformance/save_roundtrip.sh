#!/bin/sh
# Save every conformance model nn loads (nn-tool save) and run the suite on
# the saved copies: each must still pass (attributes, initializers, opsets and
# shapes survive nn's ONNX writer). Cases nn cannot load are left out.
# usage: save_roundtrip.sh NN_TOOL NODE_DIR
set -eu
tool=$1
dir=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/nn_save_roundtrip.XXXXXX")
trap 'rm -rf "$work"' EXIT
saved=0
for case in "$dir"/*/; do
    name=$(basename "$case")
    mkdir "$work/$name"
    if "$tool" save "$case/model.onnx" --out "$work/$name/model.onnx" >/dev/null 2>&1; then
        cp -r "$case"/test_data_set_* "$work/$name/"
        saved=$((saved + 1))
    else
        rmdir "$work/$name"
    fi
done
echo "saved $saved models"
exec "$tool" test --quiet "$work"/*/
