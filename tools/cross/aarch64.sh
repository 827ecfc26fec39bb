#!/bin/sh
# Cross-build nn for aarch64 (64-bit ARM Linux) and run its unit tests under
# qemu-user. Debian 12, as root or with sudo:
#   tools/cross/aarch64.sh            install what is missing, build, test
# Packages: crossbuild-essential-arm64 qemu-user-static, and through dpkg
# multiarch (dpkg --add-architecture arm64) the :arm64 -dev packages nn links.
# The build goes to build/aarch64; the closing ctest line gives the counts.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
jobs=$(nproc 2>/dev/null || echo 2)

host_pkgs="crossbuild-essential-arm64 qemu-user-static protobuf-c-compiler cmake pkg-config"
target_pkgs="libc6:arm64 libprotobuf-c-dev:arm64 check:arm64 libsubunit-dev:arm64 libpng-dev:arm64 libjpeg-dev:arm64"
missing=""
for p in $host_pkgs $target_pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== installing$missing"
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

echo "== cross build (build/aarch64)"
cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DNN_WERROR=ON -DNN_ABI_CHECK=OFF -UCMAKE_EXE_LINKER_FLAGS -DBUILD_SHARED_LIBS=ON -DNN_BUILD_SHARED=ON >/dev/null
cmake --build build/aarch64 -j"$jobs" >/dev/null
file build/aarch64/lib/libnn.so.1.* | sed 's/,.*//'

echo "== unit tests under qemu-user"
# (target programs run through qemu: CMAKE_CROSSCOMPILING_EMULATOR, see the
# toolchain file; host-only tests -- python, install, abi -- are left out)
(cd build/aarch64 && ctest --output-on-failure -j"$jobs" -LE "python|install")
