#!/usr/bin/python3
"""Write the small models test/check_edit.c edits (test/data/models/edit/).

Tiny image classifiers in the shapes the model-editing code must handle:
a Gemm head after global pooling, a fixed-width Flatten->Gemm, a Shape chain
that load-time folding turns into a constant (and its symbolic twin), a 1x1
Conv head followed by a Reshape to a literal shape, and a one-channel model.
Weights are seeded; nothing here needs reference outputs (the tests compare
nn with itself across edits, and tools/zoo/check_save.py compares with ORT).
Run: /usr/bin/python3 tools/testdata/make_edit_models.py test/data/models/edit
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RGB_META = {"nn.labels": "a\nb\nc\nd\ne", "nn.input.color": "RGB",
            "nn.input.mean": "0.485,0.456,0.406", "nn.input.std": "0.229,0.224,0.225"}


def model(nodes, name, inputs, outputs, inits, opset=13, meta=None):
    g = helper.make_graph(nodes, name, inputs, outputs, [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="nn-testdata")
    m.ir_version = 7
    for k, v in (meta or {}).items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m, full_check=True)
    return m


def w(rng, *shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def image(name, c=3, h=8, w_=8, n=1):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, c, h, w_])


def cnn_gap(rng):
    """x[1,3,8,8] -> Conv 3x3 -> Relu -> GlobalAveragePool -> Flatten -> Gemm(5) -> Softmax."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], name="softmax", axis=1),
    ]
    inits = {"conv.w": w(rng, 4, 3, 3, 3), "conv.b": w(rng, 4), "fc.w": w(rng, 5, 4), "fc.b": w(rng, 5)}
    return model(nodes, "cnn_gap", [image("x")], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
                 inits, meta=RGB_META)


def cnn_flat(rng):
    """x[1,3,8,8] -> Conv -> Relu -> Flatten -> Gemm over 2*8*8 features: only takes 8x8."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["y"], name="classifier", transB=1),
    ]
    inits = {"conv.w": w(rng, 2, 3, 3, 3), "fc.w": w(rng, 5, 128, scale=0.1), "fc.b": w(rng, 5)}
    return model(nodes, "cnn_flat", [image("x")], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)


def cnn_chain(rng, dims, name):
    """Conv -> Reshape to [N, C, H*W] computed by a Shape chain -> ReduceMean -> Gemm(3).

    With fixed input dims nn folds the chain into the constant [1,4,64] at
    load; a new input size must recompute it."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["s"], name="shape"),
    ]
    for i, d in enumerate("nchw"):
        nodes.append(helper.make_node("Gather", ["s", "i%d" % i], [d], name="gather_" + d, axis=0))
    nodes += [
        helper.make_node("Mul", ["h", "w"], ["hw"], name="hw"),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="un_n"),
        helper.make_node("Unsqueeze", ["c_", "ax0"], ["c1"], name="un_c"),
        helper.make_node("Unsqueeze", ["hw", "ax0"], ["hw1"], name="un_hw"),
        helper.make_node("Concat", ["n1", "c1", "hw1"], ["shp"], name="concat", axis=0),
        helper.make_node("Reshape", ["c", "shp"], ["flat"], name="reshape"),
        helper.make_node("ReduceMean", ["flat"], ["m"], name="mean", axes=[2], keepdims=0),
        helper.make_node("Gemm", ["m", "fc.w", "fc.b"], ["y"], name="fc", transB=1),
    ]
    nodes[3].output[0] = "c_"  # the channel gather (c is the conv output)
    inits = {"conv.w": w(rng, 4, 3, 3, 3), "conv.b": w(rng, 4), "fc.w": w(rng, 3, 4), "fc.b": w(rng, 3),
             "ax0": np.array([0], np.int64)}
    for i in range(4):
        inits["i%d" % i] = np.array(i, np.int64)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [dims[0], 3])
    return model(nodes, name, [x], [y], inits)


def squeeze_head(rng):
    """SqueezeNet/DarkNet style: a 1x1 Conv classifier, pooled, then Reshape to the literal [1,5]."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Conv", ["r", "cls.w", "cls.b"], ["k"], name="classifier", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["k"], ["kr"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["kr"], ["p"], name="pool"),
        helper.make_node("Reshape", ["p", "shape"], ["y"], name="reshape"),
    ]
    inits = {"conv.w": w(rng, 4, 3, 3, 3), "conv.b": w(rng, 4), "cls.w": w(rng, 5, 4, 1, 1), "cls.b": w(rng, 5),
             "shape": np.array([1, 5], np.int64)}
    return model(nodes, "squeeze_head", [image("x")], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
                 inits, opset=11)


def gray(rng):
    """A one-channel model: x[1,1,8,8] -> Conv -> GlobalAveragePool -> Flatten -> Gemm(4)."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["y"], name="fc", transB=1),
    ]
    inits = {"conv.w": w(rng, 4, 1, 3, 3), "conv.b": w(rng, 4), "fc.w": w(rng, 4, 4), "fc.b": w(rng, 4)}
    meta = {"nn.input.color": "GRAY", "nn.input.mean": "0.5", "nn.input.std": "0.25"}
    return model(nodes, "gray", [image("x", c=1)], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                 inits, meta=meta)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "test/data/models/edit"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(4)
    models = {
        "cnn_gap": cnn_gap(rng),
        "cnn_flat": cnn_flat(rng),
        "cnn_chain": cnn_chain(rng, [1, 3, 8, 8], "cnn_chain"),
        "cnn_chain_dyn": None,
        "squeeze_head": squeeze_head(rng),
        "gray": gray(rng),
    }
    # the symbolic twin shares the fixed model's weights
    dyn = onnx.ModelProto()
    dyn.CopyFrom(models["cnn_chain"])
    dyn.graph.name = "cnn_chain_dyn"
    for i, d in enumerate(["N", 3, "H", "W"]):
        dim = dyn.graph.input[0].type.tensor_type.shape.dim[i]
        if isinstance(d, str):
            dim.dim_param = d
    dyn.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.checker.check_model(dyn, full_check=True)
    models["cnn_chain_dyn"] = dyn
    for name, m in models.items():
        onnx.save(m, os.path.join(out, name + ".onnx"))


if __name__ == "__main__":
    main()
