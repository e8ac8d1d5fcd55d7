"""The user's own data files, for ``fastnn train/evaluate/predict --data FILE`` and
``predict --input FILE``:

- ``.npz``: arrays ``X`` (n, d) and ``y`` (n,) int labels (``x``/``Y`` spellings too); for features
  only, the file's single array or the one named by ``key``;
- ``.npy``: one (n, d) array (features only);
- CSV or whitespace-separated text (any other name): one example per row; a first row that is not
  all numbers is a header. The label is the column named by ``label_column`` (a header name or a
  0-based index), else a column named label/labels/y/target/class, else the last column;
- ``-``: standard input, in any of these formats (detected from the first bytes).
"""

from __future__ import annotations

import io
import os
import sys

import numpy as np

__all__ = ["LABEL_NAMES", "load_file", "read_features"]

#: Header names taken for the label column when no label_column is given.
LABEL_NAMES = ("label", "labels", "y", "target", "class")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _raw(path):
    """(bytes, kind, name): the file's (or stdin's) content and format: 'npz', 'npy' or 'text'."""
    if path == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        name = os.fspath(path)
        with open(name, "rb") as f:
            data = f.read()
    if data.startswith(_ZIP_MAGIC):
        return data, "npz", name
    if data.startswith(_NPY_MAGIC):
        return data, "npy", name
    return data, "text", name


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_text(data, name):
    """(header or None, (n, k) float array) from CSV / whitespace-separated text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: not text (not UTF-8 at byte {e.start}) nor .npy/.npz") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{name}: empty file")
    delimiter = "," if "," in lines[0] else None
    first = [c.strip().strip('"') for c in (lines[0].split(delimiter) if delimiter else lines[0].split())]
    header = None
    if not all(_is_number(c) for c in first):
        header, lines = first, lines[1:]
        if not lines:
            raise ValueError(f"{name}: a header row and no data")
    try:
        table = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=delimiter, ndmin=2, dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{name}: cannot read the rows as numbers: {str(e).splitlines()[0]}") from None
    if header is not None and len(header) != table.shape[1]:
        raise ValueError(f"{name}: the header has {len(header)} columns, the rows {table.shape[1]}")
    return header, table


def _npz(data, name):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError) as e:
        raise ValueError(f"{name}: not a valid .npz file: {str(e).splitlines()[0]}") from None


def _pick(arrays, names, name, what):
    for k in names:
        if k in arrays:
            return arrays[k]
    raise ValueError(
        f"{name}: expected an array named {' or '.join(map(repr, names))} ({what}); "
        f"the file has {sorted(arrays) or 'no arrays'}"
    )


def _labels(y, name):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name}: expected labels of shape (n,), got {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"{name}: labels must be integers 0, 1, 2, ...")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"{name}: labels must be integers 0, 1, 2, ..., got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {y.min()}")
    return y


def _features(X, name):
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (n, d) of examples, got shape {X.shape}")
    if X.dtype.kind not in "iufb":
        raise ValueError(f"{name}: expected numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        row = int(np.argwhere(~np.isfinite(X))[0][0])
        raise ValueError(f"{name}: contains NaN or infinity (row {row})")
    return X


def load_file(path, *, label_column=None):
    """``(X, y, note)`` from a .npz or CSV/text file (or ``"-"``, stdin): X float64 (n, d), y int64
    labels (n,), note saying where the labels came from. Raises ValueError naming the file."""
    data, kind, name = _raw(path)
    if kind == "npz":
        arrays = _npz(data, name)
        X = _pick(arrays, ("X", "x"), name, "the examples")
        y = _pick(arrays, ("y", "Y", "labels"), name, "the labels")
        note = "arrays X and y"
    elif kind == "npy":
        raise ValueError(
            f"{name}: a .npy file holds one array; training needs examples and labels: "
            f"use a .npz with X and y, or a CSV with a label column"
        )
    else:
        header, table = _read_text(data, name)
        col = _label_index(header, table.shape[1], label_column, name)
        y = table[:, col]
        X = np.delete(table, col, axis=1)
        if header is not None:
            note = f"labels from column {header[col]!r}"
        else:
            note = "labels from the last column" if col == table.shape[1] - 1 else f"labels from column {col}"
    X, y = _features(X, name), _labels(y, name)
    if len(X) != len(y):
        raise ValueError(f"{name}: {len(X)} examples but {len(y)} labels")
    if len(X) == 0:
        raise ValueError(f"{name}: no examples")
    return X, y, note


def _label_index(header, n_cols, label_column, name):
    if n_cols < 2:
        raise ValueError(f"{name}: expected at least 2 columns (features and a label), got {n_cols}")
    if label_column is None:
        if header is not None:
            for i, h in enumerate(header):
                if h.lower() in LABEL_NAMES:
                    return i
        return n_cols - 1
    if isinstance(label_column, str) and not label_column.lstrip("-").isdigit():
        if header is None:
            raise ValueError(
                f"{name}: label column {label_column!r} asked for, but the file has no "
                f"header row; give a column number instead"
            )
        if label_column not in header:
            raise ValueError(f"{name}: no column named {label_column!r}; the header has {header}")
        return header.index(label_column)
    i = int(label_column)
    if not -n_cols <= i < n_cols:
        raise ValueError(f"{name}: label column {i} out of range for {n_cols} columns")
    return i % n_cols


def read_features(path, n_inputs=None, *, key=None):
    """Examples (n, d) float64 from .npy, .npz (its single array, or ``key``), CSV/text with or
    without a header row, or ``"-"`` (stdin). With ``n_inputs``: a text file with exactly one
    column more (a label column, named as :data:`LABEL_NAMES` or the last) has it dropped."""
    data, kind, name = _raw(path)
    if key is not None and kind != "npz":
        raise ValueError(f"{name}: key={key!r} is for .npz files")
    if kind == "npz":
        arrays = _npz(data, name)
        if key is not None:
            if key not in arrays:
                raise ValueError(f"{name}: no array named {key!r}; the file has {sorted(arrays)}")
            X = arrays[key]
        elif len(arrays) == 1:
            X = next(iter(arrays.values()))
        elif "X" in arrays or "x" in arrays:
            X = arrays.get("X", arrays.get("x"))
        else:
            raise ValueError(
                f"{name}: the file has several arrays {sorted(arrays)}; choose one with --key NAME"
            )
    elif kind == "npy":
        _check_npy_header(data, name)
        try:
            X = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError) as e:
            raise ValueError(f"{name}: not a valid .npy file: {str(e).splitlines()[0]}") from None
    else:
        header, X = _read_text(data, name)
        if n_inputs is not None and X.shape[1] == n_inputs + 1:
            X = np.delete(X, _label_index(header, X.shape[1], None, name), axis=1)
    return _features(X, name)


def _check_npy_header(data, name):
    """The shape a .npy header claims must fit in the bytes there (no huge allocation first)."""
    from numpy.lib import format as npformat

    f = io.BytesIO(data)
    try:
        version = npformat.read_magic(f)
        shape, _, dtype = (
            npformat.read_array_header_1_0(f) if version == (1, 0) else npformat.read_array_header_2_0(f)
        )
    except (ValueError, OSError, SyntaxError, TypeError) as e:
        raise ValueError(f"{name}: not a valid .npy file: {str(e).splitlines()[0]}") from None
    if dtype.hasobject:
        raise ValueError(f"{name}: expected numbers, got dtype {dtype}")
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if claimed > len(data) - f.tell():
        raise ValueError(
            f"{name}: the header claims shape {shape} of {dtype} = {claimed:,} bytes, "
            f"the file holds {len(data) - f.tell():,}"
        )
