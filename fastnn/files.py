"""The user's own data files, for ``fastnn train/evaluate/predict --data FILE`` and
``predict --input FILE``:

- ``.npz``: arrays ``X`` (n, d) and ``y`` (n,) labels (``x``/``Y`` spellings too); for features
  only, the file's single array or the one named by ``key``;
- ``.npy``: one (n, d) array (features only);
- CSV or whitespace-separated text (any other name): one example per row; a header row is
  recognised by a name above a number (or np.savetxt's ``# a,b,c``). The label is the column named
  by ``label_column`` (a header name or a 0-based index), else a column named
  label/labels/y/target/class, else the last column;
- ``-``: standard input, in any of these formats (detected from the first bytes).

Labels are integers (any value, negative too) or class names (iris's ``setosa``): the classes are
the distinct labels present, sorted, at most :data:`MAX_CLASSES`; class k of a network trained on
the file is ``classes[k]`` (one mapping, stored in the model file by ``fastnn train``).

Text files are read by numpy's C reader (``np.loadtxt``) from the file itself, straight into the
final dtype: the peak memory is about the examples' array plus a small buffer (measured: at most
3x the file's size for values written with a few digits, see ``tests/test_csv_memory.py``; a file
of one-digit values holds 2 bytes a value, so its float64 array alone is 4x the file).
"""

from __future__ import annotations

import io
import os
import sys
import tokenize
import zipfile
import zlib
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

__all__ = ["LABEL_NAMES", "MAX_CLASSES", "Labelled", "load_file", "read_features", "read_labelled"]

#: Header names taken for the label column when no label_column is given.
LABEL_NAMES = ("label", "labels", "y", "target", "class")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _raw(path):
    """(bytes, kind, name): the file's (or stdin's) content and format: 'npz', 'npy' or 'text'.
    A text file is not read here (``bytes`` is None): the CSV reader streams it."""
    if path == "-":
        data, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        name = os.fspath(path)
        with open(name, "rb") as f:
            magic = f.read(len(_NPY_MAGIC))
            if not magic.startswith((_ZIP_MAGIC, _NPY_MAGIC)):
                return None, "text", name
            data = magic + f.read()
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


class _Table:
    """A CSV / whitespace-separated text file, read by numpy's C reader (``np.loadtxt``) straight
    into the final arrays: the file is streamed (never held whole in memory, never split into
    Python strings), the features go into their final dtype, the label column is read on its own.

    Attributes: ``header`` (list of names or None), ``n_cols``, ``delimiter``, ``skip`` (lines
    before the first data row)."""

    def __init__(self, data, name):
        self.data, self.name = data, name
        lines = []  # the first two non-blank lines, with their line numbers
        try:
            with self._open() as f:
                for number, line in enumerate(f):
                    if line.strip():
                        lines.append((number, line.strip()))
                        if len(lines) == 2:
                            break
        except UnicodeDecodeError as e:
            raise ValueError(f"{name}: not text (not UTF-8 at byte {e.start}) nor .npy/.npz") from None
        if not lines:
            raise ValueError(f"{name}: empty file")
        first = lines[0][1]
        commented = first.startswith("#")  # np.savetxt's header: "# a,b,c"
        if commented:
            first = first.lstrip("#").strip()
        self.delimiter = "," if "," in first else None
        fields = self._split(first)
        second = self._split(lines[1][1]) if len(lines) > 1 else None
        # a header: a commented first line, or a first row with a name where the next row has a
        # number (a row of data may hold names: string labels such as iris's 'setosa')
        if commented or (
            not all(map(_is_number, fields))
            and (second is None or any(not _is_number(a) and _is_number(b) for a, b in zip(fields, second)))
        ):
            self.header = fields
            self.skip = lines[0][0] + 1
            if second is None:
                raise ValueError(f"{name}: a header row and no data")
            self.n_cols = len(second)
            if len(fields) != self.n_cols:
                raise ValueError(f"{name}: the header has {len(fields)} columns, the rows {self.n_cols}")
        else:
            self.header, self.skip, self.n_cols = None, 0, len(fields)

    def _split(self, line):
        parts = line.split(self.delimiter) if self.delimiter else line.split()
        return [c.strip().strip('"') for c in parts]

    def _open(self):
        if self.data is None:
            return open(self.name, encoding="utf-8-sig", newline=None)
        return io.TextIOWrapper(io.BytesIO(self.data), encoding="utf-8-sig")

    def column_name(self, i):
        """'column 3 ('digit')' or 'column 3' (0-based)."""
        return f"column {i}" + (f" ({self.header[i]!r})" if self.header is not None else "")

    def read(self, columns, dtype, *, label=None):
        """The given columns as an (n, len(columns)) array of dtype (1-D for dtype=str)."""
        import re

        with self._open() as f:
            try:
                return np.loadtxt(
                    f,
                    dtype=dtype,
                    delimiter=self.delimiter,
                    skiprows=self.skip,
                    usecols=columns,
                    ndmin=1 if dtype is str else 2,
                    quotechar='"' if self.delimiter else None,
                )
            except UnicodeDecodeError as e:
                raise ValueError(
                    f"{self.name}: not text (not UTF-8 at byte {e.start}) nor .npy/.npz"
                ) from None
            except ValueError as e:
                text = str(e).splitlines()[0] if str(e) else type(e).__name__
                m = re.match(r"could not convert string '(.*)' to \w+ at row (\d+), column (\d+)", text)
                if m is None:
                    raise ValueError(f"{self.name}: cannot read the rows as numbers: {text}") from None
                value, row, col = m.group(1), int(m.group(2)), int(m.group(3)) - 1
                message = (
                    f"{self.name}: cannot read the rows as numbers: {self.column_name(col)} holds "
                    f"{value!r} (data row {row})"
                )
                if label is not None:
                    ref = self.header[col] if self.header is not None else col
                    message += (
                        f"; the label was taken from {self.column_name(label)}: if the labels are "
                        f"in {self.column_name(col)}, give label_column={ref!r} (--label-column {ref})"
                    )
                raise ValueError(message) from None


#: At most this many classes (distinct labels) in a data file: more is almost surely not a label column.
MAX_CLASSES = 10_000


class Labelled(NamedTuple):
    """A data file read for training or evaluation (:func:`read_labelled`)."""

    X: np.ndarray
    """(n, d) examples, C-contiguous, of the dtype asked for"""
    y: np.ndarray
    """(n,) int64 class indices: the label of row i is ``classes[y[i]]``"""
    classes: list
    """the original labels (ints or strings), one per class, sorted"""
    label_column: dict | None
    """``{"name": header name or None, "index": 0-based, "columns": n}`` for a text file"""
    note: str
    """where the labels came from, for a report line"""


def _class_values(raw, name, where, label_hint):
    """(classes, inverse) of a label vector: ints (any size) or strings; raises ValueError."""
    raw = np.asarray(raw)
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw[:, 0]
    if raw.ndim != 1:
        raise ValueError(f"{name}: expected labels of shape (n,), got {raw.shape}")
    if raw.dtype.kind in "US":
        texts = np.char.strip(raw.astype(str))
        try:
            values = texts.astype(np.float64)
        except ValueError:  # names: 'setosa', 'cat', ...
            classes, inverse = np.unique(texts, return_inverse=True)
            return [str(c) for c in classes], inverse, texts
        raw = values
    else:
        texts = None
    if raw.dtype.kind == "f":
        bad = ~np.isfinite(raw) | (raw != np.round(raw))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{name}: labels must be integers 0, 1, 2, ... or class names, got {float(raw[i]):g} "
                f"(row {i}) in {where}{label_hint}"
            )
    elif raw.dtype.kind not in "iub":
        raise ValueError(
            f"{name}: labels must be integers 0, 1, 2, ... or class names, got dtype {raw.dtype}"
        )
    classes, inverse = np.unique(raw, return_inverse=True)
    values = []
    for k, c in enumerate(classes):
        if raw.dtype.kind == "f" and abs(c) >= 2**53 and texts is not None:
            text = texts[int(np.argmax(inverse == k))]  # exact digits of a huge integer label
            try:
                values.append(int(text))
                continue
            except ValueError:
                pass
        values.append(int(c))
    return values, inverse, None


def _check_classes(classes, name, where, label_hint):
    if len(classes) > MAX_CLASSES:
        raise ValueError(
            f"{name}: {len(classes):,} distinct labels in {where}: more than {MAX_CLASSES:,} "
            f"classes is refused (a network output per class){label_hint}"
        )


def _to_known_classes(values, inverse, known, name, where):
    """Class indices of the labels in the mapping ``known`` (a model's classes)."""
    index = {(type(c) is str, c): i for i, c in enumerate(known)}
    codes = np.empty(len(values), dtype=np.int64)
    unknown = []
    for k, v in enumerate(values):
        i = index.get((type(v) is str, v))
        if i is None:
            unknown.append(v)
        codes[k] = -1 if i is None else i
    if unknown:
        raise ValueError(
            f"{name}: labels {unknown[:10]} in {where} are not among the model's classes {list(known)[:20]}"
            + (" ..." if len(known) > 20 else "")
        )
    return codes[inverse]


def read_labelled(path, *, label_column=None, dtype=np.float64, classes=None, remembered=None):
    """A data file of examples and labels as :class:`Labelled`.

    Parameters
    ----------
    path : str or os.PathLike or "-"
        .npz (arrays X and y) or CSV/whitespace-separated text (header row optional), or ``"-"``.
    label_column : str or int, optional
        The text file's label column: a header name or a 0-based index (negative counts from the end).
    dtype : the examples' dtype (float64 or float32), read straight into it.
    classes : list, optional
        A trained model's classes: the labels are mapped to these (an unknown label is an error);
        default: the labels present, sorted (at most :data:`MAX_CLASSES`).
    remembered : dict, optional
        A model's ``label_column`` (name, index, columns), used when ``label_column`` is not given:
        the column of that name when the header has it, else that index.
    """
    dtype = np.dtype(dtype)
    data, kind, name = _raw(path)
    label_info = None
    if kind == "npz":
        arrays = _npz(data, name)
        X = _pick(arrays, ("X", "x"), name, "the examples")
        raw = _pick(arrays, ("y", "Y", "labels"), name, "the labels")
        note, where, hint = "arrays X and y", "array y", ""
        X = _features(X, name, dtype)
    elif kind == "npy":
        raise ValueError(
            f"{name}: a .npy file holds one array; training needs examples and labels: "
            f"use a .npz with X and y, or a CSV with a label column"
        )
    else:
        table = _Table(data, name)
        col = _label_index(table.header, table.n_cols, label_column, name, remembered)
        label_info = {
            "name": table.header[col] if table.header is not None else None,
            "index": col,
            "columns": table.n_cols,
        }
        where = table.column_name(col)
        note = f"labels from {where}"
        if label_column is None and remembered is None:
            hint = "; is that the label column? Give label_column= (--label-column NAME|INDEX)"
        else:
            hint = ""
        raw = table.read([col], str)
        X = table.read([i for i in range(table.n_cols) if i != col], dtype, label=col)
        X = _features(X, name, dtype)
    values, inverse, _ = _class_values(raw, name, where, hint)
    _check_classes(values, name, where, hint)
    if len(X) != len(inverse):
        raise ValueError(f"{name}: {len(X)} examples but {len(inverse)} labels")
    if len(X) == 0:
        raise ValueError(f"{name}: no examples")
    if classes is None:
        y = np.ascontiguousarray(inverse, dtype=np.int64)
        classes = values
    else:
        y = _to_known_classes(values, inverse, classes, name, where)
    return Labelled(X, y, list(classes), label_info, note)


# What reading a damaged archive or header can raise besides ValueError/OSError.
_ARCHIVE_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    SyntaxError,
    TypeError,
    KeyError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted member
    RecursionError,
    zlib.error,
    tokenize.TokenError,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
)


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


class _NpzArrays(Mapping):
    """The arrays of a .npz, read lazily (only those asked for): every member's .npy header is
    checked first, before anything is decompressed (dtype, and a claimed size that fits in the
    member's compressed bytes and under :func:`fastnn.data.max_decompressed_bytes`); a member is
    then decompressed into an array of exactly the claimed size, never more."""

    def __init__(self, data, name):
        from ._decompression_limits import max_decompressed_bytes

        self.name = name
        self.limit = max_decompressed_bytes()
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except _ARCHIVE_ERRORS as e:
            raise ValueError(f"{name}: not a valid .npz file: {_first_line(e)}") from None
        self.members = {}
        total = 0
        for info in infos:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            claimed = self._check_member(info)
            total += claimed
            self.members[key] = info
        if total > self.limit:
            raise ValueError(
                f"{name}: its arrays claim {total:,} bytes in all, more than the {self.limit:,} "
                f"allowed (set FASTNN_MAX_DECOMPRESSED to allow more)"
            )

    def _check_member(self, info):
        """The member's claimed array size in bytes, after checking its header."""
        from numpy.lib import format as npformat

        from ._decompression_limits import DEFLATE_MAX_RATIO

        name, member = self.name, info.filename
        try:
            with self.zip.open(info) as f:
                version = npformat.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = npformat.read_array_header_1_0(f)
                else:
                    shape, _, dtype = npformat.read_array_header_2_0(f)
        except _ARCHIVE_ERRORS as e:
            raise ValueError(
                f"{name}: member {member!r} is not a valid .npy array: {_first_line(e)}"
            ) from None
        if dtype.hasobject:
            raise ValueError(f"{name}: member {member!r}: expected numbers, got dtype {dtype}")
        claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
        room = info.compress_size * DEFLATE_MAX_RATIO if info.compress_type else info.compress_size
        if claimed > room or claimed > info.file_size:
            raise ValueError(
                f"{name}: member {member!r} claims shape {shape} of {dtype} = {claimed:,} bytes, "
                f"more than its {info.compress_size:,} compressed bytes can hold"
            )
        if claimed > self.limit:
            raise ValueError(
                f"{name}: member {member!r} claims shape {shape} of {dtype} = {claimed:,} bytes, "
                f"more than the {self.limit:,} allowed (set FASTNN_MAX_DECOMPRESSED to allow more)"
            )
        return claimed

    def __getitem__(self, key):
        info = self.members[key]
        try:
            with self.zip.open(info) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except MemoryError:
            raise ValueError(
                f"{self.name}: not enough memory for member {info.filename!r} "
                f"({info.file_size:,} bytes decompressed)"
            ) from None
        except _ARCHIVE_ERRORS as e:
            raise ValueError(
                f"{self.name}: member {info.filename!r} is not a valid .npy array: {_first_line(e)}"
            ) from None

    def __contains__(self, key):  # without reading the member (Mapping's default would)
        return key in self.members

    def __iter__(self):
        return iter(self.members)

    def __len__(self):
        return len(self.members)


def _npz(data, name):
    """The .npz's arrays, a read-only mapping read lazily (see :class:`_NpzArrays`)."""
    return _NpzArrays(data, name)


def _pick(arrays, names, name, what):
    for k in names:
        if k in arrays:
            return arrays[k]
    raise ValueError(
        f"{name}: expected an array named {' or '.join(map(repr, names))} ({what}); "
        f"the file has {sorted(arrays) or 'no arrays'}"
    )


def _features(X, name, dtype=np.float64):
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (n, d) of examples, got shape {X.shape}")
    if X.dtype.kind not in "iufb":
        raise ValueError(f"{name}: expected numbers, got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=dtype)
    bad = _first_non_finite_row(X)
    if bad is not None:
        raise ValueError(f"{name}: contains NaN or infinity (row {bad})")
    return X


def _first_non_finite_row(X, block=4096):
    """The first row holding NaN/inf, or None; checked in blocks (no full-size boolean array)."""
    for r0 in range(0, len(X), block):
        part = X[r0 : r0 + block]
        if not np.isfinite(part).all():
            return r0 + int(np.argwhere(~np.isfinite(part))[0][0])
    return None


def load_file(path, *, label_column=None):
    """``(X, y, note)`` from a .npz or CSV/text file (or ``"-"``, stdin): X float64 (n, d), y the
    labels (n,) as in the file (int64, or strings for class names), note saying where the labels
    came from. Raises ValueError naming the file. See :func:`read_labelled` for the class mapping."""
    d = read_labelled(path, label_column=label_column)
    if all(isinstance(c, str) for c in d.classes):
        labels = np.asarray(d.classes, dtype=str)
    elif all(-(2**63) <= c < 2**63 for c in d.classes):
        labels = np.asarray(d.classes, dtype=np.int64)
    else:
        labels = np.asarray(d.classes, dtype=object)
    return d.X, labels[d.y], d.note


def _label_index(header, n_cols, label_column, name, remembered=None):
    if n_cols < 2:
        raise ValueError(f"{name}: expected at least 2 columns (features and a label), got {n_cols}")
    if label_column is None and remembered is not None:
        if header is not None and remembered.get("name") in header:
            return header.index(remembered["name"])
        if remembered.get("index", n_cols) < n_cols:
            return int(remembered["index"])
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


def read_features(path, n_inputs=None, *, key=None, label_column=None, remembered=None, dtype=np.float64):
    """Examples (n, d) from .npy, .npz (its single array, or ``key``), CSV/text with or without a
    header row, or ``"-"`` (stdin).

    With ``n_inputs`` (a model's input width), a text file's rows must hold either ``n_inputs``
    values or one more, a label column, which is dropped: ``label_column`` (a header name or a
    0-based index), else the model's ``remembered`` label column (its name in the header, else its
    position), else a column named as :data:`LABEL_NAMES`, else the last. Any other width, or
    ``label_column`` with rows of exactly ``n_inputs`` values, is a ValueError."""
    data, kind, name = _raw(path)
    if key is not None and kind != "npz":
        raise ValueError(f"{name}: key={key!r} is for .npz files")
    if label_column is not None and kind != "text":
        raise ValueError(f"{name}: a label column is for CSV/text files, this is a .{kind}")
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
        except _ARCHIVE_ERRORS as e:
            raise ValueError(f"{name}: not a valid .npy file: {_first_line(e)}") from None
    else:
        table = _Table(data, name)
        columns = list(range(table.n_cols))
        if n_inputs is not None:
            if table.n_cols == n_inputs + 1:
                col = _label_index(table.header, table.n_cols, label_column, name, remembered)
                columns.remove(col)
            elif table.n_cols != n_inputs:
                raise ValueError(
                    f"{name}: rows of {table.n_cols} values, but the model takes {n_inputs} inputs "
                    f"(or {n_inputs + 1} values with a label column, which is dropped)"
                )
            elif label_column is not None:
                raise ValueError(
                    f"{name}: label column {label_column!r} asked for, but the rows hold "
                    f"{n_inputs} values, the model's inputs alone"
                )
        elif label_column is not None:
            columns.remove(_label_index(table.header, table.n_cols, label_column, name))
        X = table.read(columns, dtype)
    return _features(X, name, dtype)


def _check_npy_header(data, name):
    """The shape a .npy header claims must fit in the bytes there (no huge allocation first)."""
    from numpy.lib import format as npformat

    f = io.BytesIO(data)
    try:
        version = npformat.read_magic(f)
        shape, _, dtype = (
            npformat.read_array_header_1_0(f) if version == (1, 0) else npformat.read_array_header_2_0(f)
        )
    except _ARCHIVE_ERRORS as e:
        raise ValueError(f"{name}: not a valid .npy file: {_first_line(e)}") from None
    if dtype.hasobject:
        raise ValueError(f"{name}: expected numbers, got dtype {dtype}")
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if claimed > len(data) - f.tell():
        raise ValueError(
            f"{name}: the header claims shape {shape} of {dtype} = {claimed:,} bytes, "
            f"the file holds {len(data) - f.tell():,}"
        )
