"""Finding and describing the library; status codes and the exception classes."""
import os
import subprocess
import sys

import pytest

import nn
from conftest import REPO, model_path

PKG = os.path.join(REPO, "bindings", "python")


def run_py(code, env_extra=None, env_drop=()):
    env = dict(os.environ)
    for k in env_drop:
        env.pop(k, None)
    env.update(env_extra or {})
    env["PYTHONPATH"] = PKG
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_version_matches_header():
    header = open(os.path.join(REPO, "include", "nn.h")).read()
    parts = [int(line.split()[2]) for line in header.splitlines()
             if line.startswith(("#define NN_VERSION_MAJOR", "#define NN_VERSION_MINOR", "#define NN_VERSION_PATCH"))]
    assert nn.version() == "%d.%d.%d" % tuple(parts)
    assert nn.version_number() == parts[0] * 10000 + parts[1] * 100 + parts[2]


def test_library_path_is_the_one_under_test():
    if os.environ.get("NN_LIBRARY"):
        assert nn.library_path() == os.environ["NN_LIBRARY"]
    assert os.path.basename(os.path.realpath(nn.library_path())).startswith("libnn.so.1")


def test_nn_library_env_wins_and_bad_path_is_an_error():
    r = run_py("import nn; nn.version()", {"NN_LIBRARY": "/nonexistent/libnn.so.1"})
    assert r.returncode != 0
    assert "cannot load libnn from /nonexistent/libnn.so.1 (NN_LIBRARY)" in r.stderr


def test_explicit_path_argument():
    lib = os.path.realpath(nn.library_path())
    r = run_py("import nn; nn.load_library(%r); print(nn.library_path())" % lib, env_drop=["NN_LIBRARY"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == lib


def test_not_libnn_is_refused():
    # a real shared object that is not libnn
    import ctypes.util
    libm = ctypes.util.find_library("m")
    r = run_py("import nn; nn.load_library(%r)" % libm, env_drop=["NN_LIBRARY"])
    assert r.returncode != 0 and "not libnn" in r.stderr


def test_supported_ops_sorted_and_include_identity():
    ops = nn.supported_ops()
    assert ops == sorted(ops)
    assert "Identity" in ops and "Constant" in ops


def test_status_strings():
    assert nn.status_string(0)
    assert nn.status_string(-7) != nn.status_string(-8)
    assert nn.status_name(-7) == "NN_E_SHAPE"
    assert nn.status_name(-99) == "status -99"


@pytest.mark.parametrize("status,cls,builtin", [
    (-1, nn.InvalidArgumentError, ValueError), (-2, nn.OutOfMemoryError, MemoryError), (-3, nn.FileError, OSError),
    (-4, nn.ParseError, ValueError), (-5, nn.InvalidModelError, ValueError),
    (-6, nn.UnsupportedError, NotImplementedError), (-7, nn.ShapeError, ValueError), (-8, nn.DTypeError, TypeError),
    (-9, nn.LimitError, ValueError), (-10, nn.NotFoundError, LookupError), (-11, nn.StateError, RuntimeError),
    (-12, nn.InternalError, RuntimeError)])
def test_error_classes(status, cls, builtin):
    from nn._errors import make_error
    e = make_error(status, "msg")
    assert type(e) is cls and isinstance(e, nn.Error) and isinstance(e, builtin)
    assert e.status == status and e.message == "msg"
    assert "msg" in str(e) and nn.status_name(status) in str(e)
    import pickle
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is cls and e2.status == status and e2.message == "msg"


def test_unknown_status_is_plain_error():
    from nn._errors import make_error
    e = make_error(-1234, "future")
    assert type(e) is nn.Error and e.status == -1234


def test_error_carries_last_error_message():
    with pytest.raises(nn.FileError) as ei:
        nn.load("/nonexistent/model.onnx")
    assert ei.value.status == -3
    assert "/nonexistent/model.onnx" in ei.value.message


def test_missing_function_raises_unsupported():
    L = nn._lib_handle()
    with pytest.raises(nn.UnsupportedError) as ei:
        L.nn_function_from_the_future
    assert "nn_function_from_the_future" in str(ei.value)


def test_every_header_function_is_declared():
    """The prototype table covers every NN_API function in nn.h."""
    import re
    from nn._lib import PROTOTYPES
    header = open(os.path.join(REPO, "include", "nn.h")).read()
    declared = set(re.findall(r"^NN_API\b[^;(]*?\b(nn_\w+)\s*\(", header, re.M))
    assert declared, "no declarations parsed"
    assert declared - set(PROTOTYPES) == set(), "nn.h functions without a ctypes prototype in nn/_lib.py PROTOTYPES"
    assert set(PROTOTYPES) - declared == set(), "prototypes for functions not in nn.h"


def test_identity_model_exists():
    assert os.path.exists(model_path("identity.onnx"))


def _header_prototypes():
    """{name: (ret, [param types])} parsed from nn.h's NN_API declarations."""
    import re
    header = open(os.path.join(REPO, "include", "nn.h")).read()
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    out = {}
    for m in re.finditer(r"^NN_API\s+(.*?)\b(nn_\w+)\s*\((.*?)\)\s*;", header, re.M | re.S):
        ret, name, params = m.group(1).strip(), m.group(2), " ".join(m.group(3).split())
        plist = [] if params in ("void", "") else [p.strip() for p in params.split(",")]
        out[name] = (ret, plist)
    return out


def _ctype_of(decl, is_param):
    """The ctypes type a C declaration maps to (the parameter name dropped)."""
    import ctypes
    import re
    from nn import _lib
    stars = decl.count("*")
    words = [w for w in re.findall(r"\w+", decl) if w != "const"]
    if is_param and len(words) > 1:
        words = words[:-1]  # drop the parameter name
    base = words[0]
    scalars = {"int32_t": ctypes.c_int32, "nn_status": ctypes.c_int32, "nn_dtype": ctypes.c_int32,
               "uint32_t": ctypes.c_uint32, "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64,
               "size_t": ctypes.c_size_t, "float": ctypes.c_float}
    structs = {"nn_load_options": _lib.LoadOptions, "nn_session_options": _lib.SessionOptions,
               "nn_image_options": _lib.ImageOptions, "nn_preprocess_options": _lib.PreprocessOptions,
               "nn_classify_options": _lib.ClassifyOptions, "nn_trainer_options": _lib.TrainerOptions,
               "nn_trainer_stats": _lib.TrainerStats,
               "nn_replace_input_options": _lib.ReplaceInputOptions,
               "nn_detect_options": _lib.DetectOptions}
    if stars == 0:
        return None if base == "void" else scalars[base]
    if base == "char":
        inner = ctypes.c_char_p
    elif base in structs:
        assert stars == 1
        return ctypes.POINTER(structs[base])
    elif base in scalars:
        assert stars == 1
        return ctypes.POINTER(scalars[base])
    else:  # void or an opaque handle
        inner = ctypes.c_void_p
    return inner if stars == 1 else ctypes.POINTER(inner)


def test_prototypes_match_header_types():
    from nn._lib import PROTOTYPES
    for name, (ret, params) in _header_prototypes().items():
        restype, argtypes = PROTOTYPES[name]
        assert restype == _ctype_of(ret, False), (name, "return", ret)
        assert len(argtypes) == len(params), (name, params)
        for got, p in zip(argtypes, params):
            assert got == _ctype_of(p, True), (name, p)


def test_options_struct_layout():
    """The ctypes mirrors of the options structs have nn.h's sizes and offsets."""
    import ctypes
    from nn._lib import LoadOptions, SessionOptions
    assert ctypes.sizeof(SessionOptions) == 8
    assert ctypes.sizeof(LoadOptions) == (40 if ctypes.sizeof(ctypes.c_void_p) == 8 else 36)
    assert LoadOptions.weights_path.offset == 32
    from nn._lib import ImageOptions, PreprocessOptions, ClassifyOptions
    assert ctypes.sizeof(ImageOptions) == 24
    from nn._lib import DetectOptions
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert ctypes.sizeof(DetectOptions) == 48 and DetectOptions.labels.offset == 32
    assert ctypes.sizeof(PreprocessOptions) == 72 and PreprocessOptions.std.offset == 48
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert ctypes.sizeof(ClassifyOptions) == 32 and ClassifyOptions.preprocess.offset == 24
    from nn._lib import TrainerOptions, TrainerStats
    assert TrainerOptions.seed.offset == 80 and ctypes.sizeof(TrainerStats) == 80
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert ctypes.sizeof(TrainerOptions) == 112 and TrainerOptions.cache_path.offset == 96
