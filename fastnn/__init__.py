"""fastnn — fast, trustworthy training of the fully-connected networks of chapter 3 of Michael
Nielsen's *Neural Networks and Deep Learning*, with the hot loops compiled (Cython + BLAS).

    >>> import fastnn
    >>> net = fastnn.Network([784, 30, 10], cost=fastnn.CrossEntropyCost)
    >>> net.SGD((X, y), 30, 10, 0.5, lmbda=5.0, evaluation_data=(Xv, yv),
    ...         monitor_evaluation_accuracy=True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__
from .costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost, ReferenceCostWarning
from .history import EpochRecord, History

if TYPE_CHECKING:
    from ._core import softmax
    from .io import load
    from .network import Network

# Loaded on first use (PEP 562, as SciPy does), so that `import fastnn.data` and
# `import fastnn.sklearn` do not load the compiled core, while `fastnn.data.load_mnist()` and
# `fastnn.Network` work after a plain `import fastnn`.
_LAZY = {"Network": "network", "softmax": "_core", "load": "io"}
_SUBMODULES = ("data", "sklearn", "io", "cli", "reference", "plotting", "tune", "export", "reproduce")


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    elif name in _SUBMODULES:
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = [
    "CrossEntropyCost",
    "EpochRecord",
    "History",
    "LogLikelihoodCost",
    "Network",
    "QuadraticCost",
    "ReferenceCostWarning",
    "__version__",
    "load",
    "softmax",
]
