#!/bin/sh
# Run ONNX's node conformance suite through nn-tool test.
# usage: run.sh NN_TOOL NODE_DIR
# Every case whose ops nn supports must pass; unsupported ones are skipped.
set -eu
tool=$1
dir=$2
exec "$tool" test --quiet "$dir"/*/
