"""Shared pytest fixtures for fastnn's tests (other test modules may append fixtures here).

``fastnn.data`` is imported inside the fixtures, not at module level, so that a missing or broken
compiled extension cannot break collection of unrelated tests.
"""
import os
from pathlib import Path

import pytest

#: ../shared/data/mnist relative to the repository root.
SHARED_MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def package_env(**extra):
    """``os.environ`` for a subprocess that must import the same fastnn as this test process
    (installed in site-packages, or built in place in a checkout run with ``python -m pytest``)."""
    import fastnn

    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = parent + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def mnist_dir():
    """Directory holding the four MNIST IDX files: $FASTNN_DATA if set, else ../shared/data/mnist.
    Skips the test when MNIST is not there."""
    from fastnn.data import find_mnist

    env = os.environ.get("FASTNN_DATA")
    candidate = Path(os.path.expanduser(env)) if env else SHARED_MNIST_DIR
    directory, reason = find_mnist(candidate)
    if directory is None:
        pytest.skip(f"MNIST not found at {candidate} ({reason.splitlines()[0]})")
    return directory


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """``load_mnist(mnist_dir)`` (float64), loaded once per session."""
    from fastnn.data import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def digits():
    """``load_digits()``: scikit-learn's 8x8 digits, 1197/300/300, seed 0."""
    from fastnn.data import load_digits

    return load_digits()
