"""pytest configuration for the benchmark suite: ``pytest bench/ --benchmark-only``.

* collects ``bench_*.py`` files (the project's pytest settings only collect ``test_*.py``);
* every benchmark runs single-threaded (``threadpoolctl.threadpool_limits(1)``; fastnn ``n_threads=1``);
* data: the first 50,000 MNIST training rows from ``$FASTNN_DATA`` or ``../shared/data/mnist`` (relative
to the
  repository root), else synthetic data of the same shape;
* ``FASTNN_BENCH_ROUNDS`` (default 3) sets the rounds per benchmark (plus one warm-up round).

Run with OpenBLAS' core-type overrides removed, as ``bench/compare.py``:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest bench/ --benchmark-only``.
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def pytest_collect_file(file_path, parent):
    # a file named on the command line is collected by pytest itself: do not collect it twice
    if (
        file_path.suffix == ".py"
        and file_path.name.startswith("bench_")
        and not parent.session.isinitpath(file_path)
    ):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session", autouse=True)
def _single_thread():
    import scipy.linalg  # noqa: F401  (load scipy's OpenBLAS before limiting)

    for mod in ("fastnn", "fastnn.network", "fastnn.reference", "setup_bound"):
        try:
            __import__(mod)
        except Exception:  # noqa: BLE001
            pass
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def bench_rounds():
    return max(1, int(os.environ.get("FASTNN_BENCH_ROUNDS", "3")))


@pytest.fixture(scope="session")
def bench_data():
    """{"train": (X f64, y), "test": (X f64, y), "source": str}; X C-contiguous in [0, 1]."""
    from compare import load_data

    (Xtr, ytr), _, (Xte, yte), src = load_data(50_000)
    return {"train": (Xtr, ytr), "test": (Xte, yte), "source": src, "_cache": {}}


@pytest.fixture(scope="session")
def as_dtype(bench_data):
    """as_dtype(part, dtype) -> (X of that dtype, y), cached for the session."""

    def get(part, dtype):
        key = (part, np.dtype(dtype).name)
        cache = bench_data["_cache"]
        if key not in cache:
            X, y = bench_data[part]
            cache[key] = (np.ascontiguousarray(X, dtype=dtype), y)
        return cache[key]

    return get


def pytest_report_header(config):
    try:
        from threadpoolctl import threadpool_info

        libs = "; ".join(
            f"{i.get('internal_api')} {i.get('version')} kernel={i.get('architecture', '-')}"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except Exception:  # noqa: BLE001
        libs = "threadpoolctl unavailable"
    return [
        f"fastnn bench: BLAS {libs or 'not loaded yet'}; OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    ]
