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
    # Python >= 3.11: do not put the working directory (or a script's folder) first on sys.path, so a
    # child started in the checkout imports the tested fastnn, not the checkout's uncompiled sources.
    env["PYTHONSAFEPATH"] = "1"
    env.update(extra)
    return env


def fastnn_env(directory, **extra):
    """``package_env`` for ``python -m fastnn`` run in ``directory`` that must not find MNIST unless
    a test asks for it (``FASTNN_DATA=...`` in ``extra``): an empty $FASTNN_DATA and a HOME without
    ~/.fastnn, both made inside ``directory``; the real home's caches (matplotlib's font cache) kept."""
    env = package_env()
    empty = Path(directory) / "no-mnist-here"
    empty.mkdir(exist_ok=True)
    env["FASTNN_DATA"] = str(empty)
    home = Path(directory) / "home"
    home.mkdir(exist_ok=True)
    env.setdefault("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    env.setdefault("XDG_CONFIG_HOME", os.path.join(os.path.expanduser("~"), ".config"))
    env["HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONSTARTUP", None)
    env.update(extra)
    return env


def start_fastnn(directory, *args, **env):
    """Start ``python -m fastnn ARGS`` in ``directory`` in the background (``fastnn_env``, text pipes
    for stdout and stderr, no stdin); returns the Popen."""
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "fastnn", *map(str, args)],
        cwd=directory,
        env=fastnn_env(directory, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def run_python(code, cwd=None, env=None, timeout=300):
    """Run ``python -c CODE`` in a child that imports the tested fastnn (``package_env()`` unless
    `env` is given); returns the CompletedProcess (text, stdout and stderr captured, no stdin)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=package_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_fastnn(directory, *args, timeout=180, **env):
    """Run ``python -m fastnn ARGS`` in ``directory`` with ``fastnn_env(directory, **env)``;
    returns the CompletedProcess (text, stdout and stderr captured, no stdin)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "fastnn", *map(str, args)],
        cwd=directory,
        env=fastnn_env(directory, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


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


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """In-process runs that must not find MNIST: an empty $FASTNN_DATA, a HOME without
    ~/.fastnn, and tmp_path as the working directory."""
    empty = tmp_path / "no-mnist-here"
    empty.mkdir()
    monkeypatch.setenv("FASTNN_DATA", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def digits():
    """``load_digits()``: scikit-learn's 8x8 digits, 1197/300/300, seed 0."""
    from fastnn.data import load_digits

    return load_digits()


# --------------------------------------------------------------------------------------------------
# Shared helpers, one definition each. Test modules import them with ``from conftest import ...``
# (tests/ has no __init__.py, so pytest puts this directory on sys.path, as for ``package_env``).
# --------------------------------------------------------------------------------------------------
def classification_data(n=10, d=4, k=3, seed=0):
    """``(X, y)``: n rows of d uniform features, integer labels in [0, k)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, k, n)


def rel_err(got, want, floor=1e-300):
    """Max absolute difference over all arrays of ``got``/``want``, relative to max |want|
    (at least ``floor``: 1.0 where values near zero make a relative error meaningless)."""
    import numpy as np

    got = np.concatenate([np.ravel(g) for g in got]).astype(np.float64)
    want = np.concatenate([np.ravel(w) for w in want]).astype(np.float64)
    return np.max(np.abs(got - want)) / max(np.max(np.abs(want)), floor)


def numeric_gradient(f, params, eps=1e-6):
    """Central differences of the scalar ``f()`` with respect to each element of the array
    ``params``, which ``f`` reads and which is perturbed in place (and restored)."""
    import numpy as np

    g = np.zeros(params.shape, dtype=np.float64)
    for i in np.ndindex(params.shape):
        old = params[i]
        params[i] = old + eps
        up = f()
        params[i] = old - eps
        down = f()
        params[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def twin(net):
    """A ``fastnn.reference.ReferenceNetwork`` with ``net``'s parameters, cost and activations."""
    from fastnn.reference import ReferenceNetwork

    return ReferenceNetwork(
        net.sizes,
        [w.copy() for w in net.weights],
        [b.copy() for b in net.biases],
        net.cost,
        net.output,
        net.hidden,
        dtype=net.dtype,
    )


def snapshot(net):
    """Everything an erroneous call must leave as it was: parameter bytes, velocity bytes, the
    random generator's state and the history object."""
    import copy

    return (
        net._params.tobytes(),
        None if net._velocity is None else net._velocity.tobytes(),
        copy.deepcopy(net._rng.bit_generator.state),
        net.history,
    )


def assert_unchanged(net, before):
    """``net`` is as ``snapshot(net)`` found it (the same history object, not an equal one)."""
    after = snapshot(net)
    assert after[0] == before[0], "parameters changed"
    assert after[1] == before[1], "velocity changed"
    assert after[2] == before[2], "random generator state changed"
    assert after[3] is before[3], "history replaced"


def sgd_draws(net, n, epochs):
    """The random draws ``net.SGD`` on ``n`` rows will make, without making them: returns
    ``(seed, perms)``, the trainer's seed (it seeds the dropout masks: ``_core.MaskStream(seed, p,
    dtype)``) and the ``epochs`` row permutations of a shuffled run, for
    ``ReferenceNetwork.SGD(perms=..., mask_stream=...)``.

    This is the ONE place the tests rely on the order of ``Network``'s draws (``Network(seed=s)``
    makes a run reproducible; what it draws in which order is private): the trainer's seed first
    (one ``integers(0, 2**63)``), then one in-place shuffle of a running permutation per epoch.
    Use it through the ``seeded`` fixture, never by replaying ``net._rng`` in a test."""
    import copy

    import numpy as np

    shadow = copy.deepcopy(net._rng)
    seed = int(shadow.integers(0, 2**63))
    perm, perms = np.arange(n), []
    for _ in range(epochs):
        shadow.shuffle(perm)
        perms.append(perm.copy())
    return seed, perms


@pytest.fixture
def seeded():
    """The seeding hook: ``seeded(net, n, epochs) -> (seed, perms)``, see ``sgd_draws``."""
    return sgd_draws
