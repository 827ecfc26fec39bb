#!/bin/sh
# Stage an install with `make install DESTDIR=...` and check it as a
# distribution would:
#  - C consumer through pkg-config (shared, and --static when libnn.a is there)
#  - C consumer through find_package(nn): nn::nn and nn::nn_static
#  - the C++ example (examples/cpp) through find_package, compiled with c++
#  - exports only nn_* (versioned), SONAME libnn.so.1, no RPATH/RUNPATH in the
#    library; installed nn-tool's RUNPATH is $ORIGIN/../<libdir> (or absent
#    with -DNN_INSTALL_RPATH=OFF) and it runs from the stage without
#    LD_LIBRARY_PATH; the man page is installed
# usage: check_install.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
prefix_cfg=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if [ -f "$build/Makefile" ]; then
  make -s -C "$build" install DESTDIR="$stage" >/dev/null
else
  DESTDIR="$stage" cmake --install "$build" >/dev/null
fi
prefix="$stage$prefix_cfg"
libdir=$(dirname "$(find "$prefix" -name nn.pc | head -1)")/..
libdir=$(cd "$libdir" && pwd)
model="$src/test/data/models/identity.onnx"
have_shared=no
ls "$libdir"/libnn.so.1 >/dev/null 2>&1 && have_shared=yes
have_static=no
[ -f "$libdir/libnn.a" ] && have_static=yes
pc() { PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config "$@"; }

# pkg-config (paths in nn.pc are for the real prefix: point pkg-config at the stage)
if [ $have_shared = yes ]; then
  cc -o "$stage/consumer_pc" "$src/test/consumer/consumer.c" $(pc --cflags --libs nn)
  LD_LIBRARY_PATH="$libdir" "$stage/consumer_pc" "$model"
fi
if [ $have_static = yes ]; then
  cc -o "$stage/consumer_pc_static" "$src/test/consumer/consumer.c" -DNN_STATIC \
    $(pc --cflags nn) "$libdir/libnn.a" $(pc --static --libs-only-l nn | sed 's/-lnn//')
  "$stage/consumer_pc_static" "$model"
fi

# find_package(nn) from C
cmake -S "$src/test/consumer" -B "$stage/cbuild" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$stage/cbuild" >/dev/null
LD_LIBRARY_PATH="$libdir" "$stage/cbuild/consumer" "$model"
"$stage/cbuild/consumer_static" "$model" >/dev/null
if [ $have_shared = yes ] && ldd "$stage/cbuild/consumer_static" | grep -q libnn; then
  echo "consumer_static links libnn.so"; exit 1
fi

# the C++ example through find_package, built with c++
cmake -S "$src/examples/cpp" -B "$stage/cppbuild" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER=c++ >/dev/null
cmake --build "$stage/cppbuild" >/dev/null
LD_LIBRARY_PATH="$libdir" "$stage/cppbuild/nn_run_cpp" "$src/test/data/models/multi_io.onnx"

# the man page
[ -f "$prefix/share/man/man1/nn-tool.1" ] || { echo "nn-tool.1 not installed"; exit 1; }

if [ $have_shared = yes ]; then
  so=$(ls "$libdir"/libnn.so.1.* | head -1)
  bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^nn_.*@@NN_1\.[0-9]*$' | grep -v '^NN_1\.[0-9]*$' || true)
  if [ -n "$bad" ]; then echo "unexpected dynamic symbols: $bad"; exit 1; fi
  readelf -d "$so" | grep -q 'SONAME.*\[libnn.so.1\]' || { echo "SONAME is not libnn.so.1"; exit 1; }
  if readelf -d "$so" | grep -qE 'RPATH|RUNPATH'; then echo "libnn.so.1 has an RPATH/RUNPATH"; exit 1; fi
  if [ -x "$prefix/bin/nn-tool" ]; then
    rp=$(readelf -d "$prefix/bin/nn-tool" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
    rel=$(python3 -c "import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))" "$libdir" "$prefix/bin" 2>/dev/null || echo ../lib)
    if [ -n "$rp" ] && [ "$rp" != "\$ORIGIN/$rel" ]; then echo "nn-tool RUNPATH is $rp"; exit 1; fi
    if readelf -d "$prefix/bin/nn-tool" | grep -q '(RPATH)'; then echo "nn-tool has a DT_RPATH"; exit 1; fi
    [ -n "$rp" ] && env -u LD_LIBRARY_PATH "$prefix/bin/nn-tool" version >/dev/null
    echo "nn-tool RUNPATH: ${rp:-none}"
  fi
fi
echo "install check: shared=$have_shared static=$have_static; pkg-config, find_package (C, C++) consumers OK"
