"""Run fastnn on a chosen product path inside one process (bench tooling).

``FASTNN_KERNELS`` is read once at import; a Trainer reads ``_core.KERNELS["mode"]`` when it is
built (each SGD call builds one), so setting it around an SGD call picks "own" (fastnn's kernels on
every training layer), "blas" or "auto" for that call only. This is how the benchmarks put both
paths in one run.
"""

import contextlib


@contextlib.contextmanager
def kernel_mode(mode):
    from fastnn import _core

    saved = _core.KERNELS["mode"]
    _core.KERNELS["mode"] = mode
    try:
        yield
    finally:
        _core.KERNELS["mode"] = saved
