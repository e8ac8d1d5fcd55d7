"""The network's data — features X, labels or targets y — converted and checked finite, once per call
before the core sees it. The finiteness check is the compiled bit test (no temporaries), which is why
these live here and not in :mod:`fastnn._validation` (pure numpy, usable without the compiled core).
"""

import numpy as np

from . import _core
from ._validation import _as_numeric, aligned_copy

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_CHUNK_ROWS = 8192


def check_finite(arr, name):
    """Vectorized NaN/inf check: the compiled bit test for C-contiguous float arrays (no
    temporaries), numpy otherwise; the first bad row is located only when there is one."""
    if arr.size == 0:
        return
    if arr.dtype in _FLOATS and arr.flags.c_contiguous:
        if _core.all_finite_array(arr.reshape(-1)):
            return
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.sum(arr, dtype=np.float64)):
                return
    flat = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(-1, 1)
    for start in range(0, len(flat), _CHUNK_ROWS):
        bad = ~np.isfinite(flat[start : start + _CHUNK_ROWS])
        if bad.any():
            row = start + int(np.argwhere(bad)[0][0])
            where = f" (first at row {row})" if arr.ndim > 1 else f" (first at index {row})"
            raise ValueError(f"{name}: contains NaN or infinity{where}")


def to_features(X, name, width, dtype, check=True):
    """X as a C-contiguous (n, width) array of `dtype`, finite (unless check=False: the caller
    checks the values itself, as SGD does inside the compiled loop)."""
    arr = _as_numeric(X, name)
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array of shape (n, {width}), got {arr.ndim}-D shape {arr.shape}"
        )
    if arr.shape[1] != width:
        raise ValueError(f"{name}: expected shape (n, {width}), got {arr.shape}")
    with np.errstate(over="ignore", invalid="ignore"):  # values too large for float32 -> inf: refused below
        arr = aligned_copy(arr, dtype)
    if check:
        check_finite(arr, name)
    return arr


def to_y(y, name, n, n_out, dtype, cost, output):
    """(labels, targets): int labels (n,) in [0, n_out), or float targets (n, n_out); the other None.

    1-D y are class labels (or, for a single output neuron, targets); one-hot rows become labels;
    other 2-D y are targets (in [0, 1] for the cross-entropy cost)."""
    arr = _as_numeric(y, name)
    if arr.ndim == 2 and arr.shape[1] == 1 and n_out > 1:
        arr = arr.reshape(-1)
    if arr.ndim == 1 and n_out == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim == 1:
        if len(arr) != n:
            raise ValueError(f"{name}: expected {n} labels to match X, got {len(arr)}")
        if arr.dtype.kind == "f":
            check_finite(arr, name)
            if n and not np.all(arr == np.round(arr)):
                raise ValueError(f"{name}: expected integer class labels, got non-integral values")
        if n and (arr.min() < 0 or arr.max() >= n_out):
            raise ValueError(
                f"{name}: expected labels in [0, {n_out}), got values in [{arr.min()}, {arr.max()}]"
            )
        return np.ascontiguousarray(arr, dtype=np.intp), None
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected labels of shape ({n},) or targets of shape "
            f"({n}, {n_out}), got shape {arr.shape}"
        )
    if arr.shape != (n, n_out):
        raise ValueError(f"{name}: expected targets of shape ({n}, {n_out}), got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    check_finite(arr, name)
    if n and n_out > 1 and np.all((arr == 0) | (arr == 1)) and np.all(arr.sum(axis=1) == 1):
        return np.ascontiguousarray(arr.argmax(axis=1), dtype=np.intp), None  # one-hot
    if cost.name in ("cross-entropy", "log-likelihood") and n and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"{name}: the {cost.name} cost needs targets in [0, 1], got values in [{arr.min()}, {arr.max()}]"
        )
    return None, arr
