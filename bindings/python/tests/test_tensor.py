"""nn.Tensor: wrapping numpy memory, owned tensors, .pb files, dtypes."""
import numpy as np
import pytest

import nn

ALL = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
       np.int64, np.uint64, np.bool_]


def test_wrap_is_zero_copy():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = nn.Tensor(a)
    assert t.shape == (3, 4) and t.dtype == np.float32 and t.size == 12 and t.nbytes == 48 and t.ndim == 2
    # the handle points at the array's own buffer
    assert nn._lib_handle().nn_tensor_data_const(t._handle()) == a.ctypes.data
    a[0, 0] = 42
    assert t.numpy()[0, 0] == 42
    assert t.numpy(copy=False) is a


def test_wrap_keeps_array_alive():
    t = nn.Tensor(np.full((1000,), 3.5, np.float64))  # no other reference to the array
    import gc
    gc.collect()
    assert np.all(t.numpy() == 3.5)


@pytest.mark.parametrize("dt", ALL)
def test_dtype_roundtrip(dt):
    a = (np.arange(6) % 2).astype(dt).reshape(2, 3)
    t = nn.Tensor(a)
    assert t.dtype == np.dtype(dt)
    assert nn.dtypes.to_numpy(t.nn_dtype) == np.dtype(dt)
    assert np.array_equal(t.numpy(), a)
    assert nn._text(nn._lib_handle().nn_dtype_name(t.nn_dtype)) in (np.dtype(dt).name, "bool")


def test_dtype_codes_are_onnx_numbers():
    assert nn.dtypes.from_numpy(np.float32) == 1 == nn.dtypes.FLOAT32
    assert nn.dtypes.from_numpy(np.int64) == 7
    assert nn.dtypes.from_numpy(">f4") == 1  # byte order does not change the type
    with pytest.raises(nn.DTypeError):
        nn.dtypes.from_numpy(np.complex64)
    with pytest.raises(nn.DTypeError):
        nn.Tensor(np.array(["a", "b"]))


def test_non_contiguous_and_big_endian_are_copied():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    t = nn.Tensor(a)
    assert np.array_equal(t.numpy(), a)
    b = np.arange(5, dtype=">i4")
    t2 = nn.Tensor(b)
    assert t2.dtype == np.int32 and np.array_equal(t2.numpy(), b)


def test_scalar_and_empty():
    t = nn.Tensor(np.float32(2.5))
    assert t.shape == () and t.size == 1 and t.numpy() == np.float32(2.5)
    e = nn.Tensor(np.zeros((0, 3), np.float32))
    assert e.shape == (0, 3) and e.size == 0 and e.numpy().shape == (0, 3)


def test_rank_limit():
    with pytest.raises(nn.InvalidArgumentError):
        nn.Tensor(np.zeros((1,) * 9, np.float32))


def test_zeros_owns_memory_and_view_keeps_it_alive():
    t = nn.Tensor.zeros((2, 5), np.int16)
    assert t.dtype == np.int16 and t.shape == (2, 5)
    v = t.numpy(copy=False)
    v[1, 2] = 7  # an owned tensor's view is writable
    assert t.numpy()[1, 2] == 7
    del t
    import gc
    gc.collect()
    assert v[1, 2] == 7 and v.sum() == 7  # the view holds the tensor


def test_write_read_pb_roundtrip(tmp_path):
    a = np.linspace(-1, 1, 24, dtype=np.float32).reshape(2, 3, 4)
    t = nn.Tensor(a, name="activations")
    assert t.name == "activations"
    p = tmp_path / "t.pb"
    t.write(p)
    r = nn.Tensor.read(p)
    assert r.name == "activations" and r.shape == (2, 3, 4) and np.array_equal(r.numpy(), a)
    r2 = nn.Tensor.from_bytes(p.read_bytes())
    assert np.array_equal(np.asarray(r2), a)


def test_read_errors(tmp_path):
    with pytest.raises(nn.FileError):
        nn.Tensor.read(tmp_path / "missing.pb")
    with pytest.raises(nn.ParseError):
        nn.Tensor.from_bytes(b"\xff\xff\xff\xff not a tensor")


def test_close_and_context_manager():
    with nn.Tensor.zeros((3,)) as t:
        assert not t.closed
    assert t.closed
    t.close()  # idempotent
    with pytest.raises(nn.StateError):
        t.shape
    assert "closed" in repr(t)
