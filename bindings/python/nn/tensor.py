"""nn.Tensor: an nn_tensor handle, owning its memory or wrapping a numpy array."""
import ctypes
import os

import numpy as np

from . import dtypes
from ._errors import InvalidArgumentError, StateError, NN_E_INVALID_ARG, NN_E_STATE
from ._handle import Handle
from ._lib import check, lib, text


def _dims(shape):
    shape = tuple(int(d) for d in shape)
    if len(shape) > 8:
        raise InvalidArgumentError(NN_E_INVALID_ARG, "rank %d exceeds NN_MAX_RANK (8)" % len(shape))
    return len(shape), (ctypes.c_int64 * max(len(shape), 1))(*shape)


def as_input_array(value, dtype=None):
    """A C-contiguous, aligned, native-order numpy array for ``value``, with
    no copy when ``value`` already is one. ``dtype`` (a model's declared input
    type) converts lists and scalars, and arrays when the cast stays within
    the same kind (float64 -> float32); otherwise nn reports the mismatch."""
    arr = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=dtype)
    if dtype is not None and arr.dtype != dtype and np.can_cast(arr.dtype, dtype, casting="same_kind"):
        arr = arr.astype(dtype)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if not (arr.flags.c_contiguous and arr.flags.aligned):
        arr = np.ascontiguousarray(arr)
        if not arr.flags.aligned:  # ascontiguousarray keeps a misaligned base's copy aligned, but be sure
            arr = arr.copy()
    return arr


class Tensor(Handle):
    """A dense row-major tensor.

    ``Tensor(array)`` wraps a numpy array without copying (the Tensor keeps a
    reference to it; nn reads it, never frees it) — if the array is not
    C-contiguous, aligned and native-endian, a contiguous copy is wrapped.
    ``Tensor.zeros(shape, dtype)``, ``Tensor.read(path)`` and
    ``Tensor.from_bytes(data)`` make tensors that own their memory.
    ``numpy()`` returns the data as an array (a copy by default; ``copy=False``
    gives a view that keeps this Tensor alive but must not be used after
    ``close()``).
    """

    _free_name = "nn_tensor_free"

    def __init__(self, array=None, *, name=None):
        Handle.__init__(self)
        self._array = None
        self._borrowed_from = None
        if array is None:
            return  # filled by a factory
        arr = as_input_array(array)
        code = dtypes.from_numpy(arr.dtype)
        rank, dims = _dims(arr.shape)
        out = ctypes.c_void_p()
        data = arr.ctypes.data if arr.nbytes else None
        check(lib().nn_tensor_wrap(code, rank, dims, data, ctypes.byref(out)))
        self._array = arr  # keeps the wrapped memory alive while the handle exists
        self._set(out)
        if name is not None:
            self.name = name

    # ---- factories -------------------------------------------------------

    @classmethod
    def _adopt(cls, ptr):
        t = cls()
        t._set(ptr)
        return t

    @classmethod
    def _borrow(cls, ptr, owner):
        """A Tensor for a handle nn owns (a session output): never freed here."""
        t = cls()
        t._ptr = ptr
        t._free_name = None
        t._borrowed_from = owner
        return t

    @classmethod
    def zeros(cls, shape, dtype=np.float32):
        """A zero-filled tensor owning its memory."""
        rank, dims = _dims(shape)
        out = ctypes.c_void_p()
        check(lib().nn_tensor_create(dtypes.from_numpy(dtype), rank, dims, ctypes.byref(out)))
        return cls._adopt(out)

    @classmethod
    def read(cls, path):
        """Read an ONNX TensorProto file (the backend-test .pb format)."""
        out = ctypes.c_void_p()
        check(lib().nn_tensor_read_file(os.fsencode(path), ctypes.byref(out)))
        return cls._adopt(out)

    @classmethod
    def from_bytes(cls, data):
        """Parse a serialized ONNX TensorProto (bytes-like; copied)."""
        buf = bytes(data)
        out = ctypes.c_void_p()
        check(lib().nn_tensor_read_memory(buf, len(buf), ctypes.byref(out)))
        return cls._adopt(out)

    # ---- properties ------------------------------------------------------

    @property
    def dtype(self):
        """numpy dtype of the elements (None for types numpy lacks)."""
        return dtypes.to_numpy(lib().nn_tensor_dtype(self._handle()))

    @property
    def nn_dtype(self):
        """The nn_dtype code (int)."""
        return lib().nn_tensor_dtype(self._handle())

    @property
    def shape(self):
        h = self._handle()
        L = lib()
        return tuple(L.nn_tensor_dim(h, i) for i in range(L.nn_tensor_rank(h)))

    @property
    def ndim(self):
        return lib().nn_tensor_rank(self._handle())

    @property
    def size(self):
        return lib().nn_tensor_count(self._handle())

    @property
    def nbytes(self):
        return lib().nn_tensor_nbytes(self._handle())

    @property
    def name(self):
        return text(lib().nn_tensor_name(self._handle()))

    @name.setter
    def name(self, value):
        check(lib().nn_tensor_set_name(self._handle(), value.encode()))

    def write(self, path):
        """Write as an ONNX TensorProto file."""
        check(lib().nn_tensor_write_file(self._handle(), os.fsencode(path)))

    def numpy(self, copy=True):
        """The data as a numpy array of ``shape``: a copy, or with
        ``copy=False`` a view of nn's memory (valid while this tensor — for
        session outputs, until the session's next run — lives)."""
        h = self._handle()
        dt = self.dtype
        if dt is None:
            raise StateError(NN_E_STATE, "tensor of type %s has no numpy equivalent"
                             % text(lib().nn_dtype_name(self.nn_dtype)))
        shape = self.shape
        nbytes = lib().nn_tensor_nbytes(h)
        ptr = lib().nn_tensor_data_const(h)
        if not nbytes or not ptr:
            return np.zeros(shape, dt)
        buf = (ctypes.c_uint8 * nbytes).from_address(ptr)
        buf._nn_owner = self  # the view keeps the handle (and what it borrows from) alive
        view = np.frombuffer(buf, dtype=dt).reshape(shape)
        if self._array is not None and not copy:
            return self._array  # a wrapped array is its own view
        if copy:
            return view.copy()
        if self._borrowed_from is not None:
            view.flags.writeable = False  # nn's output memory: read-only for the caller
        return view

    def __array__(self, dtype=None):
        arr = self.numpy(copy=True)
        return arr if dtype is None else arr.astype(dtype)

    def __repr__(self):
        if self._ptr is None:
            return "<nn.Tensor closed>"
        return "<nn.Tensor %s %s%s>" % (self.dtype, self.shape, (" '%s'" % self.name) if self.name else "")

    def _release_extra(self):
        self._array = None
        self._borrowed_from = None
