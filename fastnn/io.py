"""Saving and loading networks: network2's JSON format plus fastnn's own fields.

A file written by :func:`save` looks like this (weights abridged)::

    {"format": "fastnn.Network", "version": 1, "fastnn_version": "0.1.0",
     "sizes": [784, 30, 10], "cost": "CrossEntropyCost",
     "output": "sigmoid", "hidden": "sigmoid", "weight_init": "default", "dtype": "float64",
     "weights": [[[...784 floats...], ...30 rows...], [...]],
     "biases": [[[0.12], [-0.3], ...], ...]}

``sizes``, ``weights``, ``biases`` and ``cost`` are exactly what Nielsen's ``network2.save`` writes:
weights[l] is a nested list of shape (sizes[l+1], sizes[l]), biases[l] a column vector (sizes[l+1], 1) and
``cost`` the cost's class name. So network2's ``load`` reads a fastnn file (for its two costs), and
:func:`load` reads a file written by network2 (no ``format`` field: sigmoid everywhere, float64).

Floats are written losslessly: float64 with Python's shortest round-trip ``repr``; float32 with the
shortest decimal that reads back to the same float32 (checked element by element, falling back to the
exact float64 value of the float32 when needed).

Writes are atomic: the JSON goes to a temporary file in the target's directory, is fsync'ed, then
``os.replace``'d over the target. A crash or an exception mid-save leaves the previous file untouched and
removes the temporary file.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING

import numpy as np

from ._vocabulary import (COST_CLASS_NAMES, DTYPES, HIDDEN, OUTPUTS, WEIGHT_INITS, check_pairing,
                          cost_name, problem)

if TYPE_CHECKING:
    from ._typing import PathLike
    from .network import Network

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION"]

#: value of the ``format`` field that marks a fastnn file
FORMAT = "fastnn.Network"
#: version of the file layout; bumped on an incompatible change
FORMAT_VERSION = 1

# fastnn cost names -> the network2 class names the files store
_COST_NAME_TO_CLASS = {name: cls for cls, name in COST_CLASS_NAMES.items()}


# --------------------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------------------
def _current_umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no read-only query exists; set and restore at once
    os.umask(mask)
    return mask


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, fsync, ``os.replace``.

    On any failure (including KeyboardInterrupt) the temporary file is removed and the previous
    content of ``path``, if any, is left intact. A symlink at ``path`` is followed (its target is
    replaced). The new file gets the old file's permission bits, or 0o666 minus the umask.
    """
    path = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    # make the rename itself durable (best effort: not every platform/filesystem allows it)
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_write_text(path: PathLike, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------------------
def _lossless_floats(a: np.ndarray):
    """Nested lists of Python floats that read back (with the array's dtype) to exactly ``a``."""
    if a.dtype == np.float64:
        return a.tolist()  # json writes repr(float): shortest round-trip
    if a.dtype == np.float32:
        short = a.astype(str).astype(np.float64)  # shortest float32 decimals, parsed as float64
        bad = short.astype(np.float32) != a
        if bad.any():  # double rounding near a float32 midpoint: use the exact value instead
            short[bad] = a[bad].astype(np.float64)
        return short.tolist()
    return a.astype(np.float64).tolist()


def to_dict(net: Network) -> dict:
    """The JSON-ready dict that :func:`save` writes for ``net``."""
    from ._version import __version__

    try:
        cost = cost_name(net.cost)
    except ValueError:
        raise ValueError(f"cannot save: unknown cost {net.cost!r} (only the built-in costs are "
                         f"stored in a model file)") from None
    sizes = [int(s) for s in net.sizes]
    dtype = np.dtype(net.dtype)
    if dtype.name not in DTYPES:
        raise ValueError(f"cannot save: unsupported dtype {dtype.name!r}")
    weights, biases = [], []
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        w = np.asarray(w)
        b = np.asarray(b).reshape(-1)
        for field, arr in ((f"weights[{l}]", w), (f"biases[{l}]", b)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"cannot save: {field} contains NaN or infinite values")
        weights.append(_lossless_floats(w))
        biases.append(_lossless_floats(b.reshape(-1, 1)))  # network2's column vectors
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "fastnn_version": __version__,
        "sizes": sizes,
        "cost": _COST_NAME_TO_CLASS[cost],
        "output": str(net.output),
        "hidden": str(net.hidden),
        "weight_init": str(getattr(net, "weight_init", "default")),
        "dtype": dtype.name,
        "weights": weights,
        "biases": biases,
    }


def save(net: Network, path: PathLike) -> None:
    """Save ``net`` to ``path`` as JSON (network2's fields + fastnn's), atomically."""
    text = json.dumps(to_dict(net), separators=(",", ":"), allow_nan=False)
    atomic_write_text(path, text + "\n")


# --------------------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------------------
class _Bad(Exception):
    def __init__(self, field, problem):
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _choice(data, field, choices, default):
    if field not in data:
        return default
    value = data[field]
    if not isinstance(value, str) or value not in choices:
        raise _Bad(field, f"expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _array(value, field, shapes, dtype):
    """``value`` as a finite array of ``dtype`` whose shape is one of ``shapes`` (first one = canonical)."""
    if not isinstance(value, list):
        raise _Bad(field, f"expected a nested list of numbers, got {type(value).__name__}")
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError):
        raise _Bad(field, "ragged nested list (rows of different lengths)") from None
    if raw.dtype.kind not in "iuf" or raw.dtype == object:
        if raw.dtype.kind == "b":
            raise _Bad(field, "expected numbers, got booleans")
        raise _Bad(field, "expected numbers only (found strings, nulls, objects or ragged rows)")
    if raw.shape not in shapes:
        expected = " or ".join(str(s) for s in shapes)
        raise _Bad(field, f"expected shape {expected}, got {raw.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        arr = raw.astype(dtype)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = "".join(f"[{i}]" for i in bad)
        raise _Bad(field + where, f"not a finite {np.dtype(dtype).name} value: {raw[tuple(bad)]!r}")
    return arr.reshape(shapes[0])


def _parse(data):
    """Validate a decoded model file; returns the constructor kwargs, weights and biases."""
    if not isinstance(data, dict):
        raise _Bad("top level", f"expected a JSON object, got {type(data).__name__}")
    is_fastnn = "format" in data
    if is_fastnn and data["format"] != FORMAT:
        raise _Bad("format", f"expected {FORMAT!r}, got {data['format']!r}")
    if is_fastnn or "version" in data:
        if "version" not in data:
            raise _Bad("version", "missing")
        version = data["version"]
        if not _is_int(version) or version != FORMAT_VERSION:
            raise _Bad("version", f"unsupported version {version!r} (this fastnn reads version "
                                  f"{FORMAT_VERSION}; a newer fastnn may read it)")
    for field in ("sizes", "weights", "biases", "cost"):
        if field not in data:
            raise _Bad(field, "missing")

    sizes = data["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise _Bad("sizes", f"expected a list of at least 2 layer sizes, got {sizes!r}")
    for i, s in enumerate(sizes):
        if not _is_int(s) or s < 1:
            raise _Bad(f"sizes[{i}]", f"expected a positive integer, got {s!r}")

    cost_cls = data["cost"]
    if not isinstance(cost_cls, str) or cost_cls not in COST_CLASS_NAMES:
        raise _Bad("cost", f"expected one of {', '.join(map(repr, COST_CLASS_NAMES))}, "
                           f"got {cost_cls!r}")
    cost = COST_CLASS_NAMES[cost_cls]
    output = _choice(data, "output", OUTPUTS, None)
    try:
        cost, output = check_pairing(cost, output)
    except ValueError as exc:
        raise _Bad("output", problem(exc)) from None
    hidden = _choice(data, "hidden", HIDDEN, "sigmoid")
    weight_init = _choice(data, "weight_init", WEIGHT_INITS, "default")
    dtype = np.dtype(_choice(data, "dtype", DTYPES, "float64"))
    if "fastnn_version" in data and not isinstance(data["fastnn_version"], str):
        raise _Bad("fastnn_version", f"expected a string, got {data['fastnn_version']!r}")

    n_layers = len(sizes) - 1
    weights, biases = [], []
    for field, out in (("weights", weights), ("biases", biases)):
        value = data[field]
        if not isinstance(value, list):
            raise _Bad(field, f"expected a list of {n_layers} arrays, got {type(value).__name__}")
        if len(value) != n_layers:
            raise _Bad(field, f"expected {n_layers} arrays for sizes {sizes}, got {len(value)}")
    for l in range(n_layers):
        n_out, n_in = sizes[l + 1], sizes[l]
        weights.append(_array(data["weights"][l], f"weights[{l}]", [(n_out, n_in)], dtype))
        biases.append(_array(data["biases"][l], f"biases[{l}]", [(n_out,), (n_out, 1)], dtype))
    kwargs = dict(cost=cost, output=output, hidden=hidden, weight_init=weight_init, dtype=dtype)
    return sizes, kwargs, weights, biases


def load(path: PathLike) -> Network:
    """Load a network saved by :func:`save` / ``Network.save`` or by Nielsen's ``network2.save``.

    Raises ``ValueError("<path>: ... <field>: <problem>")`` naming the first bad field for anything
    that is not a valid model file (not JSON, truncated, unknown cost, wrong version, wrong shapes
    or layer count, NaN/inf values, ...). ``OSError`` (e.g. FileNotFoundError) passes through.
    """
    from .network import Network

    name = os.fspath(path)
    with open(name, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")  # tolerate a byte-order mark
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: not a fastnn/network2 model file: not UTF-8 text ({e.reason} "
                         f"at byte {e.start})") from None
    if not text.strip():
        raise ValueError(f"{name}: not a fastnn/network2 model file: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        stripped = text.rstrip()
        truncated = e.pos >= len(stripped) - 1 or not stripped.endswith(("}", "]"))
        hint = " (truncated?)" if truncated else ""
        raise ValueError(f"{name}: not a fastnn/network2 model file: invalid JSON{hint}: "
                         f"{e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise ValueError(f"{name}: not a fastnn/network2 model file: JSON nested too deeply") from None
    try:
        sizes, kwargs, weights, biases = _parse(data)
    except _Bad as e:
        raise ValueError(f"{name}: invalid model file: {e.field}: {e.problem}") from None
    try:
        net = Network(sizes, **kwargs)
        net.weights = weights
        net.biases = biases
    except (ValueError, TypeError) as e:  # e.g. a (cost, output) pair the Network refuses
        raise ValueError(f"{name}: invalid model file: {e}") from None
    return net
