#!/usr/bin/env bash
# Generate the model zoo: torch export -> ORT reference outputs -> cross-check.
#
#   tools/zoo/make_zoo.sh OUTDIR [--small | --all | --models a,b,c]
#
# Default selection is --small (the CI subset).  Environment:
#   PYTHON        python with torch, torchvision, onnx, numpy
#                 (default /usr/bin/python3: Debian's, which has them)
#   ORT_NODE_DIR  directory holding node_modules/onnxruntime-node
#                 (default: <repo>/build/ort, then normal node lookup)
#   NODE          node binary (default: node)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { echo "usage: $0 OUTDIR [--small | --all | --models LIST]" >&2; exit 2; }

[ $# -ge 1 ] || usage
outdir="$1"; shift
select=(--small)
case "${1:-}" in
  "") ;;
  --small) select=(--small) ;;
  --all) select=() ;;
  --models) [ $# -ge 2 ] || usage; select=(--models "$2") ;;
  *) usage ;;
esac

if [ -z "${PYTHON:-}" ]; then
  # Prefer Debian's python: a pyenv/venv python3 earlier on PATH usually
  # lacks the apt-installed torch/onnx.
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
NODE="${NODE:-node}"

names=$("$PYTHON" "$here/export_zoo.py" --list "${select[@]}")
list=$(echo "$names" | tr ' ' ',')
mkdir -p "$outdir"

t0=$SECONDS
echo "== export ($list)"
"$PYTHON" "$here/export_zoo.py" "$outdir" --models "$list"
t1=$SECONDS

echo "== onnxruntime reference outputs"
cases=()
for n in $names; do cases+=("$outdir/$n"); done
"$NODE" "$here/ort_reference.js" "${cases[@]}"
t2=$SECONDS

echo "== torch vs onnxruntime"
status=0
"$PYTHON" "$here/check_ref.py" "$outdir" --models "$list" || status=$?
echo "== times: export $((t1 - t0)) s, ort $((t2 - t1)) s, check $((SECONDS - t2)) s"
exit $status
