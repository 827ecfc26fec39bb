"""Finding libnn.so.1 and declaring the C prototypes (the only module that
knows the ABI: every other module calls through ``lib()``).

The search order is documented in ``load_library``. Each prototype lists the
ctypes types matching include/nn.h exactly (fixed-width integers, pointers),
so a wrong argument raises ``ctypes.ArgumentError`` in Python instead of
corrupting memory in C. A function the running library lacks (an older
libnn.so.1) is left undeclared; calling it raises ``nn.UnsupportedError``
naming the function, so these bindings work with any 1.x library for the
calls that library has.
"""
import ctypes
import ctypes.util
import os
import threading

from ._errors import UnsupportedError, InvalidArgumentError, NN_E_INVALID_ARG, NN_E_UNSUPPORTED

SONAME = "libnn.so.1"
ABI_MAJOR = 1

c_status = ctypes.c_int32
c_dtype = ctypes.c_int32
p_void = ctypes.c_void_p
p_char = ctypes.c_char_p
p_i64 = ctypes.POINTER(ctypes.c_int64)
pp_void = ctypes.POINTER(ctypes.c_void_p)
pp_char = ctypes.POINTER(ctypes.c_char_p)
u32, i32, i64, u64, size_t = ctypes.c_uint32, ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64, ctypes.c_size_t


class LoadOptions(ctypes.Structure):
    """struct nn_load_options (NN_LOAD_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("format", ctypes.c_int32),
        ("max_model_bytes", ctypes.c_uint64),
        ("max_tensor_bytes", ctypes.c_uint64),
        ("max_nodes", ctypes.c_uint32),
        ("reserved_u32", ctypes.c_uint32),
        ("weights_path", ctypes.c_char_p),
    ]


class SessionOptions(ctypes.Structure):
    """struct nn_session_options (NN_SESSION_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("num_threads", ctypes.c_int32),
    ]


class ReplaceInputOptions(ctypes.Structure):
    """struct nn_replace_input_options (NN_REPLACE_INPUT_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("channel_axis", ctypes.c_int32),
    ]


class ImageOptions(ctypes.Structure):
    """struct nn_image_options (NN_IMAGE_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("apply_orientation", ctypes.c_int32),
        ("max_pixels", ctypes.c_uint64),
        ("max_file_bytes", ctypes.c_uint64),
    ]


class PreprocessOptions(ctypes.Structure):
    """struct nn_preprocess_options (NN_PREPROCESS_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("color", ctypes.c_int32),
        ("resize", ctypes.c_int32),
        ("filter", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("height", ctypes.c_int32),
        ("n_mean", ctypes.c_int32),
        ("n_std", ctypes.c_int32),
        ("mean", ctypes.c_float * 4),
        ("std", ctypes.c_float * 4),
        ("pad_value", ctypes.c_float),
        ("crop_fraction", ctypes.c_float),
    ]


class ClassifyOptions(ctypes.Structure):
    """struct nn_classify_options (NN_CLASSIFY_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("softmax", ctypes.c_int32),
        ("output_index", ctypes.c_uint32),
        ("reserved_u32", ctypes.c_uint32),
        ("labels", ctypes.c_char_p),
        ("preprocess", ctypes.POINTER(PreprocessOptions)),
    ]


class TrainerOptions(ctypes.Structure):
    """struct nn_trainer_options (NN_TRAINER_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("optimizer", ctypes.c_int32),
        ("learning_rate", ctypes.c_float),
        ("momentum", ctypes.c_float),
        ("nesterov", ctypes.c_int32),
        ("beta1", ctypes.c_float),
        ("beta2", ctypes.c_float),
        ("epsilon", ctypes.c_float),
        ("weight_decay", ctypes.c_float),
        ("lr_schedule", ctypes.c_int32),
        ("lr_step_size", ctypes.c_uint32),
        ("lr_gamma", ctypes.c_float),
        ("lr_total_steps", ctypes.c_uint32),
        ("lr_min", ctypes.c_float),
        ("clip_norm", ctypes.c_float),
        ("label_smoothing", ctypes.c_float),
        ("batchnorm", ctypes.c_int32),
        ("num_threads", ctypes.c_int32),
        ("output_index", ctypes.c_uint32),
        ("seed", ctypes.c_uint64),
        ("cache_max_bytes", ctypes.c_uint64),
        ("cache_path", ctypes.c_char_p),
        ("cache_disk_max_bytes", ctypes.c_uint64),
    ]


class TrainerStats(ctypes.Structure):
    """struct nn_trainer_stats (NN_TRAINER_STATS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("backward_layers", ctypes.c_uint32),
        ("gradient_buffers", ctypes.c_uint32),
        ("trainable_params", ctypes.c_uint32),
        ("gradient_bytes", ctypes.c_uint64),
        ("arena_bytes", ctypes.c_uint64),
        ("backward_calls", ctypes.c_uint64),
        ("cache_hits", ctypes.c_uint64),
        ("cache_misses", ctypes.c_uint64),
        ("cache_memory_bytes", ctypes.c_uint64),
        ("cache_disk_bytes", ctypes.c_uint64),
        ("prefix_layers", ctypes.c_uint32),
        ("reserved_u32", ctypes.c_uint32),
    ]


class DetectOptions(ctypes.Structure):
    """struct nn_detect_options (NN_DETECT_OPTIONS_VERSION 1)."""
    _fields_ = [
        ("version", ctypes.c_uint32),
        ("family", ctypes.c_int32),
        ("score_threshold", ctypes.c_float),
        ("iou_threshold", ctypes.c_float),
        ("class_agnostic", ctypes.c_int32),
        ("max_detections", ctypes.c_uint32),
        ("input_width", ctypes.c_int32),
        ("input_height", ctypes.c_int32),
        ("labels", ctypes.c_char_p),
        ("preprocess", ctypes.POINTER(PreprocessOptions)),
    ]


LOAD_OPTIONS_VERSION = 1
SESSION_OPTIONS_VERSION = 1
REPLACE_INPUT_OPTIONS_VERSION = 1
NN_PARAM_TRAINABLE = 0x1
NN_PARAM_NEW_HEAD = 0x2
IMAGE_OPTIONS_VERSION = 1
PREPROCESS_OPTIONS_VERSION = 1
CLASSIFY_OPTIONS_VERSION = 1
TRAINER_OPTIONS_VERSION = 1
TRAINER_STATS_VERSION = 1
DETECT_OPTIONS_VERSION = 1

# name: (restype, [argtypes]). Handles are void pointers (opaque structs).
PROTOTYPES = {
    # version, errors
    "nn_version": (p_char, []),
    "nn_version_number": (u32, []),
    "nn_status_string": (p_char, [c_status]),
    "nn_last_error": (p_char, []),
    # dtypes
    "nn_dtype_name": (p_char, [c_dtype]),
    "nn_dtype_size": (size_t, [c_dtype]),
    # tensors
    "nn_tensor_create": (c_status, [c_dtype, i32, p_i64, pp_void]),
    "nn_tensor_wrap": (c_status, [c_dtype, i32, p_i64, p_void, pp_void]),
    "nn_tensor_free": (None, [p_void]),
    "nn_tensor_dtype": (c_dtype, [p_void]),
    "nn_tensor_rank": (i32, [p_void]),
    "nn_tensor_dim": (i64, [p_void, i32]),
    "nn_tensor_count": (i64, [p_void]),
    "nn_tensor_nbytes": (size_t, [p_void]),
    "nn_tensor_data": (p_void, [p_void]),
    "nn_tensor_data_const": (p_void, [p_void]),
    "nn_tensor_name": (p_char, [p_void]),
    "nn_tensor_set_name": (c_status, [p_void, p_char]),
    "nn_tensor_read_file": (c_status, [p_char, pp_void]),
    "nn_tensor_read_memory": (c_status, [p_void, size_t, pp_void]),
    "nn_tensor_write_file": (c_status, [p_void, p_char]),
    # models
    "nn_load_options_init": (c_status, [ctypes.POINTER(LoadOptions), u32]),
    "nn_model_load": (c_status, [p_char, ctypes.POINTER(LoadOptions), pp_void]),
    "nn_model_load_memory": (c_status, [p_void, size_t, ctypes.POINTER(LoadOptions), pp_void]),
    "nn_model_free": (None, [p_void]),
    "nn_model_input_count": (u32, [p_void]),
    "nn_model_output_count": (u32, [p_void]),
    "nn_model_input_info": (c_status, [p_void, u32, pp_char, ctypes.POINTER(c_dtype), ctypes.POINTER(i32)]),
    "nn_model_output_info": (c_status, [p_void, u32, pp_char, ctypes.POINTER(c_dtype), ctypes.POINTER(i32)]),
    "nn_model_input_dim": (c_status, [p_void, u32, i32, p_i64, pp_char]),
    "nn_model_output_dim": (c_status, [p_void, u32, i32, p_i64, pp_char]),
    "nn_model_layer_count": (u32, [p_void]),
    "nn_model_layer_info": (c_status, [p_void, u32, pp_char, pp_char]),
    "nn_model_param_count": (u64, [p_void]),
    "nn_model_macs": (c_status, [p_void, ctypes.POINTER(u64)]),
    "nn_model_metadata": (p_char, [p_void, p_char]),
    # sessions
    "nn_session_options_init": (c_status, [ctypes.POINTER(SessionOptions), u32]),
    "nn_session_create": (c_status, [p_void, ctypes.POINTER(SessionOptions), pp_void]),
    "nn_session_free": (None, [p_void]),
    "nn_session_run": (c_status, [p_void, u32, pp_char, pp_void]),
    "nn_session_output_count": (u32, [p_void]),
    "nn_session_output": (p_void, [p_void, u32]),
    # editing and saving models
    "nn_model_save": (c_status, [p_void, p_char]),
    "nn_model_save_memory": (c_status, [p_void, pp_void, ctypes.POINTER(size_t)]),
    "nn_model_set_metadata": (c_status, [p_void, p_char, p_char]),
    "nn_model_metadata_count": (u32, [p_void]),
    "nn_model_metadata_at": (c_status, [p_void, u32, pp_char, pp_char]),
    "nn_model_param_tensor_count": (u32, [p_void]),
    "nn_model_param_info": (c_status, [p_void, u32, pp_char, ctypes.POINTER(c_dtype), ctypes.POINTER(i32), p_i64,
                                       ctypes.POINTER(u32)]),
    "nn_model_get_param": (c_status, [p_void, p_char, pp_void]),
    "nn_model_set_param": (c_status, [p_void, p_char, p_void]),
    "nn_replace_input_options_init": (c_status, [ctypes.POINTER(ReplaceInputOptions), u32]),
    "nn_replace_input": (c_status, [p_void, p_char, i32, p_i64, ctypes.POINTER(ReplaceInputOptions)]),
    "nn_replace_head": (c_status, [p_void, i32, pp_char, u32, u64]),
    "nn_builder_create": (c_status, [i64, pp_void]),
    "nn_builder_free": (None, [p_void]),
    "nn_builder_add_input": (c_status, [p_void, p_char, c_dtype, i32, p_i64, pp_char]),
    "nn_builder_add_param": (c_status, [p_void, p_char, p_void]),
    "nn_builder_add_node": (c_status, [p_void, p_char, p_char, u32, pp_char, u32, pp_char, u32, pp_char]),
    "nn_builder_add_output": (c_status, [p_void, p_char]),
    "nn_builder_finish": (c_status, [p_void, pp_void]),
    # images
    "nn_image_options_init": (c_status, [ctypes.POINTER(ImageOptions), u32]),
    "nn_image_load": (c_status, [p_char, ctypes.POINTER(ImageOptions), pp_void]),
    "nn_image_load_memory": (c_status, [p_void, size_t, ctypes.POINTER(ImageOptions), pp_void]),
    "nn_image_create": (c_status, [i32, i32, i32, c_dtype, p_void, pp_void]),
    "nn_image_free": (None, [p_void]),
    "nn_image_width": (i32, [p_void]),
    "nn_image_height": (i32, [p_void]),
    "nn_image_channels": (i32, [p_void]),
    "nn_image_dtype": (c_dtype, [p_void]),
    "nn_image_data": (p_void, [p_void]),
    "nn_image_resize": (c_status, [p_void, i32, i32, i32, pp_void]),
    "nn_image_crop": (c_status, [p_void, i32, i32, i32, i32, pp_void]),
    "nn_image_convert": (c_status, [p_void, i32, pp_void]),
    # preprocessing, classification
    "nn_preprocess_options_init": (c_status, [ctypes.POINTER(PreprocessOptions), u32]),
    "nn_image_to_tensor": (c_status, [p_void, pp_void, u32, ctypes.POINTER(PreprocessOptions), pp_void]),
    "nn_classify_options_init": (c_status, [ctypes.POINTER(ClassifyOptions), u32]),
    "nn_classify": (c_status, [p_void, pp_void, u32, u32, ctypes.POINTER(ClassifyOptions), pp_void]),
    "nn_classification_free": (None, [p_void]),
    "nn_classification_image_count": (u32, [p_void]),
    "nn_classification_class_count": (u32, [p_void]),
    "nn_classification_count": (u32, [p_void, u32]),
    "nn_classification_get": (c_status, [p_void, u32, u32, ctypes.POINTER(u32), ctypes.POINTER(ctypes.c_float),
                                         pp_char]),
    # freezing, training
    "nn_freeze": (c_status, [p_void, i32, p_char, u32]),
    "nn_unfreeze": (c_status, [p_void, i32, p_char, u32]),
    "nn_set_learn_rate_factor": (c_status, [p_void, p_char, ctypes.c_float]),
    "nn_get_learn_rate_factor": (c_status, [p_void, p_char, ctypes.POINTER(ctypes.c_float)]),
    "nn_set_layer_learn_rate_factors": (c_status, [p_void, p_char, ctypes.c_float, ctypes.c_float]),
    "nn_model_trainable_param_count": (u64, [p_void]),
    "nn_model_clone": (c_status, [p_void, pp_void]),
    "nn_trainer_options_init": (c_status, [ctypes.POINTER(TrainerOptions), u32]),
    "nn_trainer_create": (c_status, [p_void, ctypes.POINTER(TrainerOptions), pp_void]),
    "nn_trainer_free": (None, [p_void]),
    "nn_trainer_set_class_weights": (c_status, [p_void, ctypes.POINTER(ctypes.c_float), u32]),
    "nn_class_weights_from_counts": (c_status, [ctypes.POINTER(u64), u32, ctypes.POINTER(ctypes.c_float)]),
    "nn_trainer_set_learning_rate": (c_status, [p_void, ctypes.c_float]),
    "nn_trainer_learning_rate": (ctypes.c_float, [p_void]),
    "nn_trainer_step_count": (u64, [p_void]),
    "nn_trainer_accuracy": (ctypes.c_float, [p_void]),
    "nn_train_step": (c_status, [p_void, p_void, p_void, p_void, ctypes.POINTER(ctypes.c_float)]),
    "nn_train_step_cached": (c_status, [p_void, p_void, p_void, ctypes.POINTER(u64), p_void,
                                        ctypes.POINTER(ctypes.c_float)]),
    "nn_trainer_get_stats": (c_status, [p_void, ctypes.POINTER(TrainerStats)]),
    "nn_trainer_clear_cache": (c_status, [p_void]),
    # detection
    "nn_image_save": (c_status, [p_void, p_char]),
    "nn_detect_options_init": (c_status, [ctypes.POINTER(DetectOptions), u32]),
    "nn_detect": (c_status, [p_void, p_void, ctypes.POINTER(DetectOptions), pp_void]),
    "nn_detections_free": (None, [p_void]),
    "nn_detections_count": (u32, [p_void]),
    "nn_detections_get": (c_status, [p_void, u32] + [ctypes.POINTER(ctypes.c_float)] * 5 +
                          [ctypes.POINTER(u32), pp_char]),
    # capabilities, memory
    "nn_supported_op_count": (u32, []),
    "nn_supported_op_name": (p_char, [u32]),
    "nn_free": (None, [p_void]),
}


class _Library:
    """A loaded libnn with its prototypes declared; attribute access gives the
    C functions."""

    def __init__(self, path):
        self.path = path
        self.cdll = ctypes.CDLL(path)  # CDLL releases the GIL during calls
        self.missing = set()
        for name, (restype, argtypes) in PROTOTYPES.items():
            try:
                fn = getattr(self.cdll, name)
            except AttributeError:
                self.missing.add(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        if "nn_version_number" in self.missing:
            raise OSError("%s is not libnn (no nn_version_number)" % path)
        number = self.nn_version_number()
        if number // 10000 != ABI_MAJOR:
            raise OSError("%s is libnn %s; these bindings need %d.x" % (path, self.version(), ABI_MAJOR))

    def version(self):
        return self.nn_version().decode()

    def __getattr__(self, name):
        # only reached for names not set in __init__
        if name.startswith("nn_"):
            raise UnsupportedError(NN_E_UNSUPPORTED, "%s: the loaded library %s (version %s) lacks this function"
                                   % (name, self.path, self.version()))
        raise AttributeError(name)


_lock = threading.Lock()
_library = None


def _dev_candidates():
    """libnn.so.1 in the source tree's build folders, for running from a
    checkout (bindings/python/nn/ -> the repository root)."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))
    if not os.path.isfile(os.path.join(root, "include", "nn.h")):
        return []
    out = []
    for sub in ("build", "build/release", "build/debug", "build-debug", "build-release"):
        p = os.path.join(root, sub, "lib", SONAME)
        if os.path.exists(p):
            out.append(p)
    return out


def _candidates(path):
    env = os.environ.get("NN_LIBRARY")
    if env:
        yield env, "NN_LIBRARY"
    if path:
        yield os.fspath(path), "argument"
    yield SONAME, "system search path"
    found = ctypes.util.find_library("nn")
    if found and found.startswith(SONAME):
        yield found, "ctypes.util.find_library"
    for p in _dev_candidates():
        yield p, "source tree build"


def load_library(path=None):
    """Load libnn.so.1 and return it; later calls return the same library.

    Search order: the ``NN_LIBRARY`` environment variable (a path; it wins so
    tests and packagers can redirect any program), then ``path``, then the
    installed ``libnn.so.1`` (the dynamic linker's search: LD_LIBRARY_PATH,
    ld.so.cache, /usr/lib...; then ``ctypes.util.find_library('nn')``), then
    ``build*/lib/libnn.so.1`` of the source tree these bindings sit in.
    A candidate that is not libnn 1.x is an error, not skipped, when it was
    named explicitly (environment or argument).
    """
    global _library
    with _lock:
        if _library is not None:
            if path and os.path.realpath(os.fspath(path)) != os.path.realpath(_library.path) \
                    and not os.environ.get("NN_LIBRARY"):
                raise InvalidArgumentError(NN_E_INVALID_ARG, "libnn is already loaded from %s" % _library.path)
            return _library
        tried = []
        for cand, how in _candidates(path):
            try:
                _library = _Library(cand)
                return _library
            except OSError as e:
                if how in ("NN_LIBRARY", "argument"):
                    raise OSError("cannot load libnn from %s (%s): %s" % (cand, how, e)) from None
                tried.append("%s (%s): %s" % (cand, how, e))
        raise OSError("libnn.so.1 not found; install nn, or set NN_LIBRARY to its path. Tried:\n  "
                      + "\n  ".join(tried))


def lib():
    """The loaded library (loaded on first use)."""
    return _library if _library is not None else load_library()


def check(status):
    """Raise the nn.Error subclass for a failed status, with nn_last_error()
    (read right away: it is thread-local and the next call overwrites it)."""
    if status != 0:
        from ._errors import make_error
        raise make_error(status, lib().nn_last_error().decode("utf-8", "replace"))


def text(ptr):
    """Decode a borrowed C string (None stays None)."""
    return None if ptr is None else ptr.decode("utf-8", "replace")
