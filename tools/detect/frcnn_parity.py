#!/usr/bin/python3
"""Faster R-CNN parity: torchvision's fasterrcnn_mobilenet_v3_large_320_fpn
(seeded, export_frcnn.py) run by nn against torch's own outputs and, when
onnxruntime-node is available, ONNX Runtime's.

  frcnn_parity.py NN_TOOL [--work DIR] [--box-tol PX] [--score-tol T]

Checks, per reference: the same number of detections, the same labels in the
same order, boxes within --box-tol pixels and scores within --score-tol; then
that `nn-tool detect --json` on the test image gives those boxes (the image is
the model's input size, so input pixels are image pixels; the JSON has two
decimals, and nn's own 8-bit -> float conversion may differ from numpy's by
an ulp, which moves boxes by ~5e-4 px). Detections come out of the model sorted by score; the order is
compared as it is (no tie matching: the seeded scores have no ties).
Exit 0 = pass, 1 = fail, 77 = skipped (no torch/torchvision/onnx).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'zoo'))

try:
    import numpy as np
    import onnx  # noqa: F401  (export_frcnn.py needs it too)
    import ort_ref
    from ort_ref import read_pb
    import torch  # noqa: F401
    import torchvision  # noqa: F401
except ImportError as e:
    print('frcnn_parity: skipped, %s' % e)
    sys.exit(77)


def outputs(d):
    return [read_pb(os.path.join(d, 'output_%d.pb' % k)) for k in range(3)]


def compare(name, nn, ref, box_tol, score_tol):
    """Print one line; True when nn matches ref."""
    (nb, nl, ns), (rb, rl, rs) = nn, ref
    if nb.shape != rb.shape or nl.shape != rl.shape or ns.shape != rs.shape:
        print('%-6s FAIL: nn gives %d detections, %s %d' % (name, len(nl), name, len(rl)))
        return False
    if not np.array_equal(nl, rl):
        print('%-6s FAIL: labels differ at %s' % (name, np.nonzero(nl != rl)[0][:10]))
        return False
    db = float(np.abs(nb - rb).max()) if len(rb) else 0.0
    ds = float(np.abs(ns - rs).max()) if len(rs) else 0.0
    ok = db <= box_tol and ds <= score_tol
    print('%-6s %s: %d detections, labels equal, max |box diff| %.4g px (tol %g), max |score diff| %.3g (tol %g)' % (
        name, 'ok' if ok else 'FAIL', len(rl), db, box_tol, ds, score_tol))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('nn_tool')
    ap.add_argument('--work', help='keep the files here (default: a temporary folder)')
    ap.add_argument('--box-tol', type=float, default=0.1)
    ap.add_argument('--score-tol', type=float, default=5e-4)
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix='nn_frcnn.')
    try:
        case = os.path.join(work, 'case')
        subprocess.run([sys.executable, os.path.join(HERE, 'export_frcnn.py'), case], check=True,
                       stderr=subprocess.DEVNULL)
        nn_dir = os.path.join(work, 'nn')
        subprocess.run([a.nn_tool, 'run', os.path.join(case, 'model.onnx'), '--input',
                        os.path.join(case, 'test_data_set_0', 'input_0.pb'), '--output-dir', nn_dir], check=True,
                       stdout=subprocess.DEVNULL)
        nn = outputs(nn_dir)
        if len(nn[0]) < 10:
            print('FAIL: only %d detections: the export is not a meaningful test' % len(nn[0]))
            return 1
        ok = compare('torch', nn, outputs(os.path.join(case, 'torch')), a.box_tol, a.score_tol)
        if ort_ref.available():
            code, out = ort_ref.run(case)
            if code:
                raise RuntimeError('ONNX Runtime failed: ' + out.strip()[-2000:])
            ok &= compare('ORT', nn, outputs(os.path.join(case, 'test_data_set_0')), a.box_tol, a.score_tol)
        else:
            print('ORT    skipped: onnxruntime-node not found (set ORT_NODE_DIR)')
        # nn_detect: the same boxes in image pixels (score > 0 keeps every one)
        r = subprocess.run([a.nn_tool, 'detect', os.path.join(case, 'model.onnx'), os.path.join(case, 'image.png'),
                            '--json', '--conf', '0'], check=True, stdout=subprocess.PIPE, universal_newlines=True)
        dets = json.loads(r.stdout.splitlines()[0])['detections']
        boxes = np.array([d['box'] for d in dets], dtype=np.float64).reshape(-1, 4)
        labels = np.array([d['index'] for d in dets])
        db = float(np.abs(boxes - nn[0]).max()) if len(dets) == len(nn[0]) else float('inf')
        det_ok = len(dets) == len(nn[0]) and np.array_equal(labels, nn[1]) and db <= 0.02
        print('detect %s: %d detections, labels %s, max |box - raw output| %.3g px (tol 0.02: 2 decimals, and the '
              'image is converted by nn, not numpy)' % (
            'ok' if det_ok else 'FAIL', len(dets), 'equal' if np.array_equal(labels, nn[1]) else 'differ', db))
        return 0 if ok and det_ok else 1
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
