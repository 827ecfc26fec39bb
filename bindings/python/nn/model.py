"""nn.Model: a loaded network (nn_model) with introspection and ``run``."""
import collections
import ctypes
import os
import threading
import weakref

from . import dtypes
from ._errors import InvalidArgumentError, StateError, NN_E_INVALID_ARG, NN_E_STATE
from ._lib import LoadOptions, LOAD_OPTIONS_VERSION, check, lib, text
from .session import Session

IOInfo = collections.namedtuple("IOInfo", "name dtype shape nn_dtype")
IOInfo.__doc__ = """A model input or output: ``name``; ``dtype`` a numpy dtype (None for
types numpy lacks); ``shape`` a tuple whose entries are ints for fixed
dimensions, the symbol (str, e.g. "batch") for named symbolic ones and None
for unknown ones (``shape`` itself is None when the rank is unknown);
``nn_dtype`` the nn_dtype code."""

Layer = collections.namedtuple("Layer", "name op_type")

_FORMATS = {"auto": 0, "onnx": 1}


class _ModelRef:
    """Owns the C model. It is freed once the Model is released *and* every
    session made from it is freed, whatever order close() calls or the
    garbage collector (cycles included) run in: nn requires sessions to go
    first."""

    def __init__(self, ptr):
        self.ptr = ptr
        self.free_fn = lib().nn_model_free
        self.lock = threading.Lock()
        self.sessions = 0
        self.released = False

    def acquire(self):
        with self.lock:
            if self.released or self.ptr is None:
                raise StateError(NN_E_STATE, "Model is closed")
            self.sessions += 1
            return self.ptr

    def release_session(self):
        with self.lock:
            self.sessions -= 1
            self._maybe_free()

    def release_model(self):
        with self.lock:
            self.released = True
            self._maybe_free()

    def _maybe_free(self):
        if self.released and self.sessions == 0 and self.ptr is not None:
            ptr, self.ptr = self.ptr, None
            self.free_fn(ptr)


def _load_options(format, max_model_bytes, max_tensor_bytes, max_nodes, weights_path):
    opts = LoadOptions()
    check(lib().nn_load_options_init(ctypes.byref(opts), LOAD_OPTIONS_VERSION))
    if format not in _FORMATS:
        raise InvalidArgumentError(NN_E_INVALID_ARG, "format must be one of %s, got %r" % (sorted(_FORMATS), format))
    opts.format = _FORMATS[format]
    opts.max_model_bytes = int(max_model_bytes or 0)
    opts.max_tensor_bytes = int(max_tensor_bytes or 0)
    opts.max_nodes = int(max_nodes or 0)
    opts.weights_path = os.fsencode(weights_path) if weights_path is not None else None
    return opts


class Model:
    """A loaded network. Make one with ``nn.load(path)`` / ``Model.load(path)``
    or ``Model.from_bytes(data)``.

    ``run(x)`` runs it through a session kept per calling thread (created on
    first use with ``num_threads``); for explicit control make sessions with
    ``session()``. A model is read-only while it runs and may be shared by
    threads. ``close()`` (or ``with``) frees it and all its sessions now.
    """

    def __init__(self, _ptr, name="", num_threads=0):
        if not isinstance(_ptr, int):
            raise TypeError("use nn.load(path) or nn.Model.load(path) to make a Model")
        self._ref = _ModelRef(_ptr)
        self._sessions = weakref.WeakSet()
        self._local = threading.local()
        self._cache = {}
        self.name = name
        self.num_threads = num_threads

    @classmethod
    def load(cls, path, *, format="auto", num_threads=0, max_model_bytes=0, max_tensor_bytes=0, max_nodes=0,
             weights_path=None):
        """Load a model file (ONNX). ``num_threads`` is used by the sessions
        ``run`` makes (0 = all cores). The limits (0 = nn's defaults) refuse
        bigger files, tensors or graphs with nn.LimitError."""
        opts = _load_options(format, max_model_bytes, max_tensor_bytes, max_nodes, weights_path)
        out = ctypes.c_void_p()
        check(lib().nn_model_load(os.fsencode(path), ctypes.byref(opts), ctypes.byref(out)))
        return cls(out.value, os.path.basename(os.fsdecode(path)), num_threads)

    @classmethod
    def from_bytes(cls, data, *, format="auto", num_threads=0, max_model_bytes=0, max_tensor_bytes=0, max_nodes=0):
        """Load a model from a bytes-like object (copied)."""
        buf = bytes(data)
        opts = _load_options(format, max_model_bytes, max_tensor_bytes, max_nodes, None)
        out = ctypes.c_void_p()
        check(lib().nn_model_load_memory(buf, len(buf), ctypes.byref(opts), ctypes.byref(out)))
        return cls(out.value, "<memory>", num_threads)

    # ---- lifecycle ---------------------------------------------------------

    def _handle(self):
        ref = self._ref
        if ref is None or ref.released:
            raise StateError(NN_E_STATE, "Model is closed")
        return ref.ptr

    @property
    def closed(self):
        return self._ref is None or self._ref.released

    def close(self):
        """Free the model and every session made from it (idempotent). Needs
        exclusive access: no other thread may be running it."""
        ref = getattr(self, "_ref", None)
        if ref is None or ref.released:
            return
        for s in list(self._sessions):
            s.close()
        self._local = threading.local()
        ref.release_model()

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

    def session(self, num_threads=None):
        """A new Session for this model (``num_threads`` defaults to the model's)."""
        return Session(self, self.num_threads if num_threads is None else num_threads)

    def _default_session(self):
        s = getattr(self._local, "session", None)
        if s is None or s.closed:
            s = self.session()
            self._local.session = s
        return s

    def run(self, inputs=None, copy=True, as_dict=False):
        """Run through this thread's default session; see Session.run."""
        self._handle()
        return self._default_session().run(inputs, copy=copy, as_dict=as_dict)

    __call__ = run

    # ---- introspection -----------------------------------------------------

    def _io(self, kind):
        h = self._handle()
        cached = self._cache.get(kind)
        if cached is not None:
            return cached
        L = lib()
        count = getattr(L, "nn_model_%s_count" % kind)(h)
        info = getattr(L, "nn_model_%s_info" % kind)
        dimf = getattr(L, "nn_model_%s_dim" % kind)
        out = []
        for i in range(count):
            name, code, rank = ctypes.c_char_p(), ctypes.c_int32(), ctypes.c_int32()
            check(info(h, i, ctypes.byref(name), ctypes.byref(code), ctypes.byref(rank)))
            shape = None
            if rank.value >= 0:
                dims = []
                for a in range(rank.value):
                    d, sym = ctypes.c_int64(), ctypes.c_char_p()
                    check(dimf(h, i, a, ctypes.byref(d), ctypes.byref(sym)))
                    dims.append(d.value if d.value >= 0 else (text(sym.value) or None))
                shape = tuple(dims)
            out.append(IOInfo(text(name.value), dtypes.to_numpy(code.value), shape, code.value))
        self._cache[kind] = out
        return out

    @property
    def inputs(self):
        """The inputs the caller feeds, in order (list of IOInfo)."""
        return list(self._io("input"))

    @property
    def outputs(self):
        """The outputs in order (list of IOInfo)."""
        return list(self._io("output"))

    @property
    def layers(self):
        """The graph's nodes after load-time folding (list of Layer(name, op_type))."""
        h = self._handle()
        L = lib()
        out = []
        for i in range(L.nn_model_layer_count(h)):
            name, op = ctypes.c_char_p(), ctypes.c_char_p()
            check(L.nn_model_layer_info(h, i, ctypes.byref(name), ctypes.byref(op)))
            out.append(Layer(text(name.value), text(op.value)))
        return out

    @property
    def param_count(self):
        """Number of trainable parameters (elements of float initializers)."""
        return lib().nn_model_param_count(self._handle())

    @property
    def macs(self):
        """Multiply-adds of one forward pass at the declared input shapes."""
        v = ctypes.c_uint64()
        check(lib().nn_model_macs(self._handle(), ctypes.byref(v)))
        return v.value

    def metadata(self, key, default=None):
        """The model's metadata_props value for ``key``, or ``default``."""
        v = lib().nn_model_metadata(self._handle(), key.encode())
        return default if v is None else text(v)

    def __repr__(self):
        if self.closed:
            return "<nn.Model %r closed>" % self.name
        return "<nn.Model %r inputs=%s outputs=%s>" % (
            self.name, [(i.name, str(i.dtype), i.shape) for i in self.inputs],
            [(o.name, str(o.dtype), o.shape) for o in self.outputs])


def load(path, **kwargs):
    """Load a model file: ``nn.load(path)`` is ``nn.Model.load(path)``."""
    return Model.load(path, **kwargs)
