"""ONNX Runtime as a reference for the tools/ scripts: finding onnxruntime-node,
running ort_reference.js on a case folder, reading the TensorProto files.

ort_reference.js (beside this file) looks for onnxruntime-node in
$ORT_NODE_DIR, <repo>/build/ort, then the usual node resolution; available()
tries the same places, so a script can skip (exit 77) before doing any work.
Needs the onnx package (callers import it first and skip without it).
"""
import os
import subprocess

import onnx
import onnx.numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_JS = os.path.join(HERE, 'ort_reference.js')


def read_pb(path):
    """A TensorProto file as a numpy array."""
    t = onnx.TensorProto()
    with open(path, 'rb') as f:
        t.ParseFromString(f.read())
    return onnx.numpy_helper.to_array(t)


def available():
    """True when node can load onnxruntime-node from where ort_reference.js looks."""
    code = ("const p=require('path');const b=[process.env.ORT_NODE_DIR,p.join(%r,'..','..','build','ort'),%r,"
            "process.cwd()].filter(Boolean);for(const d of b){try{require(require.resolve('onnxruntime-node',"
            "{paths:[p.resolve(d)]}));process.exit(0)}catch(e){}}try{require('onnxruntime-node');process.exit(0)}"
            "catch(e){process.exit(1)}" % (HERE, HERE))
    try:
        return subprocess.run(['node', '-e', code]).returncode == 0
    except OSError:
        return False


def run(case):
    """Run ORT on case/model.onnx with case/test_data_set_*/input_*.pb, writing output_*.pb beside them.
    Returns (exit code, combined output)."""
    r = subprocess.run(['node', ORT_JS, case], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    return r.returncode, r.stdout
