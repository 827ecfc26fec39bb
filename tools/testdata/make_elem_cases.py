#!/usr/bin/python3
"""Write small backend-test folders (model.onnx + test_data_set_0/*.pb) for the
elementwise/reduction/softmax edges the ONNX node tests miss: opset < 13
Softmax semantics, Clip with attributes, Reduce* with an axes attribute at
opset 11, run-time axes, int64 shape arithmetic, mixed-type Pow, float16 Cast,
and tensors large enough to be split over threads. test/check_elem.c runs them.
Run: /usr/bin/python3 tools/testdata/make_elem_cases.py test/data/elem
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

OUT = sys.argv[1]
rng = np.random.default_rng(7)
TYPES = {np.float32: TP.FLOAT, np.float64: TP.DOUBLE, np.float16: TP.FLOAT16, np.int64: TP.INT64,
         np.int32: TP.INT32, np.bool_: TP.BOOL, np.uint8: TP.UINT8, np.int8: TP.INT8}


def case(name, op, inputs, outputs, opset=13, attrs=None, names=None, consts=None):
    """One node; inputs named x0, x1, ... ('' = absent optional input); consts become initializers."""
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    names = names or ["x%d" % i for i in range(len(inputs))]
    consts = consts or {}
    fed = [(n, a) for n, a in zip(names, inputs) if n and n not in consts]
    ins = [helper.make_tensor_value_info(n, TYPES[a.dtype.type], a.shape) for n, a in fed]
    outs = [helper.make_tensor_value_info("y%d" % i, TYPES[a.dtype.type], a.shape) for i, a in enumerate(outputs)]
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    node = helper.make_node(op, names, ["y%d" % i for i in range(len(outputs))], **(attrs or {}))
    m = helper.make_model(helper.make_graph([node], name, ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", opset)], producer_name="nn-testdata")
    m.ir_version = 7
    onnx.save(m, os.path.join(d, "model.onnx"))
    for k, (n, a) in enumerate(fed):
        onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(d, "test_data_set_0", "input_%d.pb" % k))
    for i, a in enumerate(outputs):
        onnx.save_tensor(numpy_helper.from_array(a, "y%d" % i), os.path.join(d, "test_data_set_0", "output_%d.pb" % i))


def f32(*s):
    return rng.standard_normal(s).astype(np.float32)


def softmax_2d(x, axis, kind):
    """Opset < 13: rows are everything from `axis` on."""
    n = int(np.prod(x.shape[:axis]))
    m = x.reshape(n, -1).astype(np.float64)
    if kind == "Hardmax":
        r = np.zeros_like(m)
        r[np.arange(n), m.argmax(1)] = 1
    else:
        e = np.exp(m - m.max(1, keepdims=True))
        r = e / e.sum(1, keepdims=True)
        if kind == "LogSoftmax":
            r = np.log(r)
    return r.reshape(x.shape).astype(x.dtype)


def softmax_axis(x, axis):
    e = np.exp(x.astype(np.float64) - x.max(axis, keepdims=True))
    return (e / e.sum(axis, keepdims=True)).astype(x.dtype)


x = f32(2, 3, 4, 5)
for kind in ("Softmax", "LogSoftmax", "Hardmax"):
    for axis in (0, 2, -1):
        case("%s_opset11_axis%d" % (kind.lower(), axis % 4), kind, [x], [softmax_2d(x, axis % 4, kind)], opset=11,
             attrs=dict(axis=axis))
    case("%s_opset11_default" % kind.lower(), kind, [x], [softmax_2d(x, 1, kind)], opset=11)
xs = f32(64, 300) * 4
case("softmax_threads_rows", "Softmax", [xs], [softmax_axis(xs, -1)])
xs = f32(4, 300, 20) * 4
case("softmax_threads_middle", "Softmax", [xs], [softmax_axis(xs, 1)], attrs=dict(axis=1))

x = f32(50)
case("clip_opset6", "Clip", [x], [np.clip(x, -0.5, 0.7)], opset=6, attrs=dict(min=-0.5, max=0.7))
case("clip_opset6_min_only", "Clip", [x], [np.maximum(x, -0.5)], opset=6, attrs=dict(min=-0.5))
case("clip_opset11_max_only", "Clip", [x, np.array(0, np.float32), np.array(0.3, np.float32)], [np.minimum(x, 0.3)],
     opset=11, names=["x0", "", "x2"])
xi = rng.integers(-100, 100, 30).astype(np.int32)
case("clip_int32", "Clip", [xi, np.array(-10, np.int32), np.array(20, np.int32)], [np.clip(xi, -10, 20)])

x = f32(2, 1, 3, 4, 5)
for axes in ((0,), (4,), (1, 2), (0, 3), (2, 4), (0, 2, 4), (-1, -2)):
    tag = "_".join(str(a % 5) for a in axes)
    for op, fn in (("ReduceSum", np.sum), ("ReduceMax", np.max), ("ReduceMin", np.min), ("ReduceMean", np.mean),
                   ("ReduceProd", np.prod)):
        case("%s_opset11_%s" % (op, tag), op, [x], [fn(x, axis=axes, keepdims=True)], opset=11,
             attrs=dict(axes=list(axes)))
    case("ReduceL2_opset11_%s_nokeep" % tag, "ReduceL2", [x],
         [np.sqrt(np.sum(x * x, axis=axes)).astype(np.float32)], opset=11, attrs=dict(axes=list(axes), keepdims=0))
case("ReduceSum_axes_runtime", "ReduceSum", [x, np.array([1, 3], np.int64)], [np.sum(x, axis=(1, 3), keepdims=True)])
case("ReduceSum_axes_const", "ReduceSum", [x, np.array([-1], np.int64)], [np.sum(x, axis=-1)], attrs=dict(keepdims=0),
     consts={"x1": np.array([-1], np.int64)})
case("ReduceSum_noop", "ReduceSum", [x, np.array([], np.int64)], [x], attrs=dict(noop_with_empty_axes=1))
case("ReduceSum_all", "ReduceSum", [x], [np.sum(x, keepdims=True)])
case("ReduceSum_empty_axis", "ReduceSum", [np.zeros((3, 0, 2), np.float32)], [np.zeros((3, 1, 2), np.float32)],
     opset=11, attrs=dict(axes=[1]))
xi = rng.integers(-50, 50, (4, 5, 6)).astype(np.int64)
case("ReduceSum_int64", "ReduceSum", [xi], [np.sum(xi, axis=(0, 2), keepdims=True)], opset=11, attrs=dict(axes=[0, 2]))
case("ReduceMax_int32", "ReduceMax", [xi.astype(np.int32)], [np.max(xi.astype(np.int32), axis=1)], opset=11,
     attrs=dict(axes=[1], keepdims=0))
xr = f32(16, 32, 33)
case("ReduceMean_threads", "ReduceMean", [xr], [np.mean(xr, axis=1, keepdims=True)], attrs=dict(axes=[1]))
case("ReduceMean_threads_last", "ReduceMean", [xr], [np.mean(xr, axis=-1, keepdims=True)], attrs=dict(axes=[-1]))

xa = np.array([[1, 3, 3, 0], [2, 2, 1, 2]], np.float32)
case("argmax_ties_last", "ArgMax", [xa], [np.array([[2], [3]], np.int64)], attrs=dict(axis=1, select_last_index=1))
case("argmin_ties_first", "ArgMin", [xa], [np.array([3, 2], np.int64)], attrs=dict(axis=1, keepdims=0))

# int64 shape arithmetic, broadcast
s = np.array([[8, 6, 224, 224]], np.int64)
case("int64_div", "Div", [s, np.array([2, 3, -7, 5], np.int64)], [np.array([[4, 2, -32, 44]], np.int64)])
case("int64_mul_scalar", "Mul", [s, np.array(3, np.int64)], [s * 3])
case("int64_mod", "Mod", [np.array([-7, 7, -7, 7], np.int64), np.array([3, -3, -3, 3], np.int64)],
     [np.array([2, -2, -1, 1], np.int64)])
case("int64_equal", "Equal", [s, np.array([224], np.int64)], [s == 224])
case("int64_where", "Where", [np.array([True, False, True, False]), s[0], np.array(-1, np.int64)],
     [np.where([True, False, True, False], s[0], -1)])
a, b, c = f32(3, 1, 4), f32(5, 1), f32(4)
case("mean_three", "Mean", [a, b, c], [((a + b + c) / 3).astype(np.float32)])
case("max_three", "Max", [a, b, c], [np.maximum(np.maximum(a, b), c)])
case("sum_one", "Sum", [a], [a])
case("pow_int64_float", "Pow", [np.array([1, 2, 3], np.int64), np.array(2.0, np.float32)],
     [np.array([1, 4, 9], np.int64)], opset=15)
case("pow_float_int64", "Pow", [np.array([1.5, 2, -3], np.float32), np.array([2, 3, 3], np.int64)],
     [np.array([2.25, 8, -27], np.float32)], opset=15)
xp, sl = f32(2, 4, 3, 3), f32(4, 1, 1)
case("prelu_channel", "PRelu", [xp, sl], [np.where(xp < 0, xp * sl, xp)])
case("isinf_negative_only", "IsInf", [np.array([1, np.inf, -np.inf, np.nan], np.float32)],
     [np.array([False, False, True, False])], attrs=dict(detect_positive=0))
case("mod_fmod_int", "Mod", [np.array([-7, 7], np.int32), np.array([3, -3], np.int32)], [np.array([-1, 1], np.int32)],
     attrs=dict(fmod=1))
xc = (f32(40) * 100).astype(np.float32)
case("cast_float_int32", "Cast", [xc], [xc.astype(np.int32)], attrs=dict(to=TP.INT32))
case("cast_float_bool", "Cast", [np.array([0, -0.0, 2, np.nan], np.float32)], [np.array([False, False, True, True])],
     attrs=dict(to=TP.BOOL))
case("cast_int64_float", "Cast", [np.array([-3, 2 ** 40], np.int64)], [np.array([-3, 2 ** 40], np.float32)],
     attrs=dict(to=TP.FLOAT))
hf = np.array([0, 1e-8, 3e-8, 6.1e-5, 65519, 65504, -6e4, 0.1, np.inf, -2.5e-6], np.float32)
case("cast_float_float16", "Cast", [hf], [hf.astype(np.float16)], attrs=dict(to=TP.FLOAT16))
case("cast_float16_float", "Cast", [hf.astype(np.float16)], [hf.astype(np.float16).astype(np.float32)],
     attrs=dict(to=TP.FLOAT))
case("cumsum_middle_reverse_exclusive", "CumSum", [x[:, 0], np.array(1, np.int32)],
     [(np.flip(np.cumsum(np.flip(x[:, 0], 1), 1), 1) - x[:, 0]).astype(np.float32)], opset=14,
     attrs=dict(exclusive=1, reverse=1))
