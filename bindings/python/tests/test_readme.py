"""The README's Python example runs as written (from the repository root)."""
import os
import re
import subprocess
import sys

from conftest import REPO, require_ops


def readme_python_example():
    text = open(os.path.join(REPO, "README.md")).read()
    section = text.split("## Using it from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_python_example_runs():
    code = readme_python_example()
    require_ops("MatMul", "Add", "Relu", "Softmax")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "bindings", "python"))
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("[IOInfo(name='x', dtype=dtype('float32'), shape=('N', 4)")
    assert len(lines) == 3 and all(l.split()[0] in ("a", "b", "c") for l in lines[1:])
