"""Handles are freed once: by close()/with, or by the garbage collector in any
order (cycles included), and nothing crashes at interpreter shutdown."""
import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nn
from conftest import REPO, model_path

X = np.ones((2, 3), np.float32)


def test_model_context_manager_closes_its_sessions():
    with nn.load(model_path("identity.onnx")) as m:
        m.run(X)
        s = m.session()
        default = m._local.session
    assert m.closed and s.closed and default.closed
    with pytest.raises(nn.StateError):
        m.run(X)
    with pytest.raises(nn.StateError):
        s.run(X)
    with pytest.raises(nn.StateError):
        m.inputs
    with pytest.raises(nn.StateError):
        m.session()
    m.close()  # idempotent
    assert "closed" in repr(m) and "closed" in repr(s)


def test_session_close_keeps_model_usable():
    m = nn.load(model_path("identity.onnx"))
    s = m.session()
    s.close()
    s.close()
    assert np.array_equal(m.run(X)[0], X)


def test_session_keeps_model_alive():
    s = nn.load(model_path("identity.onnx")).session()  # no reference to the Model kept
    gc.collect()
    assert np.array_equal(s.run(X)[0], X)
    assert s.model.inputs[0].name == "x"


def test_model_freed_after_its_last_session():
    m = nn.load(model_path("identity.onnx"))
    ref = m._ref
    s = m.session()
    m.close()  # closes s too
    assert ref.ptr is None and s.closed
    m2 = nn.load(model_path("identity.onnx"))
    ref2 = m2._ref
    s2 = m2.session()
    del m2  # the session holds the Model: nothing freed yet
    gc.collect()
    assert ref2.ptr is not None
    del s2
    gc.collect()
    assert ref2.ptr is None


def test_cycles_collected_in_any_order():
    for _ in range(50):
        m = nn.load(model_path("identity.onnx"))
        m.run(X)  # default session: Model -> threading.local -> Session -> Model
        s = m.session()
        s.me = s
        m.me = m
        v = s.run(X, copy=False)[0]
        v.sum()
        del m, s, v
    gc.collect()


def run_py(code):
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "bindings", "python"))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=120)


def test_interpreter_shutdown_with_live_handles():
    r = run_py("""
        import numpy as np, nn
        m = nn.load(%r)
        s = m.session()
        m.run(np.ones((2, 3), np.float32))
        view = s.run(np.ones((2, 3), np.float32), copy=False)[0]
        t = nn.Tensor(np.arange(4.0))
        owned = nn.Tensor.zeros((3,))
        tv = owned.numpy(copy=False)
        m.cycle = m
        class Holder: pass
        h = Holder(); h.m = m; h.h = h
        print("ok")
        """ % model_path("identity.onnx"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok" and r.stderr == ""


def test_exit_from_thread_with_sessions():
    r = run_py("""
        import threading, sys, numpy as np, nn
        m = nn.load(%r)
        def work():
            m.run(np.ones((1, 3), np.float32))
        ts = [threading.Thread(target=work) for _ in range(3)]
        [t.start() for t in ts]; [t.join() for t in ts]
        sys.exit(3)
        """ % model_path("identity.onnx"))
    assert r.returncode == 3 and r.stderr == "", r.stderr


def test_no_leak_in_a_loop():
    """Many load/run/close rounds keep the process size flat."""
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    x = np.ones((64, 3), np.float32)

    def rounds(n):
        for _ in range(n):
            with nn.load(model_path("identity.onnx")) as m:
                m.run(x)
                m.session().run(x, copy=False)
                nn.Tensor.zeros((256,)).close()
    rounds(200)
    gc.collect()
    before = rss()
    rounds(2000)
    gc.collect()
    assert rss() - before < 4 << 20
