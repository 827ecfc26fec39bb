#!/bin/sh
# Check nn against ONNX Runtime's outputs on every generated zoo model.
# usage: run_zoo_test.sh NN_TOOL ZOO_DIR
# A model passes when nn's max abs error is <= 1e-4 of the reference
# output's range (max - min); unsupported ops fail (no skipping here).
set -eu
tool=$1
dir=$2
exec "$tool" test --no-skip --range-tol 1e-4 --threads 2 "$dir"/*/
