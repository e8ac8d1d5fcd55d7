"""Writing a model file: the JSON of :func:`save` (network2's fields + fastnn's, and a checkpoint's
training state), written atomically. Re-exported by :mod:`fastnn.io` (``save``, ``to_dict``,
``FORMAT``, ``FORMAT_VERSION``), which reads the files back (``load``); kept apart so that
``Network.save`` imports only this module, while ``fastnn.io.load`` imports ``Network``: no cycle.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from . import _state
from ._output_files import atomic_write_text
from ._vocabulary import COST_CLASS_NAMES, DTYPES, cost_name

if TYPE_CHECKING:
    from ._typing import PathLike
    from .network import Network

__all__ = ["FORMAT", "FORMAT_VERSION", "finite_or_none", "save", "state_to_dict", "to_dict"]

#: value of the ``format`` field that marks a fastnn file
FORMAT = "fastnn.Network"
#: version of the file layout; bumped on a change (2: optional ``classes``, ``label_column``, ``history``)
FORMAT_VERSION = 2

# fastnn cost names -> the network2 class names the files store
_COST_NAME_TO_CLASS = {name: cls for cls, name in COST_CLASS_NAMES.items()}


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
        raise ValueError(
            f"cannot save: unknown cost {net.cost!r} (only the built-in costs are stored in a model file)"
        ) from None
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
    d = {
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
    classes = getattr(net, "classes", None)
    if classes is not None:
        d["classes"] = [c if isinstance(c, str) else int(c) for c in classes]
    label_column = getattr(net, "label_column", None)
    if label_column is not None:
        d["label_column"] = {k: label_column[k] for k in ("name", "index", "columns")}
    history = getattr(net, "history", None)
    if history is not None:
        d["history"] = finite_or_none(history.to_dict())
    return d


def save(net: Network, path: PathLike, state: bool = False) -> None:
    """Save a network as JSON (network2's fields + fastnn's), atomically.

    Parameters
    ----------
    net : Network
    path : str or os.PathLike
        Destination; the previous file is untouched if anything fails.
    state : bool, default False
        Also write the training state (a checkpoint): the momentum velocity, the random
        generators, the epoch count, the η schedule and early-stopping state, the shuffling order
        and the history, so that ``load(path).SGD(..., resume=True)`` continues the run exactly
        (see ``Network.SGD``).
    """
    d = to_dict(net)
    if state:
        d["state"] = state_to_dict(net)
    text = json.dumps(d, separators=(",", ":"), allow_nan=False)
    atomic_write_text(path, text + "\n")


def _flat(a):
    return None if a is None else _lossless_floats(np.asarray(a).reshape(-1))


def finite_or_none(v):
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite_or_none(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite_or_none(x) for x in v]
    return v


def state_to_dict(net) -> dict:
    """The "state" field of a checkpoint (see save)."""
    run = _state.run_state(net)
    out = {
        "seed": net.seed,
        "rng": _state.generator(net).bit_generator.state,
        "velocity": _flat(_state.velocity(net)),
        "run": None,
    }
    if run is not None:
        w = run["watch"]
        best = w["best_score"]
        out["run"] = {
            "epoch": int(run["epoch"]),
            "eta": float(run["eta"]),
            "eta0": float(run["eta0"]),
            "perm": [int(i) for i in run["perm"]],
            "rng": run["rng"],
            "step_rng": list(run["step_rng"]) if isinstance(run["step_rng"], tuple) else run["step_rng"],
            "watch": {
                "best_score": None if best is None or not np.isfinite(best) else float(best),
                "best_epoch": w["best_epoch"],
                "since_best": int(w["since_best"]),
                "since_change": int(w["since_change"]),
                "best_params": _flat(w["best_params"]),
                "best_velocity": _flat(w["best_velocity"]),
            },
            "params": _flat(run.get("params")),
            "velocity": _flat(run.get("velocity")),
            "history": finite_or_none(run["history"].to_dict()),
        }
    return out
