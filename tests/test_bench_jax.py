"""JAX as a benchmark peer (bench/jax_peer.py driven by bench/compare.py): it computes what fastnn
computes. JAX is never a dependency of fastnn; these tests run where a Python with jax is found
(this one, or $FASTNN_JAX_PYTHON) and are skipped otherwise -- the one skip for a missing
dependency that CI allows: "jax not installed (benchmark peer, not in CI)"."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import package_env

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"
JAX_SKIP = "jax not installed (benchmark peer, not in CI)"


def jax_python():
    """A Python that imports jax, or None."""
    for py in (os.environ.get("FASTNN_JAX_PYTHON"), sys.executable):
        if py and subprocess.run([py, "-c", "import jax"], capture_output=True, timeout=120).returncode == 0:
            return py
    return None


@pytest.fixture(scope="module")
def compare_module():
    py = jax_python()
    if py is None:
        pytest.skip(JAX_SKIP)
    sys.path.insert(0, str(BENCH))
    try:
        import compare
    finally:
        sys.path.remove(str(BENCH))
    compare.JAX_PYTHON = py
    return compare


def synthetic(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784)) * (rng.random((n, 784)) < 0.19)
    return np.ascontiguousarray(X, dtype=dtype), rng.integers(0, 10, n).astype(np.int64)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("hidden", "mb", "dtype", "tol"), [(30, 10, np.float64, 1e-10), (100, 100, np.float32, 1e-4)]
)
def test_jax_peer_matches_fastnn_after_one_epoch(compare_module, hidden, mb, dtype, tol):
    """Same initial parameters, same rows in the same order, η, λ (decay 1 − ηλ/n) and cost: after
    one epoch JAX's weights and biases agree with fastnn's (float64 to rounding: ~1e-13)."""
    c = compare_module
    X, y = synthetic(2000, dtype)
    worker = c.JaxWorker(1)
    try:
        assert "intra_op_parallelism_threads=1" in worker.info["xla_flags"]
        diff = c.jax_fastnn_check(worker, c.Case(hidden, mb, dtype), X, y)
        # the comparison is not vacuous: the epoch moved the weights by far more than the tolerance
        W0, _ = c.initial_params((784, hidden, 10))
        moved = np.max(np.abs(np.load(c._jax_tmpdir() + "/check-out.npz")["W1"] - W0[1]))
    finally:
        worker.close()
    assert diff < tol, diff
    assert moved > 100 * tol, moved


@pytest.mark.slow
def test_compare_script_reports_jax_columns(compare_module, tmp_path):
    out = tmp_path / "compare.md"
    env = package_env(FASTNN_JAX_PYTHON=compare_module.JAX_PYTHON)
    r = subprocess.run(
        [
            sys.executable,
            str(BENCH / "compare.py"),
            "--n-train",
            "2000",
            "--repeats",
            "3",
            "--impls",
            "fastnn,jax,jax-threads",
            "--cases",
            "h30-mb10-f64,inference",
            "--allow-synthetic",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=BENCH.parent,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "| jax s | jax-threads s |" in text and "jax / fastnn" in text
    check = r"max \|JAX − fastnn\| over weights and biases = \d\.\de-(1[0-9]|[2-9][0-9])"
    assert re.search(check, text), text
    assert re.search(r"jax compile \d+\.\d\d s", text)
    assert re.search(r"jax \(1 thread\) / fastnn ≥ 1\.1 \| \[784,100,10\] 10,000 rows f64", text)
