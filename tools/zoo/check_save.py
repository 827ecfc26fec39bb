#!/usr/bin/python3
"""Check that models nn saves are valid ONNX that ONNX Runtime runs like nn.

  check_save.py --nn-tool PATH [--work DIR] [--tol 1e-4 | --range-tol T] [--no-edits] MODEL_OR_CASE_DIR...

Each argument is a model.onnx file, a folder holding one (a zoo case:
test_data_set_0/input_*.pb are used as inputs when present, otherwise seeded
N(0,1) inputs of the declared shapes, symbolic dims taken as 1), or a folder
of such cases (a whole zoo). Per model:

  save     `nn-tool save` the model unchanged; onnx.checker (full_check) must
           pass; nn on the saved model must give exactly nn's outputs on the
           original, and ONNX Runtime on the saved model must agree with nn
           within --tol (max abs difference);
  input    (unless --no-edits) `nn-tool replace-input --size 160x192
           --channels 1`, then ORT vs nn on the edited model (skipped with a
           note when nn refuses the change, e.g. a fixed-width Flatten->Gemm);
  head     `nn-tool replace-head --classes 7 --seed 1`, then ORT vs nn.

Prints a table (model, variant, max |ORT - nn|, result) and exits 1 if any
check fails, 77 when onnxruntime-node or the onnx package is unavailable
(ctest reports a skip). ORT is driven by ort_reference.js beside this script
through ort_ref.py (set ORT_NODE_DIR to a folder holding
node_modules/onnxruntime-node).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    import onnx.numpy_helper
    import ort_ref
    from ort_ref import read_pb
except ImportError as e:  # pragma: no cover - environment dependent
    print('check_save: skipped, needs numpy and onnx (%s)' % e)
    sys.exit(77)

def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return r.returncode, r.stdout


def write_inputs(model_path, case_dir, set_dir, seed):
    """Inputs for a case folder: copied from the zoo case, else random."""
    os.makedirs(set_dir, exist_ok=True)
    src = os.path.join(case_dir, 'test_data_set_0') if case_dir else None
    if src and os.path.isdir(src) and any(f.startswith('input_') for f in os.listdir(src)):
        for f in sorted(os.listdir(src)):
            if f.startswith('input_'):
                shutil.copy(os.path.join(src, f), set_dir)
        return
    m = onnx.load(model_path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(seed)
    k = 0
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = [d.dim_value if d.HasField('dim_value') else 1 for d in tt.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type) if hasattr(onnx.helper, 'tensor_dtype_to_np_dtype') \
            else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[tt.elem_type]
        x = rng.standard_normal(shape).astype(dtype)
        with open(os.path.join(set_dir, 'input_%d.pb' % k), 'wb') as f:
            f.write(onnx.numpy_helper.from_array(x, vi.name).SerializeToString())
        k += 1


def nn_outputs(tool, model, set_dir, out_dir):
    inputs = sorted(f for f in os.listdir(set_dir) if f.startswith('input_'))
    cmd = [tool, 'run', model, '--output-dir', out_dir, '--threads', '2']
    for f in inputs:
        cmd += ['--input', os.path.join(set_dir, f)]
    code, out = run(cmd)
    if code:
        raise RuntimeError('nn-tool run failed: ' + out.strip())
    return [read_pb(os.path.join(out_dir, f)) for f in sorted(os.listdir(out_dir)) if f.startswith('output_')]


def ort_outputs(case):
    for f in os.listdir(os.path.join(case, 'test_data_set_0')):
        if f.startswith('output_'):
            os.remove(os.path.join(case, 'test_data_set_0', f))
    code, out = ort_ref.run(case)
    if code:
        raise RuntimeError('ONNX Runtime failed: ' + out.strip()[-2000:])
    d = os.path.join(case, 'test_data_set_0')
    return [read_pb(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.startswith('output_')]


def max_diff(a, b):
    if len(a) != len(b):
        raise RuntimeError('%d outputs vs %d' % (len(a), len(b)))
    worst = 0.0
    for x, y in zip(a, b):
        if x.shape != y.shape:
            raise RuntimeError('output shapes differ: %s vs %s' % (x.shape, y.shape))
        if x.size:
            worst = max(worst, float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
    return worst


def check_variant(args, name, variant, model_src, case_dir, work, edit_cmd):
    """Make one variant (edit_cmd None = plain save), run nn and ORT. Returns a table row."""
    case = os.path.join(work, name + '.' + variant)
    os.makedirs(case, exist_ok=True)
    saved = os.path.join(case, 'model.onnx')
    cmd = [args.nn_tool] + (edit_cmd or ['save']) + [model_src, '--out', saved]
    code, out = run(cmd)
    if code:
        if edit_cmd and code in (1, 2):  # nn said no, with a message
            return (name, variant, None, 'refused: ' + out.strip().splitlines()[-1][:150])
        raise RuntimeError(' '.join(cmd) + ': ' + out.strip())
    onnx.checker.check_model(onnx.load(saved), full_check=True)
    set_dir = os.path.join(case, 'test_data_set_0')
    write_inputs(saved, case_dir if not edit_cmd else None, set_dir, seed=len(name))
    nn_saved = nn_outputs(args.nn_tool, saved, set_dir, os.path.join(case, 'nn_saved'))
    note = ''
    if not edit_cmd:
        nn_orig = nn_outputs(args.nn_tool, model_src, set_dir, os.path.join(case, 'nn_orig'))
        same = max_diff(nn_saved, nn_orig)
        if same != 0.0:
            return (name, variant, same, 'FAIL: nn(saved) != nn(original) by %.3g' % same)
        note = 'nn(saved) == nn(original); '
    ort = ort_outputs(case)
    d = max_diff(ort, nn_saved)
    tol = args.tol
    if args.range_tol is not None:
        tol = args.range_tol * max([1.0] + [float(o.max() - o.min()) for o in ort if o.size])
    ok = d <= tol and all(np.all(np.isfinite(o)) for o in ort)
    shape = 'x'.join(map(str, nn_saved[0].shape))
    return (name, variant, d, ('ok' if ok else 'FAIL') + ' (%soutput %s)' % (note, shape))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('models', nargs='+')
    ap.add_argument('--nn-tool', required=True)
    ap.add_argument('--work', help='keep the saved models here (default: a temporary folder)')
    ap.add_argument('--tol', type=float, default=1e-4, help='max |ORT - nn| allowed (absolute)')
    ap.add_argument('--range-tol', type=float,
                    help='instead of --tol: allow this fraction of the output range (max - min, at least 1), '
                         'for outputs of large magnitude such as raw detection heads')
    ap.add_argument('--no-edits', action='store_true', help='only check the plain save')
    ap.add_argument('--markdown', action='store_true')
    args = ap.parse_args()
    if not ort_ref.available():
        print('check_save: skipped, onnxruntime-node not found (set ORT_NODE_DIR)')
        sys.exit(77)
    work = args.work or tempfile.mkdtemp(prefix='nn_check_save_')
    rows, failed = [], 0
    models = []
    for m in args.models:
        if os.path.isdir(m) and not os.path.exists(os.path.join(m, 'model.onnx')):
            models += sorted(os.path.join(m, d) for d in os.listdir(m)
                             if os.path.exists(os.path.join(m, d, 'model.onnx')))
        else:
            models.append(m)
    for m in models:
        case_dir = m if os.path.isdir(m) else None
        model = os.path.join(m, 'model.onnx') if case_dir else m
        name = os.path.basename(m.rstrip('/')) if case_dir else os.path.splitext(os.path.basename(m))[0]
        variants = [('save', None)]
        if not args.no_edits:
            variants += [('input', ['replace-input', '--size', '160x192', '--channels', '1']),
                         ('head', ['replace-head', '--classes', '7', '--seed', '1'])]
        for variant, cmd in variants:
            try:
                row = check_variant(args, name, variant, model, case_dir, work, cmd)
            except Exception as e:  # report every model, then fail
                row = (name, variant, None, 'FAIL: %s: %s' % (type(e).__name__, e))
            failed += row[3].startswith('FAIL')
            rows.append(row)
            d = '-' if row[2] is None else '%.2e' % row[2]
            if args.markdown:
                print('| %s | %s | %s | %s |' % (row[0], row[1], d, row[3]))
            else:
                print('%-22s %-6s %10s  %s' % (row[0], row[1], d, row[3]), flush=True)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    print('%d checks, %d failed' % (len(rows), failed))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
