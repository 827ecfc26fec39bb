#!/usr/bin/python3
"""Write small backend-test folders (model.onnx + test_data_set_0/*.pb) for the
shape and data-movement edges the ONNX node tests miss: attribute forms of old
opsets (Slice 9, Pad 2, Split 11, Squeeze/Unsqueeze 11, Upsample 7, Resize 10,
TopK 1), extreme Slice bounds, negative pads, ties in TopK, reductions in
Scatter*, every dtype through the transpose kernels, tensors large enough to
be split over threads, and a Shape->Gather->Concat->Reshape chain. Expected
outputs are computed with numpy.

Into OUT/shape/<case>/ go the cases that must match; into OUT/shape_errors/
<case>/ those that must fail, with the expected nn_status in a file `status`.
test/check_shape.c runs both.
Run: /usr/bin/python3 tools/testdata/make_shape_cases.py test/data
"""
import os
import shutil
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = sys.argv[1]
OUT = os.path.join(ROOT, "shape")
ERR = os.path.join(ROOT, "shape_errors")
for d in (OUT, ERR):
    shutil.rmtree(d, ignore_errors=True)
rng = np.random.default_rng(0)
NP2ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
           np.dtype(np.int64): TensorProto.INT64, np.dtype(np.int32): TensorProto.INT32,
           np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.bool_): TensorProto.BOOL,
           np.dtype(np.int8): TensorProto.INT8, np.dtype(np.float16): TensorProto.FLOAT16}
# nn_status values (include/nn.h)
E_INVALID_ARG, E_INVALID_MODEL, E_SHAPE = -1, -5, -7


def save(t, path):
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def write_model(d, nodes, vis, vos, inits, opset):
    g = helper.make_graph(nodes, os.path.basename(d), vis, vos, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="nn-testdata")
    m.ir_version = 7
    save(m, os.path.join(d, "model.onnx"))


def case(name, op, inputs, outputs, opset=13, const_inputs=(), status=None, **attrs):
    """inputs: (name, array or None for an absent optional input); const_inputs become initializers.
    status: the nn_status the case must fail with (outputs are then only placeholders)."""
    d = os.path.join(OUT if status is None else ERR, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    node = helper.make_node(op, [n if a is not None else "" for n, a in inputs], [n for n, _ in outputs], **attrs)
    inits, vis, k = [], [], 0
    for n, a in inputs:
        if a is None:
            continue
        if n in const_inputs:
            inits.append(numpy_helper.from_array(a, n))
            continue
        vis.append(helper.make_tensor_value_info(n, NP2ONNX[a.dtype], a.shape))
        save(numpy_helper.from_array(a, n), os.path.join(d, "test_data_set_0", "input_%d.pb" % k))
        k += 1
    vos = []
    for i, (n, a) in enumerate(outputs):
        vos.append(helper.make_tensor_value_info(n, NP2ONNX[a.dtype], None))
        save(numpy_helper.from_array(a, n), os.path.join(d, "test_data_set_0", "output_%d.pb" % i))
    write_model(d, [node], vis, vos, inits, opset)
    if status is not None:
        with open(os.path.join(d, "status"), "w") as f:
            f.write("%d\n" % status)


def rnd(shape, dt=np.float32):
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if np.issubdtype(dt, np.integer):
        return rng.integers(-100 if dt != np.uint8 else 0, 100, shape).astype(dt)
    return rng.standard_normal(shape).astype(dt)


def I64(*v):
    return np.array(v, dtype=np.int64)


# ---- cases that must match ----

for dt in (np.float32, np.int64, np.uint8, np.bool_, np.float16, np.int8):
    x = rnd((2, 3, 64, 80) if dt == np.float32 else (2, 3, 20, 36), dt)
    case(f"tr_nchw_nhwc_{np.dtype(dt).name}", "Transpose", [("x", x)], [("y", x.transpose(0, 2, 3, 1))], perm=[0, 2, 3, 1])
    x2 = rnd((2, 64, 80, 3) if dt == np.float32 else (2, 20, 36, 3), dt)
    case(f"tr_nhwc_nchw_{np.dtype(dt).name}", "Transpose", [("x", x2)], [("y", x2.transpose(0, 3, 1, 2))], perm=[0, 3, 1, 2])
x = rnd((100, 70)); case("tr_2d", "Transpose", [("x", x)], [("y", x.T)])
x = rnd((5, 1, 4, 3, 2, 6))
for i, p in enumerate([(5, 4, 3, 2, 1, 0), (1, 3, 0, 5, 2, 4), (0, 1, 2, 3, 5, 4), (2, 0, 1, 3, 4, 5)]):
    case(f"tr_6d_{i}", "Transpose", [("x", x)], [("y", x.transpose(p))], perm=list(p))
x = rnd((160, 120)); case("tr_big2d", "Transpose", [("x", x)], [("y", x.T)], perm=[1, 0])

# Slice
x = rnd((20, 10, 5))
big = np.iinfo(np.int64).max; small = np.iinfo(np.int64).min
specs = [((0, 2), (big, -1), (0, 1), (3, 2)), ((-1,), (small,), (0,), (-1,)), ((18, 9), (-100, 0), (0, -2), (-4, -3)),
         ((5,), (5,), (1,), (1,)), ((0,), (3,), (2,), (big,)), ((-3,), (big,), (-1,), (small,)), ((100,), (-100,), (0,), (-1,))]
for i, (st, en, ax, sp) in enumerate(specs):
    sl = [slice(None)] * 3
    for s_, e_, a_, p_ in zip(st, en, ax, sp):
        # numpy semantics match ONNX for these clamps
        sl[a_] = slice(int(s_), int(e_), int(p_))
    y = x[tuple(sl)]
    case(f"slice_{i}", "Slice", [("x", x), ("s", I64(*st)), ("e", I64(*en)), ("a", I64(*ax)), ("p", I64(*sp))], [("y", y)],
         const_inputs=("s", "e", "a", "p"))
case("slice_opset9", "Slice", [("x", x)], [("y", x[1:-1, :, 2:])], opset=9, starts=[1, 2], ends=[-1, 100], axes=[0, 2])
case("slice_dyn_starts", "Slice", [("x", x), ("s", I64(2, 1)), ("e", I64(10, 8))], [("y", x[2:10, 1:8])])

# Gather
x = rnd((4, 5, 6), np.int64)
idx = np.array([[0, -1], [2, 4]], dtype=np.int32)
case("gather_axis1_i32", "Gather", [("x", x), ("i", idx)], [("y", np.take(x, idx, axis=1))], axis=1)
case("gather_axis_neg1_scalar", "Gather", [("x", x), ("i", np.array(-2, dtype=np.int64))], [("y", np.take(x, -2, axis=-1))], axis=-1)
xe = rnd((3, 4, 5)); ie = rng.integers(-4, 4, (3, 2, 5)).astype(np.int64)
case("gather_elements_3d", "GatherElements", [("x", xe), ("i", ie)], [("y", np.take_along_axis(xe, np.where(ie < 0, ie + 4, ie), axis=1))], axis=1)
# GatherND batch_dims=1
xd = rnd((2, 3, 4)); ind = np.array([[[1, 2], [0, -1]], [[2, 3], [1, 0]]], dtype=np.int64)
yd = np.stack([np.stack([xd[b][tuple(np.where(t < 0, t + np.array([3, 4]), t))] for t in ind[b]]) for b in range(2)])
case("gathernd_batch1", "GatherND", [("x", xd), ("i", ind)], [("y", yd)], batch_dims=1)

# Pad
x = rnd((3, 4, 5))
case("pad_opset2_attr", "Pad", [("x", x)], [("y", np.pad(x, ((1, 0), (0, 2), (2, 1)), constant_values=1.5))], opset=2, pads=[1, 0, 2, 0, 2, 1], value=1.5)
case("pad_reflect_3d", "Pad", [("x", x), ("p", I64(2, 1, 3, 1, 3, 4))], [("y", np.pad(x, ((2, 1), (1, 3), (3, 4)), mode="reflect"))], mode="reflect")
case("pad_edge_neg", "Pad", [("x", x), ("p", I64(-1, 2, 0, 1, -2, 3))], [("y", np.pad(x, ((0, 1), (2, 0), (0, 3)), mode="edge")[1:, :-2 or None, :])], mode="edge")
xi = rnd((3, 4), np.int32)
case("pad_const_int", "Pad", [("x", xi), ("p", I64(1, 1, 1, 1)), ("v", np.array(7, dtype=np.int32))], [("y", np.pad(xi, 1, constant_values=7))])
case("pad_const_default", "Pad", [("x", xi), ("p", I64(0, 2, 1, 0))], [("y", np.pad(xi, ((0, 1), (2, 0))))], opset=11)

# Expand / Tile
x = rnd((3, 1), np.int64)
case("expand_rank_up", "Expand", [("x", x), ("s", I64(2, 1, 6))], [("y", x * np.ones((2, 1, 6), np.int64))])
x = rnd((1, 4)); case("expand_smaller_shape", "Expand", [("x", x), ("s", I64(3, 1))], [("y", np.broadcast_to(x, (3, 4)).copy())])
x = rnd((2, 3, 4), np.uint8); case("tile_3d", "Tile", [("x", x), ("r", I64(2, 1, 3))], [("y", np.tile(x, (2, 1, 3)))], const_inputs=("r",))
case("tile_zero", "Tile", [("x", x), ("r", I64(2, 0, 3))], [("y", np.tile(x, (2, 0, 3)))])

# Split variants
x = rnd((6, 4))
case("split_opset11_attr", "Split", [("x", x)], [("a", x[:2]), ("b", x[2:])], opset=11, split=[2, 4])
case("split_opset13_input", "Split", [("x", x), ("s", I64(1, 3))], [("a", x[:, :1]), ("b", x[:, 1:])], axis=-1)
case("split_equal3", "Split", [("x", x)], [("a", x[:2]), ("b", x[2:4]), ("c", x[4:])])

# Squeeze/Unsqueeze old opsets
x = rnd((1, 3, 1, 4))
case("squeeze_opset11", "Squeeze", [("x", x)], [("y", x.reshape(3, 1, 4))], opset=11, axes=[0])
case("squeeze_all", "Squeeze", [("x", x)], [("y", x.reshape(3, 4))])
case("unsqueeze_opset11", "Unsqueeze", [("x", x)], [("y", x.reshape(1, 1, 3, 1, 4, 1))], opset=11, axes=[0, -1])

# Concat with an empty input
a = rnd((2, 0, 3)); b = rnd((2, 4, 3)); c2 = rnd((2, 1, 3))
case("concat_empty", "Concat", [("a", a), ("b", b), ("c", c2)], [("y", np.concatenate([a, b, c2], 1))], axis=1)

# Reshape allowzero
x = rnd((0, 3, 4))
case("reshape_allowzero", "Reshape", [("x", x), ("s", I64(3, 0, 4))], [("y", x.reshape(3, 0, 4))], opset=14, allowzero=1)
x = rnd((2, 3, 4)); case("reshape_zero_copy", "Reshape", [("x", x), ("s", I64(0, -1))], [("y", x.reshape(2, 12))])

# TopK
x = np.array([[3, 1, 3, 2, 3], [5, 5, 1, 1, 2]], dtype=np.int64)
case("topk_ties_int64", "TopK", [("x", x), ("k", I64(3))], [("v", np.array([[3, 3, 3], [5, 5, 2]], np.int64)), ("i", np.array([[0, 2, 4], [0, 1, 4]], np.int64))], opset=11)
case("topk_smallest_axis0", "TopK", [("x", x), ("k", I64(1))], [("v", np.array([[3, 1, 1, 1, 2]], np.int64)), ("i", np.array([[0, 0, 1, 1, 1]], np.int64))], opset=11, axis=0, largest=0)
x = rnd((4, 50)); k = 7
order = np.argsort(-x, axis=1, kind="stable")[:, :k]
case("topk_float_big", "TopK", [("x", x), ("k", I64(k))], [("v", np.take_along_axis(x, order, 1)), ("i", order.astype(np.int64))], opset=11)
case("topk_opset1", "TopK", [("x", x)], [("v", np.take_along_axis(x, order, 1)), ("i", order.astype(np.int64))], opset=9, k=k)

# Scatter reductions
d = rnd((4, 3)); idx = np.array([[1], [1], [3]], np.int64); u = rnd((3, 3))
exp = d.copy(); exp[1] += u[0]; exp[1] += u[1]; exp[3] += u[2]
case("scatternd_add", "ScatterND", [("d", d), ("i", idx), ("u", u)], [("y", exp)], opset=16, reduction="add")
d = rnd((3, 4)); idx = np.array([[0, 3], [-1, 0]], np.int64); u = rnd((2, 2))
exp = d.copy()
for r in range(2):
    for cc in range(2):
        exp[r, idx[r, cc] % 4] *= u[r, cc]
case("scatter_elements_mul", "ScatterElements", [("d", d), ("i", idx), ("u", u)], [("y", exp)], opset=16, axis=1, reduction="mul")

# DepthToSpace / SpaceToDepth bigger
x = rnd((2, 18, 3, 4)); b = 3
N, C, H, W = x.shape
dcr = x.reshape(N, b, b, C // 9, H, W).transpose(0, 3, 4, 1, 5, 2).reshape(N, C // 9, H * b, W * b)
crd = x.reshape(N, C // 9, b, b, H, W).transpose(0, 1, 4, 2, 5, 3).reshape(N, C // 9, H * b, W * b)
case("d2s_dcr", "DepthToSpace", [("x", x)], [("y", dcr)], blocksize=3)
case("d2s_crd", "DepthToSpace", [("x", x)], [("y", crd)], blocksize=3, mode="CRD")
x = rnd((2, 3, 6, 9), np.int64)
N, C, H, W = x.shape
s2d = x.reshape(N, C, H // 3, 3, W // 3, 3).transpose(0, 3, 5, 1, 2, 4).reshape(N, C * 9, H // 3, W // 3)
case("s2d_int", "SpaceToDepth", [("x", x)], [("y", s2d)], blocksize=3)

# Range / OneHot / ConstantOfShape / NonZero / Trilu
case("range_int64_neg", "Range", [("a", np.array(10, np.int64)), ("b", np.array(-7, np.int64)), ("c", np.array(-3, np.int64))], [("y", np.arange(10, -7, -3, dtype=np.int64))], opset=11)
case("range_empty", "Range", [("a", np.array(1.0, np.float32)), ("b", np.array(0.5, np.float32)), ("c", np.array(1.0, np.float32))], [("y", np.zeros(0, np.float32))], opset=11)
ind = np.array([[1, -1], [5, 0]], np.int64)
oh = np.zeros((3, 2, 2), np.float32) + 2
for i in range(2):
    for j in range(2):
        v = ind[i, j] % 3 if -3 <= ind[i, j] < 3 else None
        if v is not None: oh[v, i, j] = 9
case("onehot_axis0", "OneHot", [("i", ind), ("d", np.array(3.0, np.float32)), ("v", np.array([2, 9], np.float32))], [("y", oh)], opset=11, axis=0)
case("cos_int64", "ConstantOfShape", [("s", I64(2, 3))], [("y", np.full((2, 3), 42, np.int64))], opset=9, value=numpy_helper.from_array(np.array([42], np.int64)))
case("cos_dyn", "ConstantOfShape", [("s", I64(4))], [("y", np.zeros(4, np.float32))], opset=9)
x = rnd((2, 3, 4), np.int32); x[x > 30] = 0
case("nonzero_3d_int", "NonZero", [("x", x)], [("y", np.array(np.nonzero(x), np.int64))])
x = rnd((2, 3, 4), np.bool_); case("nonzero_bool", "NonZero", [("x", x)], [("y", np.array(np.nonzero(x), np.int64))])
x = rnd((2, 4, 5))
case("triu_batch_k", "Trilu", [("x", x), ("k", np.array(-1, np.int64))], [("y", np.triu(x, -1))], opset=14)
case("tril_batch_k", "Trilu", [("x", x), ("k", np.array(2, np.int64))], [("y", np.tril(x, 2))], opset=14, upper=0)

# Resize: non-4D nearest, uint8, opset 11 sizes
x = rnd((2, 5, 7), np.uint8)
def nearest_idx(o, inn, outn, mode="half_pixel"):
    s = outn / inn
    xo = (o + 0.5) / s - 0.5
    f = np.floor(xo); r = xo - f
    v = np.where((r == 0), xo, np.where(r <= 0.5, f, f + 1))
    return np.clip(v, 0, inn - 1).astype(int)
iy = nearest_idx(np.arange(9), 5, 9); ix = nearest_idx(np.arange(3), 7, 3)
case("resize_nearest_3d_uint8_sizes", "Resize", [("x", x), ("roi", None), ("sc", None), ("sz", I64(2, 9, 3))], [("y", x[:, iy][:, :, ix])], opset=13)
case("resize_nearest_opset11", "Resize", [("x", x), ("roi", np.zeros(0, np.float32)), ("sc", np.zeros(0, np.float32)), ("sz", I64(2, 9, 3))], [("y", x[:, iy][:, :, ix])], opset=11, const_inputs=("roi", "sc"))
x = rnd((1, 2, 3, 4))
case("upsample_opset7_attr", "Upsample", [("x", x)], [("y", x.repeat(2, 2).repeat(3, 3))], opset=7, scales=[1.0, 1.0, 2.0, 3.0], mode="nearest")
# bilinear 2x with half_pixel vs simple reference implemented here
def lin1d(a, axis, outn, ct="half_pixel"):
    inn = a.shape[axis]; s = outn / inn
    o = np.arange(outn)
    if ct == "half_pixel": xo = (o + 0.5) / s - 0.5
    elif ct == "asymmetric": xo = o / s
    xo = np.clip(xo, 0, inn - 1)
    f = np.floor(xo).astype(int); r = xo - f; f2 = np.minimum(f + 1, inn - 1)
    a0 = np.take(a, f, axis); a1 = np.take(a, f2, axis)
    sh = [1] * a.ndim; sh[axis] = outn; r = r.reshape(sh)
    return (a0 * (1 - r) + a1 * r).astype(np.float32)
x = rnd((2, 3, 5, 6))
y = lin1d(lin1d(x, 3, 13), 2, 8)
case("resize_linear_sizes_odd", "Resize", [("x", x), ("roi", None), ("sc", None), ("sz", I64(2, 3, 8, 13))], [("y", y)], opset=13, mode="linear")
y = lin1d(lin1d(x, 3, 12, "asymmetric"), 2, 10, "asymmetric")
case("resize10_linear", "Resize", [("x", x), ("sc", np.array([1, 1, 2, 2], np.float32))], [("y", y)], opset=10, mode="linear")
case("upsample9_linear", "Upsample", [("x", x), ("sc", np.array([1, 1, 2, 2], np.float32))], [("y", y)], opset=9, mode="linear")


# Resize modes the node tests leave out: antialias, axes with keep_aspect_ratio_policy, half_pixel_symmetric,
# tf_half_pixel_for_nn (which shifts even the scale-1 axes), extrapolation. The expectation applies one
# [out, in] weight matrix per axis, last axis first (cross-checked against the ONNX reference).
def axis_weights(n_in, n_out, scale, ct, mode, nearest="round_prefer_floor", a=-0.75, exclude=False, aa=False,
                 roi=(0.0, 1.0)):
    m = np.zeros((n_out, n_in))
    outside = np.zeros(n_out, bool)
    w_out = scale * n_in
    for o in range(n_out):
        if ct == "half_pixel":
            xo = (o + 0.5) / scale - 0.5
        elif ct == "asymmetric":
            xo = o / scale
        elif ct == "align_corners":
            xo = 0.0 if w_out == 1 else o * (n_in - 1) / (w_out - 1)
        elif ct == "pytorch_half_pixel":
            xo = -0.5 if w_out == 1 else (o + 0.5) / scale - 0.5
        elif ct == "tf_half_pixel_for_nn":
            xo = (o + 0.5) / scale
        elif ct == "half_pixel_symmetric":
            xo = n_in / 2 * (1 - n_out / w_out) + (o + 0.5) / scale - 0.5
        else:  # tf_crop_and_resize
            span = (roi[1] - roi[0]) * (n_in - 1)
            xo = roi[0] * (n_in - 1) + (span / 2 if w_out == 1 else o * span / (w_out - 1))
            if xo < 0 or xo > n_in - 1:
                outside[o] = True
                continue
        f = np.floor(xo)
        if mode == "nearest":
            r = xo - f
            if r == 0:
                i = xo
            elif nearest == "round_prefer_floor":
                i = f if r <= 0.5 else f + 1
            elif nearest == "round_prefer_ceil":
                i = f if r < 0.5 else f + 1
            else:
                i = f if nearest == "floor" else f + 1
            m[o, int(min(max(i, 0), n_in - 1))] = 1
            continue
        base = xo - 1 if xo == f else f  # the left pixel wins: an integer position has ratio 1
        half = 2 if mode == "cubic" else 1
        k = min(scale, 1.0) if aa else 1.0
        n = int(2 - 2 * (np.floor(-half / k) + 1)) if aa else 2 * half
        pos = base + 1 - n // 2 + np.arange(n)
        d = np.abs((pos - xo) * k)
        if mode == "cubic":
            w = np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                         np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0))
        else:
            w = np.maximum(1 - d, 0)
        if exclude:
            w = np.where((pos < 0) | (pos > n_in - 1), 0, w)
        if aa or exclude:
            w = w / w.sum()
        for p_, w_ in zip(pos, w):
            m[o, int(min(max(p_, 0), n_in - 1))] += w_
    return m, outside


def resize_ref(x, mode, scales=None, sizes=None, axes=None, policy="stretch", ct="half_pixel", extrap=0.0, roi=None,
               **kw):
    r = x.ndim
    axes = list(range(r)) if axes is None else axes
    sc, out = [1.0] * r, list(x.shape)
    rois = [(0.0, 1.0)] * r
    if roi is not None:
        for i, ax in enumerate(axes):
            rois[ax] = (float(np.float32(roi[i])), float(np.float32(roi[len(axes) + i])))
    if sizes is not None:
        for i, ax in enumerate(axes):
            sc[ax] = sizes[i] / x.shape[ax]
            out[ax] = sizes[i]
        if policy != "stretch":
            k = (min if policy == "not_larger" else max)(sc[ax] for ax in axes)
            for ax in axes:
                sc[ax] = k
                out[ax] = int(k * x.shape[ax] + 0.5)
    else:
        for i, ax in enumerate(axes):
            sc[ax] = float(np.float32(scales[i]))
            out[ax] = int(np.floor(sc[ax] * x.shape[ax]))
    y = x.astype(np.float64)
    for ax in reversed(range(r)):
        m, outside = axis_weights(x.shape[ax], out[ax], sc[ax], ct, mode, roi=rois[ax], **kw)
        y = np.moveaxis(np.tensordot(m, np.moveaxis(y, ax, 0), axes=1), 0, ax)
        idx = [slice(None)] * r
        idx[ax] = outside
        y[tuple(idx)] = extrap
    return y.astype(x.dtype)


def resize_case(name, x, mode, scales=None, sizes=None, roi=None, axes=None, policy="stretch", ct="half_pixel",
                extrap=0.0, **kw):
    attrs = dict(mode=mode, coordinate_transformation_mode=ct)
    if axes is not None:
        attrs["axes"] = axes
    if policy != "stretch":
        attrs["keep_aspect_ratio_policy"] = policy
    if extrap:
        attrs["extrapolation_value"] = extrap
    names = {"nearest": "nearest_mode", "a": "cubic_coeff_a", "exclude": "exclude_outside", "aa": "antialias"}
    for k, v in kw.items():
        attrs[names[k]] = int(v) if isinstance(v, bool) else v
    y = resize_ref(x, mode, scales, sizes, axes, policy, ct, extrap, roi, **kw)
    f32 = lambda v: None if v is None else np.array(v, np.float32)
    case(name, "Resize", [("x", x), ("roi", f32(roi)), ("sc", f32(scales)),
                          ("sz", None if sizes is None else np.array(sizes, np.int64))], [("y", y)], opset=17,
         const_inputs=("roi", "sc", "sz"), **attrs)


x = rnd((1, 2, 7, 9))
for mode in ("linear", "cubic"):
    resize_case("resize_antialias_" + mode, x, mode, scales=[1, 1, 0.6, 0.45], aa=True)
for ct in ("tf_half_pixel_for_nn", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners"):
    for mode in ("nearest", "linear", "cubic"):
        resize_case("resize_%s_%s" % (ct, mode), x, mode, scales=[1, 1, 1.7, 0.55], ct=ct, nearest="round_prefer_ceil")
resize_case("resize_axes_not_larger", x, "linear", sizes=[5, 4], axes=[3, 2], policy="not_larger")
resize_case("resize_axes_not_smaller_cubic", x, "cubic", sizes=[5, 4], axes=[3, 2], policy="not_smaller", exclude=True,
            a=-0.5)
for mode in ("nearest", "linear"):
    resize_case("resize_crop_extrapolate_" + mode, x, mode, sizes=[5, 6], axes=[2, 3], roi=[0.2, 0.1, 1.3, 0.8],
                ct="tf_crop_and_resize", extrap=2.5)

# EyeLike, Compress, ReverseSequence, Unique
x = rnd((3, 5))
case("eyelike_int_k_neg", "EyeLike", [("x", x)], [("y", np.eye(3, 5, k=-1, dtype=np.int32))], opset=9, dtype=TensorProto.INT32, k=-1)
case("eyelike_k_past_end", "EyeLike", [("x", x)], [("y", np.eye(3, 5, k=7, dtype=np.float32))], opset=9, k=7)
xc = rnd((3, 4, 2), np.int64)
cond = np.array([True, False, True], np.bool_)
case("compress_flat_short", "Compress", [("x", xc), ("c", cond)], [("y", np.compress(cond, xc))], opset=11)
cond = np.array([False, True, True, False], np.bool_)
case("compress_axis1", "Compress", [("x", xc), ("c", cond)], [("y", np.compress(cond, xc, axis=1))], opset=11, axis=1)
xr = rnd((3, 5, 2))
lens = I64(5, 0, 3)
yr = xr.copy()
for b, n in enumerate(lens):
    yr[b, :n] = xr[b, :n][::-1]
case("reversesequence_batch_first", "ReverseSequence", [("x", xr), ("l", lens)], [("y", yr)], opset=10, batch_axis=0,
     time_axis=1)
xu = np.array([[2, 1, 2, 1], [0, 3, 0, 3], [2, 1, 2, 1]], np.int64)
yu, iu, invu, cu = np.unique(xu, axis=1, return_index=True, return_inverse=True, return_counts=True)
case("unique_axis1_int64", "Unique", [("x", xu)], [("y", yu), ("i", iu.astype(np.int64)), ("v", invu.astype(np.int64)),
                                                     ("k", cu.astype(np.int64))], opset=11, axis=1)
xu = np.array([3.5, -0.0, 0.0, np.nan, 1, 3.5, np.nan], np.float32)
case("unique_unsorted_nan", "Unique", [("x", xu)], [("y", np.array([3.5, -0.0, np.nan, 1], np.float32)),
                                                    ("i", I64(0, 1, 3, 4)), ("v", I64(0, 1, 1, 2, 3, 0, 2)),
                                                    ("k", I64(2, 2, 2, 1))], opset=11, sorted=0)

# Shape -> Gather -> Unsqueeze -> Concat -> Reshape, folded while planning; Shape with start; Size
d = os.path.join(OUT, "shape_chain")
os.makedirs(os.path.join(d, "test_data_set_0"))
nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
         helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]), helper.make_node("Concat", ["n1", "m1"], ["shp"], axis=0),
         helper.make_node("Reshape", ["x", "shp"], ["y"]), helper.make_node("Shape", ["y"], ["ys"], start=-1),
         helper.make_node("Size", ["x"], ["sz"])]
inits = [numpy_helper.from_array(np.array(0, np.int64), "i0"), numpy_helper.from_array(I64(0), "ax"),
         numpy_helper.from_array(I64(-1), "m1")]
x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
write_model(d, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
            [helper.make_tensor_value_info(n, t, None) for n, t in (("y", TensorProto.FLOAT), ("ys", TensorProto.INT64),
                                                                   ("sz", TensorProto.INT64))], inits, 15)
save(numpy_helper.from_array(x, "x"), os.path.join(d, "test_data_set_0", "input_0.pb"))
for i, (n, a) in enumerate((("y", x.reshape(2, 12)), ("ys", I64(12)), ("sz", np.array(24, np.int64)))):
    save(numpy_helper.from_array(a, n), os.path.join(d, "test_data_set_0", "output_%d.pb" % i))

# ---- cases that must fail ----

x = rnd((4, 5))
dummy = np.zeros(1, np.float32)
case("gather_oob", "Gather", [("x", x), ("i", I64(0, 4))], [("y", dummy)], status=E_INVALID_ARG)
case("gather_oob_neg", "Gather", [("x", x), ("i", I64(-5))], [("y", dummy)], status=E_INVALID_ARG)
case("gather_elements_oob", "GatherElements", [("x", x), ("i", np.full((4, 5), 9, np.int64))], [("y", dummy)], status=E_INVALID_ARG)
case("gathernd_oob", "GatherND", [("x", x), ("i", I64(4, 0).reshape(1, 2))], [("y", dummy)], status=E_INVALID_ARG)
case("scatternd_oob", "ScatterND", [("x", x), ("i", I64(7).reshape(1, 1)), ("u", rnd((1, 5)))], [("y", dummy)], status=E_INVALID_ARG)
case("reshape_bad", "Reshape", [("x", x), ("s", I64(3, -1))], [("y", dummy)], status=E_SHAPE)
case("reshape_two_neg", "Reshape", [("x", x), ("s", I64(-1, -1))], [("y", dummy)], status=E_SHAPE)
case("split_bad", "Split", [("x", x), ("s", I64(1, 1))], [("a", dummy), ("b", dummy)], status=E_SHAPE)
case("split_uneven", "Split", [("x", x)], [("a", dummy), ("b", dummy), ("c", dummy)], status=E_SHAPE)
case("concat_bad", "Concat", [("a", x), ("b", rnd((3, 4)))], [("y", dummy)], axis=0, status=E_SHAPE)
case("concat_axis", "Concat", [("a", x), ("b", x)], [("y", dummy)], axis=2, status=E_INVALID_MODEL)
case("transpose_perm", "Transpose", [("x", x)], [("y", dummy)], perm=[0, 0], status=E_INVALID_MODEL)
case("transpose_rank", "Transpose", [("x", x)], [("y", dummy)], perm=[0, 1, 2], status=E_SHAPE)
case("slice_step0", "Slice", [("x", x), ("s", I64(0)), ("e", I64(3)), ("a", I64(0)), ("p", I64(0))], [("y", dummy)], status=E_INVALID_MODEL)
case("slice_axis", "Slice", [("x", x), ("s", I64(0)), ("e", I64(3)), ("a", I64(5))], [("y", dummy)], status=E_INVALID_MODEL)
case("squeeze_not1", "Squeeze", [("x", x), ("a", I64(0))], [("y", dummy)], status=E_SHAPE)
case("unsqueeze_dup", "Unsqueeze", [("x", x), ("a", I64(0, 0))], [("y", dummy)], status=E_INVALID_MODEL)
case("expand_bad", "Expand", [("x", x), ("s", I64(3, 5))], [("y", dummy)], status=E_SHAPE)
case("tile_neg", "Tile", [("x", x), ("r", I64(1, -1))], [("y", dummy)], status=E_SHAPE)
case("pad_bad", "Pad", [("x", x), ("p", I64(1, 1))], [("y", dummy)], status=E_SHAPE)
case("pad_crop_too_much", "Pad", [("x", x), ("p", I64(-3, 0, -3, 0))], [("y", dummy)], status=E_SHAPE)
case("topk_k", "TopK", [("x", x), ("k", I64(9))], [("v", dummy), ("i", I64(0))], opset=11, status=E_INVALID_ARG)
case("range_zero", "Range", [("a", np.array(1, np.int64)), ("b", np.array(5, np.int64)), ("c", np.array(0, np.int64))], [("y", I64(0))], opset=11, status=E_INVALID_ARG)
case("d2s_bad", "DepthToSpace", [("x", rnd((1, 3, 2, 2)))], [("y", dummy)], blocksize=2, status=E_SHAPE)
case("resize_bad_scales", "Resize", [("x", x), ("roi", None), ("sc", np.array([1, -1], np.float32))], [("y", dummy)], opset=13, status=E_SHAPE)
case("roialign_batch", "RoiAlign", [("x", rnd((1, 1, 4, 4))), ("r", np.array([[0, 0, 1, 1]], np.float32)), ("b", I64(3))], [("y", dummy)], opset=16, status=E_INVALID_ARG)
case("onehot_depth0", "OneHot", [("i", I64(1)), ("d", np.array(0, np.int64)), ("v", np.array([0, 1], np.float32))], [("y", dummy)], opset=11, status=E_INVALID_ARG)
case("cos_neg", "ConstantOfShape", [("s", I64(2, -3))], [("y", dummy)], opset=9, status=E_SHAPE)
case("flatten_axis", "Flatten", [("x", x)], [("y", dummy)], axis=3, status=E_INVALID_MODEL)
case("gather_axis", "Gather", [("x", x), ("i", I64(0))], [("y", dummy)], axis=2, status=E_INVALID_MODEL)
case("compress_long_condition", "Compress", [("x", x), ("c", np.ones(5, np.bool_))], [("y", dummy)], opset=11, axis=0,
     status=E_SHAPE)
case("reversesequence_len", "ReverseSequence", [("x", rnd((3, 2))), ("l", I64(1, 4))], [("y", dummy)], opset=10,
     status=E_INVALID_ARG)
case("nms_shape", "NonMaxSuppression", [("b", rnd((1, 3, 3))), ("s", rnd((1, 1, 3)))], [("y", I64(0))], opset=11, status=E_SHAPE)
