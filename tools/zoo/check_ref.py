#!/usr/bin/python3
"""Cross-check a generated zoo: ONNX checker + torch vs ONNX Runtime outputs.

  check_ref.py OUTDIR [--models a,b] [--rtol 1e-4] [--markdown]

For every case OUTDIR/<name>/ (all subdirectories holding model.onnx unless
--models is given): runs onnx.checker on model.onnx, loads the ORT reference
test_data_set_0/output_0.pb and compares it with torch_output_0.npy.

A case passes when max|torch - ort| <= rtol * max(output range, 1).  The two
runtimes use different conv/gemm kernels and summation orders, so bitwise
equality is not expected; ~1e-6..1e-5 of the range is typical.
Exit status is 1 if any case fails or is missing files.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper


def check_case(case, rtol):
    row = {'name': os.path.basename(case.rstrip('/'))}
    meta_path = os.path.join(case, 'meta.json')
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            row.update(json.load(f))
    model_path = os.path.join(case, 'model.onnx')
    # In-memory check: with a path and full_check, onnx 1.12 writes the
    # inferred shapes back into model.onnx.  full_check adds strict shape
    # inference.  Raises on an invalid model.
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    row['onnx_bytes'] = os.path.getsize(model_path)

    ref = onnx.load_tensor(os.path.join(case, 'test_data_set_0', 'output_0.pb'))
    ort = onnx.numpy_helper.to_array(ref)
    torch_out = np.load(os.path.join(case, 'torch_output_0.npy'))
    if ort.shape != torch_out.shape:
        raise ValueError('shape mismatch: ort %s vs torch %s' % (ort.shape, torch_out.shape))
    rng = float(ort.max() - ort.min())
    err = float(np.abs(ort.astype(np.float64) - torch_out).max())
    row.update(out_shape='x'.join(map(str, ort.shape)), lo=float(ort.min()), hi=float(ort.max()),
               err=err, rel=err / max(rng, 1e-30),
               ok=bool(np.all(np.isfinite(ort)) and err <= rtol * max(rng, 1.0)))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir')
    ap.add_argument('--models', help='comma-separated subset (default: every case in OUTDIR)')
    ap.add_argument('--rtol', type=float, default=1e-4)
    ap.add_argument('--markdown', action='store_true', help='print a markdown table')
    args = ap.parse_args()

    if args.models:
        names = [n for n in args.models.split(',') if n]
    else:
        names = sorted(d for d in os.listdir(args.outdir)
                       if os.path.exists(os.path.join(args.outdir, d, 'model.onnx')))
    if not names:
        sys.exit('no cases found in ' + args.outdir)

    rows, failures = [], 0
    for n in names:
        try:
            rows.append(check_case(os.path.join(args.outdir, n), args.rtol))
        except Exception as e:  # report every case, then fail
            failures += 1
            rows.append({'name': n, 'error': '%s: %s' % (type(e).__name__, e)})

    if args.markdown:
        print('| model | opset | input | output | output range | max abs err | err / range | MB |')
        print('|---|---|---|---|---|---|---|---|')
    else:
        print('%-20s %5s %-14s %-8s %-22s %10s %9s %8s  %s' % (
            'model', 'opset', 'input', 'output', 'output range', 'max|t-o|', 'err/rng', 'MB', 'ok'))
    for r in rows:
        if 'error' in r:
            print('%-20s ERROR %s' % (r['name'], r['error']))
            continue
        failures += not r['ok']
        shape_in = 'x'.join(map(str, r.get('input_shape', []))) or '?'
        if args.markdown:
            print('| %s | %s | %s | %s | [%.3g, %.3g] | %.2e | %.1e | %.1f |' % (
                r['name'], r.get('opset', '?'), shape_in, r['out_shape'], r['lo'], r['hi'],
                r['err'], r['rel'], r['onnx_bytes'] / 2**20))
        else:
            print('%-20s %5s %-14s %-8s [%9.3g, %9.3g] %10.2e %9.1e %8.1f  %s' % (
                r['name'], r.get('opset', '?'), shape_in, r['out_shape'], r['lo'], r['hi'],
                r['err'], r['rel'], r['onnx_bytes'] / 2**20, 'ok' if r['ok'] else 'FAIL'))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
