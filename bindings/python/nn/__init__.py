"""nn — Python bindings (ctypes) for libnn.so.1, the embeddable C library
that loads pretrained ONNX networks and runs them on the CPU.

    import numpy as np, nn
    m = nn.load("model.onnx")
    y, = m.run(np.zeros((1, 3, 224, 224), np.float32))

One module per concept: model (Model, load), session (Session), tensor
(Tensor), dtypes, and the errors (nn.Error and a subclass per nn_status).
The library is found as described in ``nn.load_library``.
"""
from ._errors import (Error, InvalidArgumentError, OutOfMemoryError, FileError, ParseError, InvalidModelError,
                      UnsupportedError, ShapeError, DTypeError, LimitError, NotFoundError, StateError,
                      InternalError, status_name)
from ._lib import load_library, lib as _lib_handle, text as _text
from . import dtypes
from .tensor import Tensor
from .session import Session
from .model import Model, IOInfo, Layer, load

__version__ = "1.0.0"  # the bindings' version; nn.version() is the library's

__all__ = [
    "load", "Model", "Session", "Tensor", "IOInfo", "Layer", "dtypes", "load_library", "version",
    "version_number", "library_path", "supported_ops", "status_string", "status_name",
    "Error", "InvalidArgumentError", "OutOfMemoryError", "FileError", "ParseError", "InvalidModelError",
    "UnsupportedError", "ShapeError", "DTypeError", "LimitError", "NotFoundError", "StateError", "InternalError",
]


def version():
    """The loaded library's version string, e.g. "1.0.0"."""
    return _lib_handle().version()


def version_number():
    """The loaded library's NN_VERSION_NUMBER (MAJOR*10000 + MINOR*100 + PATCH)."""
    return _lib_handle().nn_version_number()


def library_path():
    """The path (or name) libnn was loaded from."""
    return _lib_handle().path


def supported_ops():
    """The ONNX operators the loaded library implements, sorted."""
    L = _lib_handle()
    return [_text(L.nn_supported_op_name(i)) for i in range(L.nn_supported_op_count())]


def status_string(status):
    """nn's English description of a status code."""
    return _text(_lib_handle().nn_status_string(status))
