#!/usr/bin/python3
"""Export a zoo of real-architecture ONNX models with seeded random weights.

For each model this writes, in ONNX's backend-test layout:

  OUTDIR/<name>/model.onnx                    the exported graph
  OUTDIR/<name>/test_data_set_0/input_0.pb    seeded N(0,1) input (TensorProto)
  OUTDIR/<name>/torch_output_0.npy            torch's output, for cross-checks
  OUTDIR/<name>/meta.json                     opset, shapes, params, timings

The reference output_0.pb files are written separately by ort_reference.js
(ONNX Runtime is the reference, torch is only a cross-check).

No pretrained weights are downloaded: every model is built with weights=None
and then re-initialised deterministically (see randomize()).
"""

import argparse
import collections
import json
import os
import sys
import time
import warnings

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
import archs  # noqa: E402


Spec = collections.namedtuple('Spec', 'ctor size opset dynamic keep_bn')

# Opsets are deliberately mixed so the importer sees several op versions
# (e.g. Unsqueeze axes as an attribute at opset 11, as an input from 13).
# dynamic: batch axis exported as 'N', so shape arithmetic (Shape->Gather->
#   Unsqueeze->Concat->Reshape) survives constant folding where the model
#   uses x.view(x.size(0), ...).
# keep_bn: export BatchNormalization nodes; otherwise torch's eval export
#   folds each Conv->BN pair into the conv weights (BNs not directly after
#   a conv, as in DenseNet, stay either way).
MODELS = {
    'alexnet':            Spec(lambda: tvm.alexnet(weights=None), 224, 11, False, False),
    'vgg16':              Spec(lambda: tvm.vgg16(weights=None), 224, 13, False, False),
    'vgg19':              Spec(lambda: tvm.vgg19(weights=None), 224, 13, False, False),
    'googlenet':          Spec(lambda: tvm.googlenet(weights=None, aux_logits=False, transform_input=False,
                                                     init_weights=True), 224, 13, False, False),
    'resnet50':           Spec(lambda: tvm.resnet50(weights=None), 224, 13, True, True),
    'inception_v3':       Spec(lambda: tvm.inception_v3(weights=None, aux_logits=False, transform_input=False,
                                                        init_weights=True), 299, 17, False, True),
    'densenet201':        Spec(lambda: tvm.densenet201(weights=None), 224, 13, False, False),
    'squeezenet1_1':      Spec(lambda: tvm.squeezenet1_1(weights=None), 224, 11, False, False),
    'mobilenet_v2':       Spec(lambda: tvm.mobilenet_v2(weights=None), 224, 17, False, True),
    'shufflenet_v2_x1_0': Spec(lambda: tvm.shufflenet_v2_x1_0(weights=None), 224, 13, True, False),
    'mnasnet1_0':         Spec(lambda: tvm.mnasnet1_0(weights=None), 224, 13, False, False),
    'xception':           Spec(archs.xception, 299, 17, False, True),
    'darknet19':          Spec(archs.darknet19, 224, 11, True, True),
    'darknet53':          Spec(archs.darknet53, 256, 13, False, False),
}

# Small/fast subset for CI.
SMALL = ['squeezenet1_1', 'mobilenet_v2', 'shufflenet_v2_x1_0', 'mnasnet1_0',
         'googlenet', 'resnet50', 'darknet19']

SEED_BASE = 1234


def seed_for(name):
    # Stable per-model seed (Python's hash() is salted per process).
    return SEED_BASE + sum((i + 1) * ord(c) for i, c in enumerate(name))


@torch.no_grad()
def randomize(model, in_shape, gen):
    """Re-initialise weights so every layer is exercised with sane values.

    1. Random BN affine params and conv/linear biases (torch defaults are
       gamma=1, beta=0, often bias=0, which would hide importer bugs).
    2. One forward pass whose hooks rescale each conv/linear layer so its
       output has unit std (LSUV-style).  Without it, deep plain nets such
       as VGG with kaiming/N(0,0.01) init give tiny or huge logits.
       The hook also rescales the output it returns, so later layers see the
       already-corrected activations: one pass fixes the whole network.
    3. Calibrate BN running statistics on random batches in train mode
       (momentum=None -> exact cumulative average), so running_mean/var are
       non-trivial and consistent with the activations the test input gives.
    """
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5, generator=gen))
            m.bias.copy_(torch.empty_like(m.bias).normal_(0.0, 0.2, generator=gen))
        elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            m.bias.copy_(torch.empty_like(m.bias).normal_(0.0, 0.1, generator=gen))

    model.eval()  # BN with default stats (0, 1): a plain affine map here

    def rescale(mod, inp, out):
        s = float(out.std())
        if not np.isfinite(s) or s < 1e-8:
            return None
        mod.weight.div_(s)
        if mod.bias is not None:
            mod.bias.div_(s)
        return out / s

    hooks = [m.register_forward_hook(rescale) for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))]
    model(torch.randn(4, *in_shape[1:], generator=gen))
    for h in hooks:
        h.remove()

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if bns:
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        model.train()
        for _ in range(3):
            model(torch.randn(4, *in_shape[1:], generator=gen))
        for m, mom in zip(bns, saved):
            m.momentum = mom
    model.eval()


def export_one(name, outdir):
    spec = MODELS[name]
    size, opset, dynamic = spec.size, spec.opset, spec.dynamic
    seed = seed_for(name)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    in_shape = (1, 3, size, size)

    t0 = time.time()
    model = spec.ctor()
    randomize(model, in_shape, gen)
    t_init = time.time() - t0

    case = os.path.join(outdir, name)
    os.makedirs(os.path.join(case, 'test_data_set_0'), exist_ok=True)
    x = torch.randn(*in_shape, generator=gen)

    t0 = time.time()
    with torch.no_grad():
        y = model(x)
    t_torch = time.time() - t0
    y_np = y.numpy()
    if not np.all(np.isfinite(y_np)) or float(y_np.max() - y_np.min()) < 1e-3:
        raise RuntimeError('%s: degenerate output (range %g)' % (name, float(np.ptp(y_np))))

    path = os.path.join(case, 'model.onnx')
    dyn = {'input': {0: 'N'}, 'output': {0: 'N'}} if dynamic else None
    # PRESERVE on an eval() model = inference-mode export without the
    # Conv+BN fusion pass; torch warns about constant folding there, but
    # that only matters for models exported in training mode.
    mode = torch.onnx.TrainingMode.PRESERVE if spec.keep_bn else torch.onnx.TrainingMode.EVAL
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='It is recommended that constant folding')
        torch.onnx.export(model, x, path, opset_version=opset, do_constant_folding=True,
                          training=mode, input_names=['input'], output_names=['output'],
                          dynamic_axes=dyn)
    t_export = time.time() - t0
    # Path form so models near the 2 GiB protobuf limit still check.
    onnx.checker.check_model(path)

    # Name the input tensor after the graph input, as the backend tests do.
    m = onnx.load(path)
    init_names = {i.name for i in m.graph.initializer}
    graph_inputs = [i.name for i in m.graph.input if i.name not in init_names]
    assert len(graph_inputs) == 1, graph_inputs
    with open(os.path.join(case, 'test_data_set_0', 'input_0.pb'), 'wb') as f:
        f.write(onnx.numpy_helper.from_array(x.numpy(), graph_inputs[0]).SerializeToString())
    np.save(os.path.join(case, 'torch_output_0.npy'), y_np)

    meta = {
        'name': name,
        'seed': seed,
        'opset': opset,
        'dynamic_batch': dynamic,
        'keep_bn': spec.keep_bn,
        'input_shape': list(in_shape),
        'output_shape': list(y_np.shape),
        'params': int(sum(p.numel() for p in model.parameters())),
        'onnx_bytes': os.path.getsize(path),
        'nodes': len(m.graph.node),
        'op_types': sorted({n.op_type for n in m.graph.node}),
        'time_init_s': round(t_init, 2),
        'time_torch_s': round(t_torch, 2),
        'time_export_s': round(t_export, 2),
        'torch_version': torch.__version__,
        'onnx_version': onnx.__version__,
    }
    with open(os.path.join(case, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir', nargs='?')
    ap.add_argument('--models', help='comma-separated subset of: ' + ','.join(MODELS))
    ap.add_argument('--small', action='store_true', help='CI subset: ' + ','.join(SMALL))
    ap.add_argument('--list', action='store_true', help='print the selected names and exit')
    args = ap.parse_args()

    if args.models:
        names = [n.strip() for n in args.models.split(',') if n.strip()]
    elif args.small:
        names = SMALL
    else:
        names = list(MODELS)
    bad = [n for n in names if n not in MODELS]
    if bad:
        ap.error('unknown model(s): ' + ','.join(bad))
    if args.list:
        print(' '.join(names))
        return
    if not args.outdir:
        ap.error('OUTDIR is required')

    # Debian's torch defaults to one OpenMP thread; use the machine.
    torch.set_num_threads(os.cpu_count() or 1)
    os.makedirs(args.outdir, exist_ok=True)
    for n in names:
        t0 = time.time()
        meta = export_one(n, args.outdir)
        print('%-20s opset %-2d params %10d  onnx %7.1f MB  %6.1f s'
              % (n, meta['opset'], meta['params'], meta['onnx_bytes'] / 2**20, time.time() - t0),
              flush=True)


if __name__ == '__main__':
    main()
