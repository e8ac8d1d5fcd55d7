"""Input checks and conversions, done once per call before the core sees any data.

Conversions (documented in the README): lists and other array-likes become arrays; integer and
bool features become the network's float dtype; other float dtypes are converted to it; Fortran-
ordered or strided arrays are copied to C order. Object, string and complex data are refused. The names
and hyper-parameter checks are in
_vocabulary.py. Pure numpy, without the compiled core (data.py, io.py and sklearn.py use it on their
own): the network's X and y conversions, which end in the compiled finiteness test, are in
_network_data.py.
"""

import collections.abc

import numpy as np

SIMD_ALIGN = 64  # bytes: one cache line, one AVX-512 register


def aligned_empty(shape, dtype):
    """An uninitialised C-contiguous array whose data starts on a 64-byte boundary (numpy's own
    allocator gives 16). fastnn's kernels read rows of X and W with full-width vector loads; a
    load that straddles two cache lines costs twice (bench/flop_limit.py: up to ~20 % of an
    epoch), so the arrays fastnn allocates itself (parameters, converted or loaded data) start
    aligned; rows stay aligned when a row is a multiple of 64 bytes (784 float32 or float64)."""
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + SIMD_ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % SIMD_ALIGN
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def aligned_zeros(shape, dtype):
    """Zeros, 64-byte aligned (see aligned_empty): parameters and velocities."""
    out = aligned_empty(shape, dtype)
    out[...] = 0
    return out


def aligned_copy(arr, dtype, always=False):
    """arr as a C-contiguous `dtype` array: arr itself when it already is one (unless `always`),
    else a 64-byte aligned copy (see aligned_empty)."""
    dtype = np.dtype(dtype)
    if arr.dtype == dtype and arr.flags.c_contiguous and not always:
        return arr
    out = aligned_empty(arr.shape, dtype)
    np.copyto(out, arr, casting="unsafe")
    return out


def refuse_masked(a, name):
    """A numpy masked array is refused: np.asarray would silently drop its mask."""
    if isinstance(a, np.ma.MaskedArray):
        raise TypeError(
            f"{name}: a numpy masked array; its mask would be ignored (the masked values used as "
            f"they are): pass a plain array, e.g. without the masked rows or with them filled "
            f"(a.filled(value))"
        )


def _as_numeric(a, name):
    refuse_masked(a, name)
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name}: expected numeric array data, got {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name}: could not be converted to an array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric data (float, int or bool), got dtype {arr.dtype}")
    return arr


def to_sample_weight(w, name, n, dtype):
    """Per-row weights as a C-contiguous (n,) array of `dtype`, normalised to mean 1.

    Refused unless finite, >= 0 and not all zero. The normalisation makes a full-batch step follow
    the gradient of the weighted mean cost Σ w_i C_i / Σ w_i, with η keeping its meaning."""
    arr = _as_numeric(w, name)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(
            f"{name}: expected shape ({n},) (one weight per training row), got shape {arr.shape}"
        )
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name}: contains NaN or infinity (first at index {int(np.argmin(np.isfinite(arr)))})"
        )
    if n and arr.min() < 0:
        raise ValueError(f"{name}: expected weights >= 0, got {arr.min()} (at index {int(arr.argmin())})")
    with np.errstate(over="ignore", under="ignore"):
        total = float(arr.sum())
        if not total > 0:
            raise ValueError(f"{name}: expected at least one positive weight, got all zero")
        if not np.isfinite(total):
            raise ValueError(
                f"{name}: the weights' sum overflows (largest {arr.max():g}) when they are "
                f"normalised to mean 1; divide them all by a common factor"
            )
        scale = n / total
        out = np.ascontiguousarray(arr * scale, dtype=dtype)
    tiny = np.finfo(dtype).tiny  # the smallest normal number of the training dtype
    lost = (arr > 0) & ~(out >= tiny)
    if not np.isfinite(scale) or not np.all(np.isfinite(out)) or lost.any():
        i = int(np.argmax(lost)) if lost.any() else int(np.argmin(arr))
        raise ValueError(
            f"{name}: the weights underflow when normalised to mean 1 in {np.dtype(dtype).name} "
            f"(weight {arr[i]:g} at index {i}, mean {total / n:g}): too small, or too small "
            f"next to the others; multiply them all by a common factor or drop those rows"
        )
    return out


# ---- network2's lists of (x, y) pairs ----------------------------------------------------------
def split_data(data, name, sizes):
    """(X, y) from an (X, y) pair of arrays or from network2's sequence of (x, y) pairs."""
    expected = f"{name}: expected (X, y) arrays or a list of (x, y) pairs"
    if data is None:
        raise TypeError(f"{expected}, got None")
    # (X, y) unless BOTH items look like network2 (x, y) pairs: X as a 2-row nested list must not
    # be read as two pairs (it was, giving silently wrong costs for total_cost(X_list, y))
    if (
        isinstance(data, tuple)
        and len(data) == 2
        and not (is_example(data[0], sizes) and is_example(data[1], sizes))
    ):
        return data
    if isinstance(data, (str, bytes, np.ndarray)):
        raise TypeError(f"{expected}, got {type(data).__name__}")
    pairs = read_pairs(data, name, expected)
    if not pairs:
        return np.empty((0, sizes[0])), np.empty(0, dtype=np.intp)
    for i, p in enumerate(pairs):
        if not (isinstance(p, (tuple, list)) and len(p) == 2):
            raise TypeError(f"{expected}; item {i} is {type(p).__name__}")
    xs = [np.ravel(np.asarray(x)) for x, _ in pairs]
    widths = {x.size for x in xs}
    if len(widths) != 1:
        raise ValueError(f"{name}: expected every x to have {sizes[0]} values, got sizes {sorted(widths)}")
    X = np.stack(xs)
    ys = [np.asarray(y) for _, y in pairs]
    if all(y.size == 1 and y.ndim <= 1 and y.dtype.kind in "iu" for y in ys) or all(y.ndim == 0 for y in ys):
        y = np.array([y.item() for y in ys])
    else:
        y = np.stack([np.ravel(y) for y in ys])
    return X, y


def read_pairs(data, name, expected=None):
    """list(data); an iterator (zip, map, a generator) that yields nothing is an error: it was
    almost surely read up by an earlier call (Python 3's zip is one pass; network2 ran on Python 2,
    where zip made a list)."""
    try:
        pairs = list(data)
    except TypeError:
        what = expected or f"{name}: expected (X, y) arrays or a list of (x, y) pairs"
        raise TypeError(f"{what}, got {type(data).__name__}") from None
    if not pairs and isinstance(data, collections.abc.Iterator):
        raise ValueError(
            f"{name}: the {type(data).__name__} object gave no (x, y) pairs: it looks exhausted "
            f"(a zip, map or generator can be read only once, and an earlier call read it); "
            f"wrap it in list(...) once, e.g. data = list(zip(X, y))"
        )
    return pairs


def is_pairs(data, sizes):
    """Is `data` network2's list of (x, y) pairs (a list, a tuple of pairs, or an iterator such as
    zip) rather than an array or an (X, y) pair of arrays?"""
    if isinstance(data, list):
        return not data or is_example(data[0], sizes)
    if isinstance(data, tuple):
        if len(data) == 2:
            return is_example(data[0], sizes) and is_example(data[1], sizes)
        return bool(data) and is_example(data[0], sizes)
    return isinstance(data, collections.abc.Iterator)


def is_example(obj, sizes):
    """True for a network2 (x, y) pair (so a 2-tuple of pairs is a data list, not (X, y))."""
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2):
        return False
    try:
        return (
            np.size(obj[0]) == sizes[0]
            and np.ndim(obj[0]) in (1, 2)
            and (np.ndim(obj[0]) == 1 or np.shape(obj[0])[1] == 1)
        )
    except Exception:
        return False


def network2_xy(pairs, convert, vectors, method, sizes):
    """(X, y) from network2's (x, y) pairs for accuracy/total_cost; with `convert` given, y must be
    as it says (`vectors`: one-hot/target vectors, else int labels)."""
    if not isinstance(pairs, (list, tuple)):
        pairs = read_pairs(pairs, "data")  # zip/map/generator: read once
    X, y = split_data(pairs, "data", sizes)
    if convert is not None and sizes[-1] > 1 and len(y):
        is_vectors = np.ndim(y) == 2
        if is_vectors != vectors:
            have = "(k, 1) vectors" if is_vectors else "int labels"
            want = "vectors" if vectors else "int labels"
            raise ValueError(
                f"data: {method}(..., convert={bool(convert)}) reads y as {want} (network2's "
                f"meaning), but the y are {have}; pass convert={not bool(convert)}"
            )
    return X, y
