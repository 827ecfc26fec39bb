"""nn.Session: an execution context for one model (activations, scratch, threads).

Outputs are returned as **copies** by default: nn hands out views of the
session's activation memory that the next run overwrites, and a result kept
across runs (``results.append(s.run(x)[0])``) would silently change. The copy
is one memcpy of the outputs, small next to running the network. Pass
``copy=False`` for read-only zero-copy views when outputs are large and each
is consumed before the next run (or the session is closed): using such a view
afterwards reads overwritten or freed memory.
"""
import ctypes
import threading

import numpy as np

from ._errors import InvalidArgumentError, StateError, NN_E_INVALID_ARG, NN_E_STATE
from ._lib import SessionOptions, SESSION_OPTIONS_VERSION, check, lib
from .tensor import Tensor, as_input_array


class Session:
    """``Session(model, num_threads=0)``: 0 = all cores, 1 = the calling thread.

    A session is used by one thread at a time (calls from several threads are
    serialised by a lock); use one session per thread, or ``Model.run`` which
    keeps one per thread. ``close()`` (or ``with``) frees it now.
    """

    def __init__(self, model, num_threads=0):
        self._ptr = None
        self._free_fn = None
        self._ref = None
        self._lock = threading.Lock()
        if num_threads is None:
            num_threads = 0
        if int(num_threads) < 0:
            raise InvalidArgumentError(NN_E_INVALID_ARG, "num_threads must be >= 0, got %d" % num_threads)
        L = lib()
        opts = SessionOptions()
        check(L.nn_session_options_init(ctypes.byref(opts), SESSION_OPTIONS_VERSION))
        opts.num_threads = int(num_threads)
        ref = model._ref
        mptr = ref.acquire()  # the C model outlives this session (freed after it)
        out = ctypes.c_void_p()
        try:
            check(L.nn_session_create(mptr, ctypes.byref(opts), ctypes.byref(out)))
        except BaseException:
            ref.release_session()
            raise
        self._ptr = out.value
        self._free_fn = L.nn_session_free
        self._ref = ref
        self.model = model
        self.num_threads = int(num_threads)
        model._sessions.add(self)

    @property
    def closed(self):
        return self._ptr is None

    def _handle(self):
        if self._ptr is None:
            raise StateError(NN_E_STATE, "Session is closed")
        return self._ptr

    def close(self):
        """Free the session now (idempotent); its zero-copy outputs become invalid."""
        with self._lock:
            ptr, self._ptr = self._ptr, None
            fn, self._free_fn = self._free_fn, None
            ref, self._ref = self._ref, None
            if ptr is not None and fn is not None:
                fn(ptr)
            if ref is not None:
                ref.release_session()

    def __enter__(self):
        self._handle()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ---- running -----------------------------------------------------------

    def _bind(self, inputs):
        """-> (names or None, [Tensor]) for nn_session_run."""
        specs = self.model.inputs
        if inputs is None or (isinstance(inputs, (list, tuple)) and not inputs):
            return None, []
        by_name = {s.name: s for s in specs}
        if isinstance(inputs, dict):
            names, values = [], []
            for k, v in inputs.items():
                spec = by_name.get(k)
                names.append(k)
                values.append(self._tensor(v, spec.dtype if spec else None))
            return names, values
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(v, (np.ndarray, Tensor)) for v in inputs):
            if len(inputs) > len(specs):
                raise InvalidArgumentError(NN_E_INVALID_ARG, "%d inputs given, the model has %d"
                                           % (len(inputs), len(specs)))
            return None, [self._tensor(v, specs[i].dtype) for i, v in enumerate(inputs)]
        return None, [self._tensor(inputs, specs[0].dtype if specs else None)]

    @staticmethod
    def _tensor(value, dtype):
        if isinstance(value, Tensor):
            return value
        t = Tensor(as_input_array(value, dtype))
        t._nn_temporary = True
        return t

    def _run(self, names, tensors, copy):
        L = lib()
        n = len(tensors)
        c_inputs = (ctypes.c_void_p * max(n, 1))(*[t._handle() for t in tensors])
        c_names = None
        if names is not None:
            c_names = (ctypes.c_char_p * max(n, 1))(*[k.encode() for k in names])
        with self._lock:
            h = self._handle()
            check(L.nn_session_run(h, n, c_names, c_inputs))
            outs = []
            for i in range(L.nn_session_output_count(h)):
                ptr = L.nn_session_output(h, i)
                outs.append(Tensor._borrow(ptr, self).numpy(copy=copy) if ptr else None)
            return outs

    def run(self, inputs=None, copy=True, as_dict=False):
        """Run the model.

        ``inputs``: one array (for the first input), a list/tuple of arrays in
        input order, or a dict name -> array (None for a model without inputs). Arrays that are C-contiguous,
        aligned and of the input's dtype are read in place; others are
        converted first (lists/scalars and same-kind casts such as float64 ->
        float32). nn.Tensor values are passed as they are.
        Returns the outputs in graph output order as numpy arrays (a dict
        name -> array with ``as_dict=True``); see the module notes on ``copy``.
        """
        names, tensors = self._bind(inputs)
        try:
            outs = self._run(names, tensors, copy)
        finally:
            for t in tensors:  # free the wrappers made here now (the arrays stay the caller's)
                if getattr(t, "_nn_temporary", False):
                    t.close()
        if as_dict:
            return {o.name: a for o, a in zip(self.model.outputs, outs)}
        return outs

    def __repr__(self):
        return "<nn.Session %s threads=%d%s>" % (self.model.name if self.model else "?", self.num_threads,
                                                 " closed" if self.closed else "")
