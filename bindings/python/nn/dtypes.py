"""Element types: nn_dtype codes (ONNX TensorProto numbers) <-> numpy dtypes."""
import numpy as np

from ._errors import DTypeError, NN_E_TYPE

UNDEFINED = 0
FLOAT32 = 1
UINT8 = 2
INT8 = 3
UINT16 = 4
INT16 = 5
INT32 = 6
INT64 = 7
STRING = 8
BOOL = 9
FLOAT16 = 10
FLOAT64 = 11
UINT32 = 12
UINT64 = 13

_TO_NUMPY = {
    FLOAT32: np.dtype(np.float32), UINT8: np.dtype(np.uint8), INT8: np.dtype(np.int8),
    UINT16: np.dtype(np.uint16), INT16: np.dtype(np.int16), INT32: np.dtype(np.int32),
    INT64: np.dtype(np.int64), BOOL: np.dtype(np.bool_), FLOAT16: np.dtype(np.float16),
    FLOAT64: np.dtype(np.float64), UINT32: np.dtype(np.uint32), UINT64: np.dtype(np.uint64),
}
_FROM_NUMPY = {v: k for k, v in _TO_NUMPY.items()}


def to_numpy(code):
    """The numpy dtype of an nn_dtype code, or None if numpy has none (string)."""
    return _TO_NUMPY.get(int(code))


def from_numpy(dtype):
    """The nn_dtype code of a numpy dtype (native byte order); raises nn.DTypeError."""
    dt = np.dtype(dtype)
    code = _FROM_NUMPY.get(dt.newbyteorder("=") if dt.byteorder not in ("=", "|") else dt)
    if code is None:
        raise DTypeError(NN_E_TYPE, "numpy dtype %s has no nn element type" % dt)
    return code
