#!/bin/sh
# Stage an install with DESTDIR and build the consumer against it through
# both pkg-config and find_package(nn); run each against a test model.
# usage: check_install.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage" cmake --install "$build" --prefix /usr/local >/dev/null
prefix="$stage/usr/local"
libdir=$(ls -d "$prefix"/lib*/ | head -1)
model="$src/test/data/models/identity.onnx"

# pkg-config (paths in nn.pc are for /usr/local: point pkg-config at the stage)
PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" \
  cc -o "$stage/consumer_pc" "$src/test/consumer/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage" pkg-config --cflags --libs nn)
LD_LIBRARY_PATH="$libdir" "$stage/consumer_pc" "$model"

# find_package(nn)
cmake -S "$src/test/consumer" -B "$stage/cbuild" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$stage/cbuild" >/dev/null
LD_LIBRARY_PATH="$libdir" "$stage/cbuild/consumer" "$model"

# only nn_* symbols exported, SONAME libnn.so.1
so=$(ls "$libdir"/libnn.so.1.* | head -1)
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^nn_' | grep -v '^NN_1' || true)
if [ -n "$bad" ]; then echo "non-nn symbols exported: $bad"; exit 1; fi
readelf -d "$so" | grep -q 'SONAME.*\[libnn.so.1\]' || { echo "SONAME is not libnn.so.1"; exit 1; }
echo "install check: pkg-config and find_package consumers OK; exports only nn_*; SONAME libnn.so.1"
