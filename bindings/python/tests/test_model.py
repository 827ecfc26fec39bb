"""nn.Model: loading, introspection and load-time failures."""
import numpy as np
import pytest

import nn
from conftest import model_path, require_ops


def test_load_and_introspect_identity():
    m = nn.load(model_path("identity.onnx"))
    assert isinstance(m, nn.Model)
    (i,), (o,) = m.inputs, m.outputs
    assert i == nn.IOInfo("x", np.dtype(np.float32), ("batch", 3), 1)
    assert o.name == "y" and o.dtype == np.float32 and o.shape == ("batch", 3)
    assert m.layers == [nn.Layer("id", "Identity")]
    assert m.param_count == 0 and m.macs == 0
    assert m.metadata("author") == "nn tests"
    assert m.metadata("missing") is None and m.metadata("missing", "dflt") == "dflt"
    assert "identity.onnx" in repr(m)


def test_model_load_classmethod_and_pathlike(tmp_path):
    import pathlib
    m = nn.Model.load(pathlib.Path(model_path("multi_io.onnx")))
    assert [i.name for i in m.inputs] == ["a", "b"]
    assert [i.dtype for i in m.inputs] == [np.float32, np.int64]
    assert [i.shape for i in m.inputs] == [(2, 3), ("n",)]
    assert [o.name for o in m.outputs] == ["b_copy", "a_copy", "const"]
    assert m.outputs[2].dtype == np.int32 and m.outputs[2].shape == (3,)
    assert m.metadata("description") == "multi-input test model"


def test_mlp_introspection():
    require_ops("MatMul", "Add", "Relu", "Softmax")
    m = nn.load(model_path("mlp.onnx"))
    assert m.inputs[0].shape == ("N", 4)
    assert [l.op_type for l in m.layers] == ["MatMul", "Add", "Relu", "Softmax"]
    assert m.param_count == 4 * 3 + 3
    assert m.macs == 1 * 4 * 3  # symbolic N counted as 1
    assert m.metadata("nn.labels") == "a\nb\nc"


def test_convnet_introspection():
    require_ops("Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm")
    m = nn.load(model_path("convnet.onnx"))
    assert m.inputs[0].shape == ("N", 1, 5, 5)
    assert [l.op_type for l in m.layers] == ["Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm"]
    assert m.param_count == 18 + 2 + 6 + 3
    # conv 2x(1x3x3) per pixel of 5x5, gemm 2x3; whether the bias adds
    # count (2x25 for Conv, 3 for Gemm) is an operator's choice
    assert 2 * 9 * 25 + 2 * 3 <= m.macs <= 2 * 9 * 25 + 2 * 3 + 2 * 25 + 3


def test_from_bytes():
    data = open(model_path("identity.onnx"), "rb").read()
    m = nn.Model.from_bytes(bytearray(data))
    assert m.inputs[0].name == "x"
    x = np.ones((1, 3), np.float32)
    assert np.array_equal(m.run(x)[0], x)


@pytest.mark.parametrize("name,cls,words", [
    ("unsupported_op.onnx", nn.UnsupportedError, "FancyNewOp"),
    ("cycle.onnx", nn.InvalidModelError, ""),
    ("dangling.onnx", nn.InvalidModelError, "nowhere"),
    ("huge_dims.onnx", nn.Error, ""),
    ("short_raw_data.onnx", nn.Error, ""),
    ("external_escape.onnx", nn.Error, ""),
    ("future_opset.onnx", nn.UnsupportedError, ""),
])
def test_load_failures(name, cls, words):
    with pytest.raises(cls) as ei:
        nn.load(model_path(name))
    assert ei.value.status < 0 and ei.value.message
    assert words in ei.value.message


def test_parse_error_and_io_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x0a\xff\xff\xff\xff\xff garbage")
    with pytest.raises(nn.ParseError):
        nn.load(bad)
    with pytest.raises(nn.FileError):
        nn.load(tmp_path / "missing.onnx")


def test_limits():
    with pytest.raises(nn.LimitError):
        nn.load(model_path("multi_io.onnx"), max_model_bytes=10)
    with pytest.raises(nn.LimitError):
        nn.load(model_path("multi_io.onnx"), max_nodes=2)
    nn.load(model_path("multi_io.onnx"), max_nodes=3).close()
    with pytest.raises(nn.InvalidArgumentError):
        nn.load(model_path("multi_io.onnx"), format="tflite")


def test_external_data_and_weights_path():
    m = nn.load(model_path("external_data.onnx"))
    assert m.inputs == []
    assert np.array_equal(m.run({})[0], np.arange(6, dtype=np.float32).reshape(2, 3))
