"""Run fastnn on a chosen product path inside one process (bench tooling).

``FASTNN_KERNELS`` is read once at import; a Trainer reads ``_core.KERNELS["mode"]`` when it is
built (each SGD call builds one), so setting it around an SGD call picks "own" (fastnn's kernels on
every training layer), "blas" or "auto" for that call only. This is how the benchmarks put both
paths in one run. ``gemm`` ("own" | "blas", read by a Trainer when it is built and by each
inference call) picks the product of the layers not on the own kernels: fastnn's packed product or
the vendor BLAS; mode "blas" alone means the vendor BLAS for every product, as FASTNN_KERNELS=blas.
"""

import contextlib


@contextlib.contextmanager
def kernel_mode(mode=None, gemm=None):
    from fastnn import _core

    saved = dict(_core.KERNELS)
    if mode is not None:
        _core.KERNELS["mode"] = mode
    if gemm is not None or mode == "blas":
        _core.KERNELS["gemm"] = gemm or "blas"
    try:
        yield
    finally:
        _core.KERNELS.update(saved)
