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

Every file fastnn writes goes through :func:`write_output` (in :mod:`fastnn._output_files`,
re-exported here): atomic for regular files (the JSON goes to
a temporary file in the target's directory, is fsync'ed, then ``os.replace``'d over the target; a
crash or an exception mid-save leaves the previous file untouched and removes the temporary file);
``-``/``/dev/stdout``/``/dev/fd/N`` are written to the inherited descriptor; character devices and
FIFOs straight through (never replaced).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np

from . import _state

# writing a model file (re-exported: fastnn.io.save is its public name; Network.save imports it
# from there, so that this module may import Network for load without a cycle)
from ._model_writer import FORMAT, FORMAT_VERSION, save
from ._model_writer import to_dict as to_dict

# the writer of every output file, re-exported: fastnn.io.write_output is its public name (and the
# command line checks its outputs with these, as fio.output_target / output_identity / descriptor_of)
from ._output_files import atomic_write_bytes, atomic_write_text, write_output
from ._output_files import descriptor_of as descriptor_of
from ._output_files import output_identity as output_identity
from ._output_files import output_target as output_target
from ._validation import aligned_copy
from ._vocabulary import (
    COST_CLASS_NAMES,
    DTYPES,
    HIDDEN,
    OUTPUTS,
    WEIGHT_INITS,
    check_pairing,
    problem,
)

if TYPE_CHECKING:
    from ._typing import PathLike
    from .network import Network

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "atomic_write_bytes",
    "atomic_write_text",
    "load",
    "save",
    "write_output",
]

#: versions this fastnn reads (1: fastnn 0.2.0's files)
READ_VERSIONS = (1, 2)

# --------------------------------------------------------------------------------------------------
# load (save and the file's writing are in fastnn/_model_writer.py)
# --------------------------------------------------------------------------------------------------
_U64 = 2**64
_MAX_EPOCH = 10**9  # far beyond any run; keeps a crafted count from reaching the epoch loop
_STATE_KEYS = ("seed", "rng", "velocity", "run")
_RUN_KEYS = ("epoch", "eta", "eta0", "perm", "rng", "step_rng", "watch", "params", "velocity", "history")
_WATCH_KEYS = ("best_score", "best_epoch", "since_best", "since_change", "best_params", "best_velocity")
_HISTORY_KEYS = ("records", "best_epoch", "stop_reason", "restored_best", "settings")


def _object(value, field, keys, optional=()):
    """``value`` must be a JSON object with exactly ``keys`` (plus any of ``optional``)."""
    if not isinstance(value, dict):
        raise _Bad(field, f"expected an object, got {_json_type(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise _Bad(f"{field}.{missing[0]}", "missing")
    extra = sorted(k for k in value if k not in keys and k not in optional)
    if extra:
        raise _Bad(f"{field}.{extra[0]}", "unknown field")
    return value


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, (int, float)):
        return f"the number {_short(value)}"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return {"list": "a list", "dict": "an object"}.get(type(value).__name__, type(value).__name__)


def _int(value, field, lo, hi, *, none=False):
    """An integer in [lo, hi] (or None when ``none``)."""
    if value is None and none:
        return None
    if not _is_int(value):
        raise _Bad(field, f"expected an integer{' or null' if none else ''}, got {_json_type(value)}")
    if not lo <= value <= hi:
        raise _Bad(field, f"expected an integer from {_bound(lo)} to {_bound(hi)}, got {_short(value)}")
    return value


def _bound(v: int) -> str:
    """2**128 - 1 rather than its 39 digits."""
    if v >= 2**32 and (v + 1) & v == 0:
        return f"2**{(v + 1).bit_length() - 1} - 1"
    return f"{v:,}"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _real(value, field, *, positive=False, minimum=None, none=False):
    """A finite number (> 0 when ``positive``, >= ``minimum``), or None when ``none``."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(field, f"expected a number{' or null' if none else ''}, got {_json_type(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise _Bad(field, f"expected a finite number, got {_short(value)}") from None
    if not np.isfinite(x):
        raise _Bad(field, f"expected a finite number, got {value!r}")
    if positive and not x > 0:
        raise _Bad(field, f"expected a number > 0, got {value!r}")
    if minimum is not None and x < minimum:
        raise _Bad(field, f"expected a number >= {minimum}, got {value!r}")
    return x


def _pcg64_state(value, field):
    """A PCG64 generator state as numpy writes it, checked exactly (numpy itself would accept a
    float state silently or fail half-way with an OverflowError)."""
    _object(value, field, ("bit_generator", "state", "has_uint32", "uinteger"))
    if value["bit_generator"] != "PCG64":
        raise _Bad(f"{field}.bit_generator", f"expected 'PCG64', got {_json_type(value['bit_generator'])}")
    inner = _object(value["state"], f"{field}.state", ("state", "inc"))
    _int(inner["state"], f"{field}.state.state", 0, 2**128 - 1)
    _int(inner["inc"], f"{field}.state.inc", 0, 2**128 - 1)
    _int(value["has_uint32"], f"{field}.has_uint32", 0, 1)
    _int(value["uinteger"], f"{field}.uinteger", 0, 2**32 - 1)
    return {
        "bit_generator": "PCG64",
        "state": {"state": inner["state"], "inc": inner["inc"]},
        "has_uint32": value["has_uint32"],
        "uinteger": value["uinteger"],
    }


def _history_checked(value, field, epoch=None):
    """A History from a history object (History.to_dict()), every field and record checked.
    ``epoch``: the epochs trained (a checkpoint's run: one record for each, numbered 1..epoch);
    None (a model file's history): any number of records, numbered 1, 2, 3, ..."""
    from .history import STOP_REASONS, EpochRecord, History

    _object(value, field, _HISTORY_KEYS)
    records_in = value["records"]
    if not isinstance(records_in, list):
        raise _Bad(f"{field}.records", f"expected a list, got {_json_type(records_in)}")
    if epoch is not None and len(records_in) != epoch:  # one record per epoch trained, 1..epoch
        raise _Bad(f"{field}.records", f"{len(records_in)} records for {epoch} epochs trained")
    names = list(EpochRecord.__dataclass_fields__)  # every field is written (dataclasses.asdict)
    records = []
    for i, r in enumerate(records_in):
        where = f"{field}.records[{i}]"
        _object(r, where, names)
        ep = _int(r["epoch"], f"{where}.epoch", i + 1, i + 1)  # records of epochs 1, 2, 3, ...
        n_tr = _int(r["n_training"], f"{where}.n_training", 1, 2**62)
        n_ev = _int(r.get("n_evaluation"), f"{where}.n_evaluation", 0, 2**62, none=True)
        rec = {
            "epoch": ep,
            "eta": _real(r["eta"], f"{where}.eta", positive=True),
            "seconds": _real(r["seconds"], f"{where}.seconds", minimum=0),
            # an infinite speed (a 0 s epoch) is written as null
            "examples_per_second": _real(
                r["examples_per_second"], f"{where}.examples_per_second", minimum=0, none=True
            ),
            "n_training": n_tr,
            "n_evaluation": n_ev,
        }
        if rec["examples_per_second"] is None:
            rec["examples_per_second"] = float("inf")
        for name in names:
            if name in rec:
                continue
            if name.endswith("_accuracy"):
                top = n_tr if name.startswith("training") else (n_ev if n_ev is not None else 0)
                rec[name] = _int(r[name], f"{where}.{name}", 0, top, none=True)
            elif name == "evaluation_seconds":
                rec[name] = _real(r[name], f"{where}.{name}", minimum=0, none=True)
            else:  # costs and losses: finite, or null (NaN/inf are written as null)
                rec[name] = _real(r[name], f"{where}.{name}", none=True)
        records.append(EpochRecord(**rec))
    last = epoch if epoch is not None else (records[-1].epoch if records else 0)
    best = _int(value["best_epoch"], f"{field}.best_epoch", 1, max(last, 1), none=True)
    stop = value["stop_reason"]
    if not isinstance(stop, str) or stop not in STOP_REASONS:
        raise _Bad(
            f"{field}.stop_reason", f"expected one of {', '.join(STOP_REASONS)}, got {_json_type(stop)}"
        )
    restored = value["restored_best"]
    if not isinstance(restored, bool):
        raise _Bad(f"{field}.restored_best", f"expected true or false, got {_json_type(restored)}")
    settings = value["settings"]
    if not isinstance(settings, dict):
        raise _Bad(f"{field}.settings", f"expected an object, got {_json_type(settings)}")
    return History(
        records=records, best_epoch=best, stop_reason=stop, restored_best=restored, settings=dict(settings)
    )


def _state_from_dict(net, d) -> None:
    """Restore a checkpoint's "state" field into a freshly loaded ``net`` (raises _Bad).

    Every field is checked first (types, ranges, finiteness, shapes, the generators' states, the
    history's records); only when all of it is valid is anything applied to ``net``."""
    n = net.n_parameters

    def flat(value, field):
        if value is None:
            return None
        if isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, bool):
                    raise _Bad(f"{field}[{i}]", f"expected a number, got {_json_type(v)}")
        return _array(value, field, [(n,)], net.dtype)

    _object(d, "state", _STATE_KEYS)
    seed = _int(d["seed"], "state.seed", 0, 2**1024 - 1, none=True)  # as Network(seed=...) takes
    if type(_state.generator(net).bit_generator).__name__ != "PCG64":  # pragma: no cover - Network uses PCG64
        raise _Bad("state.rng", "this network's generator is not PCG64")
    rng = _pcg64_state(d["rng"], "state.rng")
    velocity = flat(d["velocity"], "state.velocity")
    run = d["run"]
    train_state = None
    if run is not None:
        _object(run, "state.run", _RUN_KEYS)
        epoch = _int(run["epoch"], "state.run.epoch", 0, _MAX_EPOCH)
        eta = _real(run["eta"], "state.run.eta", positive=True)
        eta0 = _real(run["eta0"], "state.run.eta0", positive=True)
        perm_in = run["perm"]
        if not isinstance(perm_in, list) or not perm_in:
            got = _json_type(perm_in)
            raise _Bad("state.run.perm", f"expected a non-empty list of row indices, got {got}")
        if not all(_is_int(i) and 0 <= i < len(perm_in) for i in perm_in):
            raise _Bad("state.run.perm", f"expected a permutation of 0..{len(perm_in) - 1}")
        perm = np.asarray(perm_in, dtype=np.intp)
        if not np.array_equal(np.sort(perm), np.arange(len(perm))):
            raise _Bad("state.run.perm", f"expected a permutation of 0..{len(perm) - 1} (an index repeats)")
        run_rng = _pcg64_state(run["rng"], "state.run.rng")
        step_rng = run["step_rng"]
        if isinstance(step_rng, list):
            if len(step_rng) != 4 or not all(_is_int(v) and 0 <= v < _U64 for v in step_rng):
                raise _Bad("state.run.step_rng", "expected 4 unsigned 64-bit integers")
            if not any(step_rng):
                raise _Bad("state.run.step_rng", "expected 4 unsigned 64-bit integers, not all zero")
            step_rng = tuple(step_rng)
        elif isinstance(step_rng, dict):  # the reference trainer (a cost class): a numpy state
            step_rng = _pcg64_state(step_rng, "state.run.step_rng")
        else:
            raise _Bad("state.run.step_rng", f"expected a list or an object, got {_json_type(step_rng)}")
        w = _object(run["watch"], "state.run.watch", _WATCH_KEYS)
        best_epoch = _int(w["best_epoch"], "state.run.watch.best_epoch", 1, max(epoch, 1), none=True)
        watch = {
            "best_score": _real(w["best_score"], "state.run.watch.best_score", none=True),
            "best_epoch": best_epoch,
            "since_best": _int(w["since_best"], "state.run.watch.since_best", 0, epoch),
            "since_change": _int(w["since_change"], "state.run.watch.since_change", 0, epoch),
            "best_params": flat(w["best_params"], "state.run.watch.best_params"),
            "best_velocity": flat(w["best_velocity"], "state.run.watch.best_velocity"),
        }
        if watch["best_score"] is None:
            watch["best_score"] = -np.inf
        train_state = dict(
            epoch=epoch,
            eta=eta,
            eta0=eta0,
            perm=perm,
            rng=run_rng,
            step_rng=step_rng,
            watch=watch,
            params=flat(run["params"], "state.run.params"),
            velocity=flat(run["velocity"], "state.run.velocity"),
            history=_history_checked(run["history"], "state.run.history", epoch),
        )
    # ---- everything is valid: apply ----
    if seed is not None:
        net.seed = seed
    _state.generator(net).bit_generator.state = rng
    _state.set_velocity(net, None if velocity is None else aligned_copy(velocity, net.dtype, always=True))
    if train_state is not None:
        _state.set_run_state(net, train_state)
        net.history = train_state["history"]


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
        if not _is_int(version) or version not in READ_VERSIONS:
            raise _Bad(
                "version",
                f"unsupported version {version!r} (this fastnn reads versions "
                f"{', '.join(map(str, READ_VERSIONS))}; a newer fastnn may read it)",
            )
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
        raise _Bad("cost", f"expected one of {', '.join(map(repr, COST_CLASS_NAMES))}, got {cost_cls!r}")
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
    for field, _out in (("weights", weights), ("biases", biases)):
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
    extra = {
        "classes": _classes(data, sizes[-1]),
        "label_column": _label_column(data, sizes[0]),
        "history": _history(data),
    }
    return sizes, kwargs, weights, biases, extra


def _classes(data, n_out):
    """The optional ``classes`` field: one distinct label (int or string) per output unit."""
    if "classes" not in data:
        return None
    value = data["classes"]
    if not isinstance(value, list):
        raise _Bad("classes", f"expected a list of labels, got {type(value).__name__}")
    if len(value) != n_out and not (n_out == 1 and len(value) in (1, 2)):
        raise _Bad("classes", f"expected {n_out} labels (one per output unit), got {len(value)}")
    kinds = {str if isinstance(c, str) else int if _is_int(c) else None for c in value}
    if None in kinds or len(kinds) > 1:
        raise _Bad("classes", "expected integers or strings (all of one kind)")
    if len(set(value)) != len(value):
        raise _Bad("classes", "expected distinct labels, got repeated ones")
    return list(value)


def _label_column(data, n_in):
    """The optional ``label_column`` field: {"name": str | null, "index": int, "columns": int}."""
    if "label_column" not in data:
        return None
    value = data["label_column"]
    if not isinstance(value, dict) or set(value) != {"name", "index", "columns"}:
        raise _Bad("label_column", 'expected an object with "name", "index" and "columns"')
    name, index, columns = value["name"], value["index"], value["columns"]
    if name is not None and not isinstance(name, str):
        raise _Bad("label_column.name", f"expected a string or null, got {name!r}")
    if not _is_int(columns) or columns != n_in + 1:
        raise _Bad("label_column.columns", f"expected {n_in + 1} (the inputs and the label), got {columns!r}")
    if not _is_int(index) or not 0 <= index < columns:
        raise _Bad("label_column.index", f"expected an integer in [0, {columns}), got {index!r}")
    return {"name": name, "index": index, "columns": columns}


def _history(data):
    """The optional ``history`` field (History.to_dict()), checked as strictly as a checkpoint's."""
    if "history" not in data:
        return None
    return _history_checked(data["history"], "history")


def load(path: PathLike) -> Network:
    """Load a network saved by :func:`save` / ``Network.save`` or by Nielsen's ``network2.save``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        ``"<path>: ... <field>: <problem>"`` naming the first bad field for anything that is not a
        valid model file (not JSON, truncated, unknown cost, wrong version, wrong shapes or layer
        count, NaN/inf values, ...).
    OSError
        Passed through (e.g. FileNotFoundError).
    """
    from .network import Network

    name = os.fspath(path)
    with open(name, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")  # tolerate a byte-order mark
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{name}: not a fastnn/network2 model file: not UTF-8 text ({e.reason} at byte {e.start})"
        ) from None
    if not text.strip():
        raise ValueError(f"{name}: not a fastnn/network2 model file: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        stripped = text.rstrip()
        truncated = e.pos >= len(stripped) - 1 or not stripped.endswith(("}", "]"))
        hint = " (truncated?)" if truncated else ""
        raise ValueError(
            f"{name}: not a fastnn/network2 model file: invalid JSON{hint}: "
            f"{e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise ValueError(f"{name}: not a fastnn/network2 model file: JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits (Python's conversion limit)
        raise ValueError(f"{name}: not a fastnn/network2 model file: {str(e).splitlines()[0]}") from None
    try:
        sizes, kwargs, weights, biases, extra = _parse(data)
    except _Bad as e:
        raise ValueError(f"{name}: invalid model file: {e.field}: {e.problem}") from None
    try:
        net = Network(sizes, **kwargs)
        net.weights = weights
        net.biases = biases
        net.classes, net.label_column, net.history = extra["classes"], extra["label_column"], extra["history"]
    except (ValueError, TypeError) as e:  # e.g. a (cost, output) pair the Network refuses
        raise ValueError(f"{name}: invalid model file: {e}") from None
    if isinstance(data, dict) and "state" in data:
        try:
            _state_from_dict(net, data["state"])
        except _Bad as e:
            raise ValueError(f"{name}: invalid checkpoint: {e.field}: {e.problem}") from None
    return net
