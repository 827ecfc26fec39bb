#!/usr/bin/python3
"""Write the small ONNX models the Check suites load (test/data/models/).

Each model is built with onnx.helper so the files are exactly what other
exporters write; the expected outputs are computed here with numpy and stored
next to them as backend-test folders where a test compares numbers.
Run: /usr/bin/python3 tools/testdata/make_models.py test/data/models
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model, path):
    onnx.save(model, path)


def model(graph, opset=13, meta=None):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="nn-testdata")
    m.ir_version = 8
    for k, v in (meta or {}).items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    return m


def mlp(out):
    """x[N,4] -> MatMul W[4,3] + b -> Relu -> Softmax: a symbolic batch dim."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
            helper.make_node("Add", ["h", "b"], ["hb"], name="bias"),
            helper.make_node("Relu", ["hb"], ["r"], name="relu"),
            helper.make_node("Softmax", ["r"], ["y"], name="softmax", axis=-1),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    save(model(g, meta={"nn.labels": "a\nb\nc"}), os.path.join(out, "mlp.onnx"))
    np.savez(os.path.join(out, "mlp.npz"), w=w, b=b)
    # expected output for a fixed input
    x = np.arange(8, dtype=np.float32).reshape(2, 4) / 8 - 0.5
    h = np.maximum(x @ w + b, 0)
    e = np.exp(h - h.max(-1, keepdims=True))
    y = e / e.sum(-1, keepdims=True)
    case = os.path.join(out, "mlp_case")
    os.makedirs(os.path.join(case, "test_data_set_0"), exist_ok=True)
    save(model(g), os.path.join(case, "model.onnx"))
    with open(os.path.join(case, "test_data_set_0", "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    with open(os.path.join(case, "test_data_set_0", "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y.astype(np.float32), "y").SerializeToString())


def binding_models(out):
    """Models for the Python binding tests; weights also go to .npz files so
    the tests recompute the outputs with numpy."""
    # several inputs and outputs of different types, outputs not in input
    # order, and a constant output: only Identity and Constant
    g = helper.make_graph(
        [
            helper.make_node("Identity", ["b"], ["b_copy"], name="copy_b"),
            helper.make_node("Identity", ["a"], ["a_copy"], name="copy_a"),
            helper.make_node("Constant", [], ["const"], name="const",
                             value=numpy_helper.from_array(np.array([7, -1, 3], np.int32))),
        ],
        "multi_io",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("b", TensorProto.INT64, ["n"])],
        [helper.make_tensor_value_info("b_copy", TensorProto.INT64, ["n"]),
         helper.make_tensor_value_info("a_copy", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("const", TensorProto.INT32, [3])],
    )
    save(model(g, meta={"author": "nn tests", "description": "multi-input test model"}),
         os.path.join(out, "multi_io.onnx"))
    # a small CNN: Conv(pads 1, bias) -> Relu -> GlobalAveragePool -> Flatten -> Gemm(transB)
    rng = np.random.default_rng(7)
    wc = rng.standard_normal((2, 1, 3, 3)).astype(np.float32)
    bc = rng.standard_normal(2).astype(np.float32)
    wg = rng.standard_normal((3, 2)).astype(np.float32)
    bg = rng.standard_normal(3).astype(np.float32)
    g = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "wc", "bc"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"], name="relu"),
            helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
            helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
            helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], name="fc", transB=1),
        ],
        "convnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(a, n) for a, n in ((wc, "wc"), (bc, "bc"), (wg, "wg"), (bg, "bg"))],
    )
    save(model(g), os.path.join(out, "convnet.onnx"))
    np.savez(os.path.join(out, "convnet.npz"), wc=wc, bc=bc, wg=wg, bg=bg)


def identity_models(out):
    """Identity-only models exercising initializer encodings and graph checks."""
    vi = lambda n, shape=(2, 3): helper.make_tensor_value_info(n, TensorProto.FLOAT, list(shape))  # noqa: E731
    c = np.arange(6, dtype=np.float32).reshape(2, 3)
    # typed float_data instead of raw_data
    t = helper.make_tensor("c", TensorProto.FLOAT, [2, 3], c.flatten().tolist(), raw=False)
    g = helper.make_graph([helper.make_node("Identity", ["c"], ["y"])], "typed", [], [vi("y")], [t])
    save(model(g), os.path.join(out, "typed_initializer.onnx"))
    # external data beside the model
    t = numpy_helper.from_array(c, "c")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", str(c.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    with open(os.path.join(out, "weights.bin"), "wb") as f:
        f.write(c.tobytes())
    g = helper.make_graph([helper.make_node("Identity", ["c"], ["y"])], "ext", [], [vi("y")], [t])
    save(model(g), os.path.join(out, "external_data.onnx"))
    # external data escaping the folder
    t2 = onnx.TensorProto()
    t2.CopyFrom(t)
    t2.external_data[0].value = "../models/weights.bin"
    g = helper.make_graph([helper.make_node("Identity", ["c"], ["y"])], "escape", [], [vi("y")], [t2])
    save(model(g), os.path.join(out, "external_escape.onnx"))
    # unsupported op
    g = helper.make_graph([helper.make_node("FancyNewOp", ["x"], ["y"], name="fancy")], "unsup", [vi("x")], [vi("y")])
    save(model(g), os.path.join(out, "unsupported_op.onnx"))
    # a cycle: a -> b -> a
    g = helper.make_graph(
        [helper.make_node("Identity", ["b"], ["a"], name="n1"), helper.make_node("Identity", ["a"], ["b"], name="n2")],
        "cycle", [vi("x")], [vi("a")])
    save(model(g), os.path.join(out, "cycle.onnx"))
    # a dangling reference
    g = helper.make_graph([helper.make_node("Identity", ["nowhere"], ["y"], name="lost")], "dangling", [vi("x")], [vi("y")])
    save(model(g), os.path.join(out, "dangling.onnx"))
    # raw_data of the wrong size for its shape
    t3 = numpy_helper.from_array(c, "c")
    t3.raw_data = t3.raw_data[:10]
    g = helper.make_graph([helper.make_node("Identity", ["c"], ["y"])], "short", [], [vi("y")], [t3])
    save(model(g), os.path.join(out, "short_raw_data.onnx"))
    # hostile dimensions: 2^40 x 2^40 declared, tiny data
    t4 = onnx.TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[1 << 40, 1 << 40], raw_data=b"\0" * 16)
    g = helper.make_graph([helper.make_node("Identity", ["c"], ["y"])], "huge", [], [vi("y")], [t4])
    save(model(g), os.path.join(out, "huge_dims.onnx"))
    # an opset from the future
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "future", [vi("x")], [vi("y")])
    save(model(g, opset=99), os.path.join(out, "future_opset.onnx"))
    # identity with a symbolic input, for session tests
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"], name="id")], "id",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])])
    save(model(g, meta={"author": "nn tests"}), os.path.join(out, "identity.onnx"))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "test/data/models"
    os.makedirs(out, exist_ok=True)
    mlp(out)
    identity_models(out)
    binding_models(out)


if __name__ == "__main__":
    main()
