"""Handle: the lifecycle shared by every wrapper of an nn handle.

A handle is freed exactly once: by ``close()`` (or leaving a ``with`` block),
or by the garbage collector through ``__del__``. The free function is looked
up when the handle is set and kept on the instance, so ``__del__`` needs no
module globals (which may already be torn down at interpreter shutdown).
"""
import ctypes

from ._errors import StateError, NN_E_STATE
from ._lib import lib


class Handle:
    _free_name = None  # e.g. "nn_tensor_free"; None for borrowed handles

    def __init__(self):
        self._ptr = None
        self._free_fn = None

    def _set(self, ptr):
        self._ptr = ptr.value if isinstance(ptr, ctypes.c_void_p) else ptr
        if self._free_name:
            self._free_fn = getattr(lib(), self._free_name)

    def _handle(self):
        ptr = self._ptr
        if ptr is None:
            raise StateError(NN_E_STATE, "%s is closed" % type(self).__name__)
        return ptr

    @property
    def closed(self):
        return self._ptr is None

    def _release_extra(self):
        """Drop Python references that belong to the handle (after it is freed)."""

    def close(self):
        """Free the handle now (idempotent). Later use raises nn.StateError."""
        ptr, self._ptr = self._ptr, None
        fn, self._free_fn = self._free_fn, None
        if ptr is not None and fn is not None:
            fn(ptr)
        self._release_extra()

    def __enter__(self):
        self._handle()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # never raise from a finalizer (e.g. at interpreter shutdown)
            pass
