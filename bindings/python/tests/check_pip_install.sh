#!/bin/sh
# pip-install the bindings offline into a fresh venv (as docs/getting-started-
# python.md says) and use the installed package from outside the source tree.
# usage: check_pip_install.sh PYTHON SOURCE_DIR LIBNN MODEL
set -eu
py=$1 src=$2 libnn=$3 model=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/bindings/python" "$tmp/pkg"   # pip builds in the tree: keep the source clean
rm -rf "$tmp/pkg/build" "$tmp/pkg"/*.egg-info
"$py" -m venv --system-site-packages "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --no-build-isolation --no-index "$tmp/pkg"
rm -rf "$tmp/pkg"
cd "$tmp"
NN_LIBRARY="$libnn" "$tmp/venv/bin/python" - "$model" <<'PY'
import sys, numpy as np, nn
assert nn.__file__.startswith(sys.prefix), nn.__file__
m = nn.load(sys.argv[1])
x = np.arange(3, dtype=np.float32).reshape(1, 3)
assert np.array_equal(m.run(x)[0], x)
print("pip install OK: nn", nn.__version__, "from", nn.__file__, "with libnn", nn.version())
PY
# without NN_LIBRARY and no installed libnn, the error says what to do
if env -u NN_LIBRARY LD_LIBRARY_PATH= "$tmp/venv/bin/python" -c "import nn; nn.version()" 2>"$tmp/err"; then
  : # an installed libnn.so.1 was found: fine
else
  grep -q "set NN_LIBRARY" "$tmp/err" || { cat "$tmp/err"; exit 1; }
fi
