#!/bin/sh
# Build the libFuzzer targets (clang, ASan+UBSan) and fuzz each for a bounded
# time, starting from the committed seeds (fuzz/corpus/<target>) and the
# regression inputs (test/data/regress/<target>). Any crash, leak, timeout,
# sanitizer report or over-limit allocation fails the run; the input is left in
# build/fuzz/artifacts/<target>/ (turn it into a test: fuzz/README.md).
#   fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]     (default: 45 s, all targets)
# Environment: NN_FUZZ_BUILD (build folder, default build/fuzz), NN_FUZZ_JOBS
# (parallel fuzzing processes per target, default 1).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-45}
[ $# -gt 0 ] && shift
targets=${*:-"onnx onnx_graph meta darknet png jpeg tensor"}
build=${NN_FUZZ_BUILD:-$root/build/fuzz}
jobs=${NN_FUZZ_JOBS:-1}
cc=${CC:-clang}
command -v "$cc" >/dev/null 2>&1 || { echo "fuzz/run.sh: $cc not found (tools/install-deps.sh installs clang)"; exit 1; }

echo "== fuzz build ($build)"
mkdir -p "$build"
if ! { CC=$cc cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNN_FUZZ=ON -DNN_BUILD_TESTS=OFF \
         -DNN_BUILD_TOOLS=OFF -DNN_BUILD_SHARED=OFF -DNN_ABI_CHECK=OFF &&
       cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)"; } >"$build/build.log" 2>&1; then
  tail -30 "$build/build.log"
  echo "fuzz/run.sh: the fuzz build failed ($build/build.log)"
  exit 1
fi

# LeakSanitizer on, UBSan fatal; allocations over 1 GiB are bugs (the targets load
# with limits of a few MiB).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=""
for t in $targets; do
  work="$build/corpus/$t"
  art="$build/artifacts/$t"
  mkdir -p "$work" "$art"
  dirs="$work $root/fuzz/corpus/$t"
  [ -d "$root/test/data/regress/$t" ] && dirs="$dirs $root/test/data/regress/$t"
  par=""
  [ "$jobs" -gt 1 ] && par="-jobs=$jobs -workers=$jobs"
  dict=""
  [ -f "$root/fuzz/$t.dict" ] && dict="-dict=$root/fuzz/$t.dict"
  echo "== fuzz_$t: ${secs}s"
  start=$(date +%s)
  # A fixed seed (NN_FUZZ_SEED, default 1) makes the bounded CI runs repeatable;
  # long campaigns pass another one.
  if "$build/fuzz/fuzz_$t" -seed="${NN_FUZZ_SEED:-1}" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -malloc_limit_mb=1024 \
      -max_len=65536 -print_final_stats=1 $par $dict -artifact_prefix="$art/" $dirs \
      >"$build/fuzz_$t.log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$build/fuzz_$t.log" | tail -3 || true
  else
    echo "fuzz_$t FAILED after $(( $(date +%s) - start ))s: see $build/fuzz_$t.log and $art/"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$build/fuzz_$t.log" | head -20 || true
    failed="$failed $t"
  fi
done
if [ -n "$failed" ]; then
  echo "== fuzzing found problems in:$failed"
  exit 1
fi
echo "== fuzzing: no problems found"
