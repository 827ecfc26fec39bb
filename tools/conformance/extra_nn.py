#!/usr/bin/python3
"""Extra conformance cases for the pooling and normalization ops, beyond what
ONNX 1.12's node suite covers (LpPool, LpNormalization, storage_order, int8,
ceil_mode + count_include_pad, 3-D indices, opset 7 BatchNormalization with
spatial = 0, LayerNormalization with broadcast Scale, larger shapes that are
split over threads...). References come from PyTorch where it has the same
semantics, else from naive NumPy loops written from the ONNX spec.

usage: extra_nn.py OUTDIR   (writes OUTDIR/<case>/{model.onnx,test_data_set_0})
Needs Debian's python3-onnx, python3-numpy and python3-torch.
"""
import itertools
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = None
rng = np.random.default_rng(1234)

NP2ONNX = {np.float32: TensorProto.FLOAT, np.int8: TensorProto.INT8, np.uint8: TensorProto.UINT8,
           np.int64: TensorProto.INT64, np.bool_: TensorProto.BOOL, np.float64: TensorProto.DOUBLE}


def onnx_type(a):
    return NP2ONNX[a.dtype.type]


def case(name, op, inputs, outputs, opset, attrs=None, initializers=None):
    """inputs/outputs: lists of (name, array); initializers: list of (name, array)."""
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    inits = initializers or []
    node = helper.make_node(op, [n for n, _ in inputs] + [n for n, _ in inits if n not in [i for i, _ in inputs]],
                            [n for n, _ in outputs], **(attrs or {}))
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, onnx_type(a), a.shape) for n, a in inputs],
        [helper.make_tensor_value_info(n, onnx_type(a), a.shape) for n, a in outputs],
        initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, os.path.join(d, "model.onnx"))
    for i, (n, a) in enumerate(inputs):
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())
    for i, (n, a) in enumerate(outputs):
        with open(os.path.join(d, "test_data_set_0", f"output_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a, n).SerializeToString())


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def t(a):
    return torch.from_numpy(a)


# ---------------- naive references from the spec ----------------

def out_dim(i, k, s, d, pb, pe, ceil):
    span = (k - 1) * d + 1
    num = i + pb + pe - span
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= i + pb:
        o -= 1
    return o


def naive_pool(x, kind, k, s, d, pads, ceil=False, include_pad=False, p=2):
    r = len(k)
    sp = x.shape[2:]
    pb, pe = pads[:r], pads[r:]
    outs = [out_dim(sp[i], k[i], s[i], d[i], pb[i], pe[i], ceil) for i in range(r)]
    y = np.zeros(x.shape[:2] + tuple(outs), np.float64)
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*[range(v) for v in outs]):
            vals, cnt = [], 0
            for kk in itertools.product(*[range(v) for v in k]):
                pos = [o[i] * s[i] - pb[i] + kk[i] * d[i] for i in range(r)]
                inside = all(0 <= pos[i] < sp[i] for i in range(r))
                padded = all(-pb[i] <= pos[i] < sp[i] + pe[i] for i in range(r))
                if inside:
                    vals.append(float(x[(n, c) + tuple(pos)]))
                cnt += padded if include_pad else inside
            if kind == "max":
                y[(n, c) + o] = max(vals)
            elif kind == "avg":
                y[(n, c) + o] = sum(vals) / cnt
            else:
                y[(n, c) + o] = sum(abs(v) ** p for v in vals) ** (1.0 / p)
    return y.astype(np.float32)


def main():
    global OUT
    if len(sys.argv) != 2:
        sys.exit("usage: extra_nn.py OUTDIR")
    OUT = sys.argv[1]

    # ---- MaxPool ----
    x = randn(2, 16, 33, 35)
    y = F.max_pool2d(t(x), 3, 1, 1).numpy()
    case("nnx_maxpool_2d_s1_big", "MaxPool", [("x", x)], [("y", y)], 12,
         dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]))

    x = randn(1, 3, 17, 19)
    y = F.max_pool2d(t(x), 3, 2, 1, dilation=2, ceil_mode=True).numpy()
    case("nnx_maxpool_2d_ceil_dilation", "MaxPool", [("x", x)], [("y", y)], 12,
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], dilations=[2, 2], ceil_mode=1))

    x = randn(2, 3, 7, 8, 9)
    yt, it = F.max_pool3d(t(x), [2, 3, 2], [2, 1, 2], [1, 1, 0], return_indices=True)
    plane = 7 * 8 * 9
    idx = it.numpy() + (np.arange(6).reshape(2, 3, 1, 1, 1) * plane)
    case("nnx_maxpool_3d_indices", "MaxPool", [("x", x)], [("y", yt.numpy()), ("i", idx.astype(np.int64))], 12,
         dict(kernel_shape=[2, 3, 2], strides=[2, 1, 2], pads=[1, 1, 0, 1, 1, 0]))

    x = randn(2, 3, 6, 7)
    yt, it = F.max_pool2d(t(x), 3, 2, 1, return_indices=True)
    it = it.numpy()
    h, w = it // 7, it % 7
    idx = (h + w * 6) + np.arange(6).reshape(2, 3, 1, 1) * 42
    case("nnx_maxpool_2d_storage_order1", "MaxPool", [("x", x)], [("y", yt.numpy()), ("i", idx.astype(np.int64))], 12,
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], storage_order=1))

    x = rng.integers(-128, 128, (2, 4, 21), dtype=np.int8)
    y = F.max_pool1d(t(x.astype(np.float32)), 3, 2, 1).numpy().astype(np.int8)
    case("nnx_maxpool_1d_int8", "MaxPool", [("x", x)], [("y", y)], 12,
         dict(kernel_shape=[3], strides=[2], pads=[1, 1]))

    x = randn(1, 2, 10, 11)
    y = naive_pool(x, "max", [3, 2], [2, 3], [1, 1], [2, 0, 1, 1])
    case("nnx_maxpool_2d_asym_pads", "MaxPool", [("x", x)], [("y", y)], 12,
         dict(kernel_shape=[3, 2], strides=[2, 3], pads=[2, 0, 1, 1]))

    x = randn(1, 2, 13, 14)
    y = naive_pool(x, "max", [4, 3], [2, 3], [1, 1], [2, 1, 1, 0])  # SAME_LOWER: totals 3, 1; the odd one first
    case("nnx_maxpool_2d_same_lower_s2", "MaxPool", [("x", x)], [("y", y)], 12,
         dict(kernel_shape=[4, 3], strides=[2, 3], auto_pad="SAME_LOWER"))

    # ---- AveragePool ----
    x = randn(1, 2, 9, 10)
    y = F.avg_pool2d(t(x), 3, 2, 1, ceil_mode=True, count_include_pad=True).numpy()
    case("nnx_averagepool_2d_ceil_include_pad", "AveragePool", [("x", x)], [("y", y)], 11,
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1))

    x = randn(1, 2, 6, 7, 8)
    y = F.avg_pool3d(t(x), 3, 2, 1, count_include_pad=False).numpy()
    case("nnx_averagepool_3d_pads", "AveragePool", [("x", x)], [("y", y)], 11,
         dict(kernel_shape=[3, 3, 3], strides=[2, 2, 2], pads=[1, 1, 1, 1, 1, 1]))

    x = randn(4, 32, 1000)
    y = F.avg_pool1d(t(x), 5, 1, 2, count_include_pad=False).numpy()
    case("nnx_averagepool_1d_big", "AveragePool", [("x", x)], [("y", y)], 11,
         dict(kernel_shape=[5], pads=[2, 2]))

    x = randn(1, 3, 8, 9)
    y = naive_pool(x, "avg", [3, 3], [2, 2], [1, 1], [0, 1, 2, 0], include_pad=True)
    case("nnx_averagepool_2d_asym_include_pad", "AveragePool", [("x", x)], [("y", y)], 11,
         dict(kernel_shape=[3, 3], strides=[2, 2], pads=[0, 1, 2, 0], count_include_pad=1))

    # ---- LpPool ----
    x = randn(2, 3, 9, 8)
    y = F.lp_pool2d(t(x), 2, 3, 2).numpy()
    case("nnx_lppool_2d_p2", "LpPool", [("x", x)], [("y", y)], 11, dict(kernel_shape=[3, 3], strides=[2, 2], p=2))

    x = randn(1, 2, 7, 6)
    y = naive_pool(x, "lp", [2, 3], [1, 1], [1, 1], [1, 1, 0, 1], p=3)
    case("nnx_lppool_2d_p3_pads", "LpPool", [("x", x)], [("y", y)], 11, dict(kernel_shape=[2, 3], pads=[1, 1, 0, 1], p=3))

    x = randn(1, 2, 10)
    y = naive_pool(x, "lp", [3], [2], [1], [0, 0], p=1)
    case("nnx_lppool_1d_p1", "LpPool", [("x", x)], [("y", y)], 11, dict(kernel_shape=[3], strides=[2], p=1))

    # ---- global pools ----
    x = randn(3, 64, 40, 41)
    case("nnx_globalaveragepool_big", "GlobalAveragePool", [("x", x)], [("y", x.mean(axis=(2, 3), keepdims=True))], 11)
    case("nnx_globalmaxpool_big", "GlobalMaxPool", [("x", x)], [("y", x.max(axis=(2, 3), keepdims=True))], 11)
    x = randn(2, 5, 6, 7)
    case("nnx_globallppool_p2", "GlobalLpPool", [("x", x)],
         [("y", np.sqrt((x.astype(np.float64) ** 2).sum(axis=(2, 3), keepdims=True)).astype(np.float32))], 11)
    case("nnx_globallppool_p3", "GlobalLpPool", [("x", x)],
         [("y", ((np.abs(x.astype(np.float64)) ** 3).sum(axis=(2, 3), keepdims=True) ** (1 / 3)).astype(np.float32))], 11,
         dict(p=3))

    # ---- BatchNormalization ----
    def bn_params(C, shape=None):
        shape = shape or (C,)
        return (rng.uniform(0.5, 1.5, shape).astype(np.float32), randn(*shape),
                randn(*shape), rng.uniform(0.5, 2, shape).astype(np.float32))

    x = randn(2, 3, 4, 5)
    s, b, m, v = bn_params(3)
    y = F.batch_norm(t(x), t(m), t(v), t(s), t(b), False, 0.0, 1e-5).numpy()
    case("nnx_batchnorm_opset9", "BatchNormalization", [("x", x), ("s", s), ("b", b), ("m", m), ("v", v)],
         [("y", y)], 9)
    x = randn(4, 6)
    s, b, m, v = bn_params(6)
    y = F.batch_norm(t(x), t(m), t(v), t(s), t(b), False, 0.0, 1e-3).numpy()
    case("nnx_batchnorm_rank2_initializers", "BatchNormalization", [("x", x)], [("y", y)], 15,
         dict(epsilon=1e-3), initializers=[("s", s), ("b", b), ("m", m), ("v", v)])
    x = randn(2, 3, 4, 5)
    s, b, m, v = bn_params(3, (3, 4, 5))
    y = (x - m) / np.sqrt(v + 1e-5) * s + b
    case("nnx_batchnorm_opset7_spatial0", "BatchNormalization", [("x", x), ("s", s), ("b", b), ("m", m), ("v", v)],
         [("y", y.astype(np.float32))], 7, dict(spatial=0))
    x = randn(8, 16, 30, 31)
    s, b, m, v = bn_params(16)
    bm, bv = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    y = (x - bm.reshape(1, -1, 1, 1)) / np.sqrt(bv.reshape(1, -1, 1, 1) + 1e-5) * s.reshape(1, -1, 1, 1) + \
        b.reshape(1, -1, 1, 1)
    case("nnx_batchnorm_training_big", "BatchNormalization", [("x", x), ("s", s), ("b", b), ("m", m), ("v", v)],
         [("y", y.astype(np.float32)), ("rm", (m * 0.8 + bm * 0.2).astype(np.float32)),
          ("rv", (v * 0.8 + bv * 0.2).astype(np.float32))], 15, dict(training_mode=1, momentum=0.8))
    x = randn(4, 32, 28, 28)
    s, b, m, v = bn_params(32)
    y = F.batch_norm(t(x), t(m), t(v), t(s), t(b), False, 0.0, 1e-5).numpy()
    case("nnx_batchnorm_big", "BatchNormalization", [("x", x), ("s", s), ("b", b), ("m", m), ("v", v)],
         [("y", y)], 15)

    # ---- InstanceNormalization ----
    x = randn(2, 8, 64, 65) * 3 + 1
    s, b = randn(8), randn(8)
    y = F.instance_norm(t(x), weight=t(s), bias=t(b), eps=1e-5).numpy()
    case("nnx_instancenorm_big", "InstanceNormalization", [("x", x), ("s", s), ("b", b)], [("y", y)], 6)
    x = randn(2, 3, 10)
    s, b = randn(3), randn(3)
    y = F.instance_norm(t(x), weight=t(s), bias=t(b), eps=1e-2).numpy()
    case("nnx_instancenorm_1d", "InstanceNormalization", [("x", x), ("s", s), ("b", b)], [("y", y)], 6,
         dict(epsilon=1e-2))

    # ---- LayerNormalization ----
    x = randn(64, 1000) * 2 + 3
    s, b = randn(1000), randn(1000)
    mean = x.mean(axis=1, keepdims=True)
    inv = 1 / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    case("nnx_layernorm_big_stats", "LayerNormalization", [("x", x), ("s", s), ("b", b)],
         [("y", ((x - mean) * inv * s + b).astype(np.float32)), ("mean", mean.astype(np.float32)),
          ("inv", inv.astype(np.float32))], 17)
    x = randn(2, 3, 4, 5)
    s = randn(1, 5)
    mean = x.mean(axis=(2, 3), keepdims=True)
    inv = 1 / np.sqrt(x.var(axis=(2, 3), keepdims=True) + 1e-5)
    case("nnx_layernorm_broadcast_scale_no_bias", "LayerNormalization", [("x", x), ("s", s)],
         [("y", ((x - mean) * inv * s).astype(np.float32))], 17, dict(axis=2))

    # ---- LpNormalization ----
    x = randn(2, 3, 4)
    x[1, :, 2] = 0
    n = np.sqrt((x ** 2).sum(axis=1, keepdims=True))
    case("nnx_lpnormalization_p2_axis1", "LpNormalization", [("x", x)],
         [("y", np.where(n > 0, x / np.where(n > 0, n, 1), 0).astype(np.float32))], 1, dict(axis=1, p=2))
    x = randn(3, 5, 7)
    x[2, 4] = 0
    n = np.abs(x).sum(axis=-1, keepdims=True)
    case("nnx_lpnormalization_p1_last", "LpNormalization", [("x", x)],
         [("y", np.where(n > 0, x / np.where(n > 0, n, 1), 0).astype(np.float32))], 1, dict(axis=-1, p=1))
    x = randn(4, 300, 50)
    y = F.normalize(t(x), 2, 0).numpy()
    case("nnx_lpnormalization_axis0_big", "LpNormalization", [("x", x)], [("y", y)], 1, dict(axis=0))

    # ---- MeanVarianceNormalization ----
    for axes in ([1], [2, 3], [0, 1, 2, 3], [0, 3]):
        x = randn(2, 3, 4, 5) * 2 + 1
        mean = x.mean(axis=tuple(axes), keepdims=True)
        std = np.sqrt(((x - mean) ** 2).mean(axis=tuple(axes), keepdims=True))
        case("nnx_mvn_axes_" + "".join(map(str, axes)), "MeanVarianceNormalization", [("x", x)],
             [("y", ((x - mean) / (std + 1e-9)).astype(np.float32))], 13, dict(axes=axes))

    # ---- LRN ----
    x = randn(2, 10, 7, 7)
    y = F.local_response_norm(t(x), 5, 1e-3, 0.75, 2.0).numpy()
    case("nnx_lrn_size5", "LRN", [("x", x)], [("y", y)], 13, dict(size=5, alpha=1e-3, beta=0.75, bias=2.0))
    x = randn(1, 6, 3, 4)
    sq = np.zeros_like(x)
    for c in range(6):
        sq[:, c] = (x[:, max(0, c - 1):min(5, c + 2) + 1] ** 2).sum(axis=1)
    y = x / (1.5 + 1e-2 / 4 * sq) ** 0.6
    case("nnx_lrn_size4_beta06", "LRN", [("x", x)], [("y", y.astype(np.float32))], 13,
         dict(size=4, alpha=1e-2, beta=0.6, bias=1.5))

    # ---- Dropout ----
    x = randn(3, 4)
    case("nnx_dropout_opset7_mask", "Dropout", [("x", x)], [("y", x), ("m", np.ones_like(x))], 7, dict(ratio=0.3))
    case("nnx_dropout_opset10_mask", "Dropout", [("x", x)], [("y", x), ("m", np.ones(x.shape, np.bool_))], 10)
    case("nnx_dropout_training_false", "Dropout", [("x", x)], [("y", x), ("m", np.ones(x.shape, np.bool_))], 13,
         initializers=[("r", np.array(0.5, np.float32)), ("t", np.array(False))])
    case("nnx_dropout_training_zero_ratio", "Dropout", [("x", x)], [("y", x), ("m", np.ones(x.shape, np.bool_))], 13,
         initializers=[("r", np.array(0.0, np.float32)), ("t", np.array(True))])


if __name__ == "__main__":
    main()
