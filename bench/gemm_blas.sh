#!/bin/sh
# nn's SGEMM against OpenBLAS on ResNet-50's GEMM shapes: bench/gemm.c built
# with its OpenBLAS columns (GFLOP/s and the time ratio nn/OpenBLAS, 1 and 2 threads).
#   bench/gemm_blas.sh [BUILD_DIR]     (default build; needs libopenblas-dev)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
exe=$build/bench_gemm_blas
cc -O2 -std=gnu11 -DNN_BENCH_OPENBLAS -I"$root/include" -I"$root/lib" "$root/bench/gemm.c" \
  "$build/lib/libnn.a" -lopenblas -lpthread -lm -o "$exe"
exec "$exe"
