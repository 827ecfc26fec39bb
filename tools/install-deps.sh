#!/bin/sh
# Install what a fresh Debian 12 machine lacks to build and test nn (run as
# root, or with sudo available). Idempotent: safe to run again.
#   tools/install-deps.sh          build + test dependencies
# (abigail-tools: the ABI check; python3-venv/-setuptools/-wheel: the pip install
# check of the Python bindings; clang + libclang-rt-14-dev: libFuzzer for fuzz/.
# Doxygen is optional: `cmake --build build
# --target docs` where it is installed.)
# ONNX Runtime (the reference the zoo is checked against) comes from the npm
# registry into build/ort (git-ignored).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

pkgs="build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev check
      libpng-dev libjpeg-dev
      python3 python3-numpy python3-onnx python3-torch python3-torchvision python3-pil python3-pytest
      binutils dataset-fashion-mnist darknet abigail-tools python3-venv python3-setuptools python3-wheel
      clang libclang-rt-14-dev"
# node + npm: the machine image may ship its own; use Debian's only if absent
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "== apt-get install$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -d "$root/build/ort/node_modules/onnxruntime-node" ]; then
  echo "== npm install onnxruntime-node@1.30.0 (into build/ort)"
  mkdir -p "$root/build/ort"
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$root/build/ort" onnxruntime-node@1.30.0 >/dev/null
fi
echo "== dependencies ready"
