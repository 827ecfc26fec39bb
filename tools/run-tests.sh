#!/bin/sh
# The whole test suite, as CI runs it:
#  1. generate ONNX's node conformance suite and the small model zoo (with
#     ONNX Runtime reference outputs) into build/,
#  2. a Release build with -Werror: unit tests, conformance, zoo, install check,
#     Python bindings, ABI (abidiff against tools/abi/libnn.so.1.abi), symbols,
#  3. a static-only build (-DBUILD_SHARED_LIBS=OFF): unit tests + install check,
#  4. an AddressSanitizer+UndefinedBehaviorSanitizer build: unit tests and
#     the conformance suite again (the unit tests include the allocation-
#     failure sweep check_oom under LeakSanitizer),
#  5. a ThreadSanitizer build of the thread stress test (check_threads),
#  6. fuzzing: each libFuzzer target for NN_FUZZ_SECONDS (default 30) under
#     ASan+UBSan (fuzz/run.sh; clang). NN_FUZZ_SECONDS=0 skips it.
# Set NN_ZOO=all for the full zoo (several GB, slower); NN_AARCH64=1 adds the
# aarch64 cross build and its unit tests under qemu-user (tools/cross/aarch64.sh).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
PY=/usr/bin/python3

if [ ! -d build/onnx-node/node ]; then
  echo "== generating the ONNX node conformance suite"
  $PY tools/conformance/generate.py build/onnx-node >/dev/null
fi
zoo_sel=--small
[ "${NN_ZOO:-small}" = all ] && zoo_sel=--all
if [ ! -f build/zoo/.done$zoo_sel ]; then
  echo "== generating the model zoo ($zoo_sel)"
  ORT_NODE_DIR="$root/build/ort" tools/zoo/make_zoo.sh build/zoo $zoo_sel
  touch build/zoo/.done$zoo_sel
fi

echo "== release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DNN_WERROR=ON -DNN_ABI_CHECK=ON \
  -DNN_ONNX_NODE_DIR="$root/build/onnx-node/node" -DNN_ZOO_DIR="$root/build/zoo" >/dev/null
cmake --build build/release -j"$jobs" 2>&1 | grep -E "warning|error" || true
cmake --build build/release -j"$jobs" >/dev/null
(cd build/release && ctest --output-on-failure -j"$jobs")

echo "== static-only build"
cmake -S . -B build/static -DCMAKE_BUILD_TYPE=Release -DNN_WERROR=ON -DBUILD_SHARED_LIBS=OFF -DNN_ABI_CHECK=OFF >/dev/null
cmake --build build/static -j"$jobs" >/dev/null
(cd build/static && ctest --output-on-failure -j"$jobs" -L "unit|install")

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNN_WERROR=ON -DNN_SANITIZE=ON \
  -DNN_ONNX_NODE_DIR="$root/build/onnx-node/node" >/dev/null
cmake --build build/asan -j"$jobs" >/dev/null
(cd build/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs" -L "unit|conformance")
echo "== ThreadSanitizer build: thread stress"
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNN_WERROR=ON -DNN_TSAN=ON -DNN_BUILD_SHARED=OFF \
  -DNN_ABI_CHECK=OFF >/dev/null
cmake --build build/tsan -j"$jobs" --target check_threads >/dev/null
CK_FORK=no TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build/tsan/test/check_threads

if [ "${NN_FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== fuzzing (${NN_FUZZ_SECONDS:-30} s per target)"
  fuzz/run.sh "${NN_FUZZ_SECONDS:-30}"
fi
if [ "${NN_AARCH64:-0}" = 1 ]; then
  echo "== aarch64 cross build under qemu-user"
  tools/cross/aarch64.sh
fi
echo "== all tests passed"
