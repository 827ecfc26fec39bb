"""Running models: input forms, output order and copies, numbers against numpy."""
import threading

import numpy as np
import pytest

import nn
from conftest import model_path, require_ops


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_identity_forms():
    m = nn.load(model_path("identity.onnx"))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for inputs in (x, {"x": x}, [x], (x,), nn.Tensor(x)):
        (y,) = m.run(inputs)
        assert y.dtype == np.float32 and np.array_equal(y, x)
    assert np.array_equal(m(x)[0], x)
    assert list(m.run(x, as_dict=True)) == ["y"]
    # nested lists and float64 are converted to the declared float32
    (y,) = m.run([[1, 2, 3]])
    assert y.dtype == np.float32 and y.tolist() == [[1, 2, 3]]
    (y,) = m.run(np.ones((4, 3)))
    assert y.dtype == np.float32 and y.shape == (4, 3)


def test_symbolic_batch_changes_shape():
    m = nn.load(model_path("identity.onnx"))
    for n in (1, 5, 2, 7):
        x = np.random.default_rng(n).standard_normal((n, 3)).astype(np.float32)
        assert np.array_equal(m.run(x)[0], x)


def test_multi_io_output_order():
    m = nn.load(model_path("multi_io.onnx"))
    a = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5
    b = np.array([5, -6, 1 << 40, 9], np.int64)
    for outs in (m.run([a, b]), m.run({"b": b, "a": a})):
        b_copy, a_copy, const = outs
        assert b_copy.dtype == np.int64 and np.array_equal(b_copy, b)
        assert a_copy.dtype == np.float32 and np.array_equal(a_copy, a)
        assert const.dtype == np.int32 and const.tolist() == [7, -1, 3]
    d = m.run({"a": a, "b": b}, as_dict=True)
    assert list(d) == ["b_copy", "a_copy", "const"]


def test_run_errors():
    m = nn.load(model_path("multi_io.onnx"))
    a = np.zeros((2, 3), np.float32)
    b = np.zeros(4, np.int64)
    with pytest.raises(nn.NotFoundError) as ei:
        m.run({"a": a, "c": b})
    assert "'c'" in ei.value.message
    with pytest.raises(nn.InvalidArgumentError) as ei:
        m.run({"a": a})
    assert "'b'" in ei.value.message
    with pytest.raises(nn.ShapeError):
        m.run([np.zeros((3, 2), np.float32), b])
    with pytest.raises(nn.DTypeError):
        m.run([a, np.zeros(4, np.float32)])  # float -> int64 is not a same-kind cast: nn refuses it
    with pytest.raises(nn.InvalidArgumentError):
        m.run([a, b, b])
    # the session still works after failures
    assert len(m.run([a, b])) == 3


def test_outputs_are_copies_by_default():
    m = nn.load(model_path("identity.onnx"))
    s = m.session()
    y1 = s.run(np.full((2, 3), 1, np.float32))[0]
    y2 = s.run(np.full((2, 3), 2, np.float32))[0]
    assert np.all(y1 == 1) and np.all(y2 == 2)
    assert y1.flags.writeable and y1.flags.owndata


def test_zero_copy_outputs_are_views_until_the_next_run():
    m = nn.load(model_path("identity.onnx"))
    s = m.session()
    v1 = s.run(np.full((2, 3), 1, np.float32), copy=False)[0]
    assert not v1.flags.writeable and not v1.flags.owndata
    assert np.all(v1 == 1)
    with pytest.raises(ValueError):
        v1[0, 0] = 5  # nn's memory is read-only to the caller
    v2 = s.run(np.full((2, 3), 2, np.float32), copy=False)[0]
    assert np.all(v2 == 2)
    # documented hazard: the earlier view shows the session's memory, now
    # overwritten (same shape, same arena slot)
    assert np.all(v1 == 2)


def test_mlp_against_numpy():
    require_ops("MatMul", "Add", "Relu", "Softmax")
    w = np.load(model_path("mlp.npz"))
    m = nn.load(model_path("mlp.onnx"))
    for n in (1, 2, 17):
        x = np.random.default_rng(n).standard_normal((n, 4)).astype(np.float32)
        want = softmax(np.maximum(x @ w["w"] + w["b"], 0))
        (y,) = m.run(x)
        assert y.shape == (n, 3)
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_mlp_case_pb_files():
    require_ops("MatMul", "Add", "Relu", "Softmax")
    case = model_path("mlp_case")
    m = nn.load(case + "/model.onnx")
    x = nn.Tensor.read(case + "/test_data_set_0/input_0.pb")
    want = nn.Tensor.read(case + "/test_data_set_0/output_0.pb").numpy()
    (y,) = m.run(x)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def conv_ref(x, w, b):
    n, c, h, wd = x.shape
    k = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, k, h, wd), np.float64)
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,kc->nkhw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return out + b[None, :, None, None]


def test_convnet_against_numpy():
    require_ops("Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm")
    p = np.load(model_path("convnet.npz"))
    m = nn.load(model_path("convnet.onnx"))
    x = np.random.default_rng(3).standard_normal((4, 1, 5, 5)).astype(np.float32)
    feat = np.maximum(conv_ref(x, p["wc"], p["bc"]), 0).mean(axis=(2, 3))
    want = feat @ p["wg"].T + p["bg"]
    (y,) = m.run(x)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)


def test_threads_each_get_a_session():
    m = nn.load(model_path("identity.onnx"), num_threads=1)
    errors, sessions = [], []

    def work(k):
        try:
            for r in range(50):
                x = np.full((k + 1, 3), k * 100 + r, np.float32)
                (y,) = m.run(x)
                assert np.array_equal(y, x)
            sessions.append(m._local.session)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(set(map(id, sessions))) == 4  # (all still alive here)


def test_explicit_sessions_and_threads_option():
    m = nn.load(model_path("identity.onnx"))
    x = np.ones((1, 3), np.float32)
    with m.session(num_threads=2) as s:
        assert s.num_threads == 2 and s.model is m
        assert np.array_equal(s.run(x)[0], x)
    with pytest.raises(nn.InvalidArgumentError):
        m.session(num_threads=-1)
