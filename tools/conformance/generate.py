#!/usr/bin/python3
"""Generate ONNX's own operator conformance suite (the backend "node" tests)
with Debian's python3-onnx, into OUTDIR/node/<case>/{model.onnx,test_data_set_0}.

numpy 1.24 removed the np.float/np.int/... aliases that onnx 1.12's test
generators still use; restore them before importing the generators.
"""
import os
import sys

import warnings

import numpy as np

warnings.simplefilter("ignore", FutureWarning)

for alias, typ in (("float", float), ("int", int), ("bool", bool), ("object", object), ("complex", complex), ("str", str)):
    if not hasattr(np, alias):
        setattr(np, alias, typ)

from onnx.backend.test.cmd_tools import generate_data  # noqa: E402


class Args:
    pass


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: generate.py OUTDIR")
    args = Args()
    args.output = sys.argv[1]
    args.op_type = None
    os.makedirs(args.output, exist_ok=True)
    generate_data(args)


if __name__ == "__main__":
    main()
