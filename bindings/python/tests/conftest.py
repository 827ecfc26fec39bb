"""Shared fixtures: where the test models are, and skipping cases whose
operators the library under test does not implement yet."""
import os

import pytest

import nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
MODELS = os.environ.get("NN_TEST_MODELS", os.path.join(REPO, "test", "data", "models"))


def model_path(name):
    return os.path.join(MODELS, name)


@pytest.fixture
def models():
    return MODELS


def require_ops(*ops):
    """Skip unless the loaded libnn implements every op in ``ops``."""
    missing = sorted(set(ops) - set(nn.supported_ops()))
    if missing:
        pytest.skip("libnn lacks %s" % ", ".join(missing))
