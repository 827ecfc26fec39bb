#!/usr/bin/python3
"""PyTorch reference gradients for nn's backward functions (test/check_grad.c).

Each case is a folder with a one-node ONNX model whose every input is a graph
input, and PyTorch 1.13's numbers for it:
  model.onnx      the node (attributes written with onnx.helper)
  input_<i>.pb    input i (absent optional inputs have no file)
  output_<k>.pb   torch's forward output k
  dy_<k>.pb       dL/d output k fed to the backward
  grad_<i>.pb     torch's dL/d input i (no file: no gradient wanted)
  after_<i>.pb    input i after the forward (BatchNorm's running statistics,
                  updated in place in training mode)
  meta.txt        "training 0|1" and "update_stats 0|1": the trainer's flags

Run: /usr/bin/python3 tools/testdata/make_grad_cases.py test/data/grad
"""
import os
import shutil
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

OUT = sys.argv[1]
torch.manual_seed(1234)
gen = torch.Generator().manual_seed(1234)


def randn(*s, scale=1.0):
    return torch.randn(*s, generator=gen, dtype=torch.float32) * scale


def save(arr, path, name):
    onnx.save_tensor(numpy_helper.from_array(np.ascontiguousarray(arr), name), path)


def case(name, op, inputs, fn, opset=13, attrs=None, grads=None, training=False, update=False, n_out=1):
    """inputs: list of tensors or None (absent); grads: indices of inputs to differentiate (default: all float).
    fn(*inputs) returns the output tensor(s) in torch; it may modify inputs in place (running statistics)."""
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if grads is None:
        grads = [i for i, t in enumerate(inputs) if t is not None and t.dtype == torch.float32]
    names = ["x%d" % i if t is not None else "" for i, t in enumerate(inputs)]
    while names and names[-1] == "":
        names.pop()
    originals = [t.detach().clone() if t is not None else None for t in inputs]
    leaves = []
    for i, t in enumerate(inputs):
        if t is None:
            leaves.append(None)
        elif i in grads:
            leaves.append(t.detach().clone().requires_grad_(True))
        else:
            leaves.append(t.detach().clone())
    outs = fn(*leaves)
    if not isinstance(outs, (tuple, list)):
        outs = [outs]
    outs = list(outs)[:n_out]
    dys = [randn(*o.shape) for o in outs]
    torch.autograd.backward(outs, dys)

    ins = [helper.make_tensor_value_info(n, TP.INT64 if t.dtype == torch.int64 else TP.FLOAT, list(t.shape))
           for n, t in zip(names, originals) if n]
    outv = [helper.make_tensor_value_info("y%d" % k, TP.FLOAT, list(o.shape)) for k, o in enumerate(outs)]
    node = helper.make_node(op, names, ["y%d" % k for k in range(len(outs))], **(attrs or {}))
    m = helper.make_model(helper.make_graph([node], name, ins, outv),
                          opset_imports=[helper.make_opsetid("", opset)], producer_name="nn-testdata")
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    for i, t in enumerate(originals):
        if t is None:
            continue
        save(t.numpy(), os.path.join(d, "input_%d.pb" % i), names[i])
        if i in grads:
            save(leaves[i].grad.numpy(), os.path.join(d, "grad_%d.pb" % i), "grad_%d" % i)
        if update and not torch.equal(leaves[i].detach(), t):
            save(leaves[i].detach().numpy(), os.path.join(d, "after_%d.pb" % i), "after_%d" % i)
    for k, (o, dy) in enumerate(zip(outs, dys)):
        save(o.detach().numpy(), os.path.join(d, "output_%d.pb" % k), "y%d" % k)
        save(dy.numpy(), os.path.join(d, "dy_%d.pb" % k), "dy_%d" % k)
    with open(os.path.join(d, "meta.txt"), "w") as f:
        f.write("training %d\nupdate_stats %d\n" % (int(training), int(update)))


# ---- Conv ----

def conv(name, x, w, b=None, stride=1, pads=(0, 0, 0, 0), dil=1, groups=1, grads=None):
    """2-D: pads = (top, left, bottom, right), applied with F.pad so they may be asymmetric."""
    nd = x.dim() - 2
    s = [stride] * nd if isinstance(stride, int) else list(stride)
    dl = [dil] * nd if isinstance(dil, int) else list(dil)
    pads = list(pads)

    def fn(x, w, b=None):
        if nd == 2:
            xp = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
            return F.conv2d(xp, w, b, stride=s, dilation=dl, groups=groups)
        if nd == 1:
            return F.conv1d(F.pad(x, (pads[0], pads[1])), w, b, stride=s, dilation=dl, groups=groups)
        p = (pads[2], pads[5], pads[1], pads[4], pads[0], pads[3])
        return F.conv3d(F.pad(x, p), w, b, stride=s, dilation=dl, groups=groups)

    attrs = dict(kernel_shape=list(w.shape[2:]), strides=s, dilations=dl, pads=pads, group=groups)
    case(name, "Conv", [x, w] + ([b] if b is not None else []), fn, attrs=attrs, grads=grads)


conv("conv_3x3_p1", randn(2, 3, 9, 9), randn(4, 3, 3, 3), randn(4), pads=(1, 1, 1, 1))
conv("conv_3x3_s2_asym", randn(2, 3, 10, 9), randn(5, 3, 3, 3), randn(5), stride=2, pads=(1, 0, 0, 1))
conv("conv_dilated", randn(2, 3, 11, 10), randn(4, 3, 3, 3), randn(4), pads=(2, 2, 2, 2), dil=2)
conv("conv_grouped", randn(2, 4, 8, 8), randn(6, 2, 3, 3), randn(6), pads=(1, 1, 1, 1), groups=2)
conv("conv_depthwise", randn(2, 8, 9, 9), randn(8, 1, 3, 3), randn(8), pads=(1, 1, 1, 1), groups=8)
conv("conv_depthwise_s2", randn(2, 6, 10, 11), randn(6, 1, 3, 3), None, stride=2, pads=(1, 1, 1, 1), groups=6)
conv("conv_depthwise_mult2", randn(2, 4, 7, 7), randn(8, 1, 5, 5), randn(8), pads=(2, 2, 2, 2), groups=4)
conv("conv_pointwise", randn(2, 16, 6, 5), randn(12, 16, 1, 1), randn(12))
conv("conv_1x1_s2", randn(2, 8, 9, 9), randn(6, 8, 1, 1), None, stride=2)
conv("conv_weights_only", randn(2, 3, 8, 8), randn(4, 3, 3, 3), randn(4), pads=(1, 1, 1, 1), grads=[1, 2])
conv("conv_11x11_s4", randn(2, 3, 39, 39), randn(8, 3, 11, 11), randn(8), stride=4, pads=(2, 2, 2, 2))
conv("conv_7x7_s2_p3", randn(1, 3, 32, 32), randn(8, 3, 7, 7), None, stride=2, pads=(3, 3, 3, 3))
conv("conv_large", randn(2, 16, 20, 20), randn(24, 16, 3, 3, scale=0.1), randn(24), pads=(1, 1, 1, 1))
conv("conv_grouped_large", randn(2, 32, 14, 14), randn(64, 8, 3, 3, scale=0.2), randn(64), pads=(1, 1, 1, 1), groups=4)
conv("conv_1d", randn(2, 3, 17), randn(4, 3, 5), randn(4), stride=2, pads=(2, 1))
conv("conv_3d", randn(1, 2, 5, 6, 5), randn(3, 2, 3, 3, 2), randn(3), stride=(1, 2, 1), pads=(1, 1, 0, 1, 0, 1))

# ---- BatchNormalization ----


def batchnorm(name, shape, training, eps=1e-5, momentum=0.1):
    C = shape[1]
    x = randn(*shape, scale=2.0) + 0.5
    scale = torch.rand(C, generator=gen) + 0.5
    bias = randn(C)
    mean = randn(C, scale=0.5)
    var = torch.rand(C, generator=gen) + 0.5

    def fn(x, s, b, m, v):
        return F.batch_norm(x, m, v, s, b, training=training, momentum=momentum, eps=eps)

    # ONNX's momentum weighs the running value: 1 - torch's
    case(name, "BatchNormalization", [x, scale, bias, mean, var], fn, opset=15,
         attrs=dict(epsilon=eps, momentum=1.0 - momentum), grads=[0, 1, 2], training=training, update=training)


batchnorm("bn_eval", (4, 6, 5, 5), False)
batchnorm("bn_eval_eps", (3, 5, 4, 3), False, eps=1e-3)
batchnorm("bn_train", (4, 6, 5, 5), True)
batchnorm("bn_train_momentum", (8, 4, 3, 3), True, eps=1e-3, momentum=0.01)
batchnorm("bn_train_2d", (16, 5), True)
batchnorm("bn_train_3d", (4, 3, 7), True)

# ---- pools ----


def pool(name, op, x, k, s, pads=(0, 0, 0, 0), ceil=False, include_pad=None, dil=1):
    pt, pl, pb, pr = pads
    sym = pt == pb and pl == pr

    def fn(x):
        if op == "MaxPool":
            if sym:
                return F.max_pool2d(x, k, s, (pt, pl), dilation=dil, ceil_mode=ceil)
            return F.max_pool2d(F.pad(x, (pl, pr, pt, pb), value=-1e30), k, s, 0, dilation=dil, ceil_mode=ceil)
        assert sym
        return F.avg_pool2d(x, k, s, (pt, pl), ceil_mode=ceil, count_include_pad=bool(include_pad))

    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=list(pads), ceil_mode=int(ceil))
    if op == "MaxPool":
        attrs["dilations"] = [dil, dil]
    if include_pad is not None:
        attrs["count_include_pad"] = int(include_pad)
    case(name, op, [x], fn, opset=12, attrs=attrs)


pool("maxpool_2x2_s2", "MaxPool", randn(2, 3, 8, 8), 2, 2)
pool("maxpool_3x3_s2_p1", "MaxPool", randn(2, 4, 9, 10), 3, 2, (1, 1, 1, 1))
pool("maxpool_3x3_s2_ceil", "MaxPool", randn(2, 3, 10, 10), 3, 2, ceil=True)
pool("maxpool_3x3_s1_p1", "MaxPool", randn(2, 3, 7, 7), 3, 1, (1, 1, 1, 1))
pool("maxpool_asym_pads", "MaxPool", randn(2, 3, 7, 8), 2, 2, (0, 0, 1, 1))
pool("maxpool_dilated", "MaxPool", randn(1, 2, 9, 9), 2, 1, (1, 1, 1, 1), dil=2)
# many ties: integer-valued input; the first maximum in window order gets the gradient, as in torch
pool("maxpool_ties", "MaxPool", torch.randint(0, 3, (2, 3, 8, 8), generator=gen).float(), 3, 1, (1, 1, 1, 1))
pool("maxpool_ties_s2", "MaxPool", torch.randint(0, 2, (2, 3, 9, 9), generator=gen).float(), 3, 2, ceil=True)
pool("avgpool_2x2_s2", "AveragePool", randn(2, 3, 8, 8), 2, 2)
pool("avgpool_3x3_s1_p1_incl", "AveragePool", randn(2, 3, 7, 7), 3, 1, (1, 1, 1, 1), include_pad=True)
pool("avgpool_3x3_s1_p1_excl", "AveragePool", randn(2, 3, 7, 7), 3, 1, (1, 1, 1, 1), include_pad=False)
pool("avgpool_3x3_s2_ceil_excl", "AveragePool", randn(2, 3, 10, 10), 3, 2, (1, 1, 1, 1), ceil=True, include_pad=False)
pool("avgpool_3x3_s2_ceil_incl", "AveragePool", randn(2, 3, 10, 10), 3, 2, (1, 1, 1, 1), ceil=True, include_pad=True)
pool("avgpool_5x5_s3", "AveragePool", randn(2, 3, 17, 17), 5, 3)
case("globalavgpool", "GlobalAveragePool", [randn(2, 5, 6, 7)], lambda x: F.adaptive_avg_pool2d(x, 1))
case("globalmaxpool", "GlobalMaxPool", [randn(2, 5, 6, 7)], lambda x: F.adaptive_max_pool2d(x, 1))

# ---- LRN (odd sizes: torch and ONNX put the window the same way) ----

for size, alpha, beta, k in ((5, 1e-2, 0.75, 2.0), (3, 0.1, 0.5, 1.0)):
    case("lrn_size%d" % size, "LRN", [randn(2, 8, 5, 4, scale=2.0)],
         lambda x, size=size, alpha=alpha, beta=beta, k=k: F.local_response_norm(x, size, alpha, beta, k),
         attrs=dict(size=size, alpha=alpha, beta=beta, bias=k))

# ---- activations ----

xa = randn(2, 3, 5, 6, scale=3.0)
case("leakyrelu", "LeakyRelu", [xa], lambda x: F.leaky_relu(x, 0.1), attrs=dict(alpha=0.1))
case("relu6_clip", "Clip", [xa, torch.tensor(0.0), torch.tensor(6.0)], lambda x, lo, hi: F.relu6(x), grads=[0])
case("hardswish", "HardSwish", [xa], F.hardswish, opset=14)
case("hardsigmoid", "HardSigmoid", [xa], F.hardsigmoid, attrs=dict(alpha=1.0 / 6, beta=0.5))
case("sigmoid", "Sigmoid", [xa], torch.sigmoid)
case("tanh", "Tanh", [xa], torch.tanh)
case("elu", "Elu", [xa], lambda x: F.elu(x, 0.8), attrs=dict(alpha=0.8))
case("selu", "Selu", [xa], F.selu)
case("softplus", "Softplus", [xa], F.softplus)
case("gelu", "Gelu", [xa], F.gelu, opset=20)
case("gelu_tanh", "Gelu", [xa], lambda x: F.gelu(x, approximate="tanh"), opset=20, attrs=dict(approximate="tanh"))
case("mish", "Mish", [xa], F.mish, opset=18)
case("prelu", "PRelu", [xa, torch.rand(3, 1, 1, generator=gen) * 0.5], lambda x, s: F.prelu(x, s.reshape(3)))

# ---- softmax ----

case("softmax_axis1", "Softmax", [randn(4, 10, scale=2.0)], lambda x: F.softmax(x, 1), attrs=dict(axis=1))
case("softmax_axis1_4d", "Softmax", [randn(2, 5, 3, 4)], lambda x: F.softmax(x, 1), attrs=dict(axis=1))
case("logsoftmax_last", "LogSoftmax", [randn(2, 3, 7, scale=2.0)], lambda x: F.log_softmax(x, -1), attrs=dict(axis=-1))

# ---- elementwise and reductions seen in the classifiers ----

case("div_broadcast", "Div", [randn(2, 3, 4, 5), torch.rand(3, 1, 1, generator=gen) + 0.5], lambda a, b: a / b)
case("reducemean_se", "ReduceMean", [randn(2, 6, 5, 5)], lambda x: x.mean((2, 3), keepdim=True),
     attrs=dict(axes=[2, 3], keepdims=1))
case("reducemean_flat", "ReduceMean", [randn(2, 6, 5, 5)], lambda x: x.mean((2, 3)), attrs=dict(axes=[-2, -1], keepdims=0))

# ---- data movement (ShuffleNet's channel split and shuffle, Inception's concat) ----

case("transpose_shuffle", "Transpose", [randn(2, 2, 3, 4, 4)], lambda x: x.transpose(1, 2).contiguous(),
     attrs=dict(perm=[0, 2, 1, 3, 4]))
case("split_channels", "Split", [randn(2, 8, 3, 3), torch.tensor([4, 4])], lambda x, s: torch.split(x, 4, 1),
     attrs=dict(axis=1), n_out=2)
case("slice_channels", "Slice", [randn(2, 8, 3, 3), torch.tensor([2]), torch.tensor([7]), torch.tensor([1]),
                                 torch.tensor([2])], lambda x, *a: x[:, 2:7:2])
case("concat_channels", "Concat", [randn(2, 3, 4, 4), randn(2, 5, 4, 4), randn(2, 2, 4, 4)],
     lambda *xs: torch.cat(xs, 1), attrs=dict(axis=1))
case("pad_reflect", "Pad", [randn(2, 3, 5, 6), torch.tensor([0, 0, 1, 2, 0, 0, 2, 1])],
     lambda x, p: F.pad(x, (2, 1, 1, 2), mode="reflect"), attrs=dict(mode="reflect"))
case("gather_rows", "Gather", [randn(5, 4), torch.tensor([3, 0, 3, -1])], lambda x, i: x[i % 5], attrs=dict(axis=0))

# ---- ConvTranspose (last: the cases above keep their random draws) ----


def convt(name, x, w, b=None, stride=1, pad=0, outpad=0, dil=1, groups=1):
    nd = x.dim() - 2
    fn = lambda x, w, b=None: F.conv_transpose2d(x, w, b, stride, pad, outpad, groups, dil)
    attrs = dict(strides=[stride] * nd, pads=[pad] * 2 * nd, output_padding=[outpad] * nd, dilations=[dil] * nd,
                 group=groups)
    case(name, "ConvTranspose", [x, w] + ([b] if b is not None else []), fn, attrs=attrs)


convt("convtranspose_s2", randn(2, 4, 5, 6), randn(4, 3, 3, 3), randn(3), stride=2, pad=1, outpad=1)
convt("convtranspose_grouped", randn(2, 4, 4, 4), randn(4, 2, 4, 4), None, stride=2, pad=1, groups=2)
convt("convtranspose_dilated", randn(1, 3, 5, 5), randn(3, 2, 3, 3), randn(2), dil=2)
