#!/bin/sh
# nn's SGEMM against OpenBLAS on ResNet-50's GEMM shapes (bench/gemm_blas.c).
#   bench/gemm_blas.sh [BUILD_DIR]     (default build; needs libopenblas-dev)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
exe=$build/gemm_blas
cc -O2 -std=gnu11 -I"$root/include" -I"$root/lib" -I"$build/lib" "$root/bench/gemm_blas.c" \
  "$build/lib/libnn.a" -lopenblas -lprotobuf-c -lpng -ljpeg -lpthread -lm -o "$exe"
exec "$exe"
