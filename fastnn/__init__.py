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


def _missing_core() -> ImportError:
    """The ImportError for a fastnn without its compiled core, saying why and what to do: most
    often Python was started in the source checkout, whose uncompiled fastnn/ shadows the
    installed package."""
    import glob
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    parent = os.path.dirname(here)
    installed = [
        os.path.join(entry or os.getcwd(), "fastnn")
        for entry in sys.path
        if os.path.abspath(entry or os.getcwd()) != parent
        and any(
            glob.glob(os.path.join(entry or os.getcwd(), "fastnn", f"_core*.{ext}")) for ext in ("so", "pyd")
        )
    ]
    if os.path.exists(os.path.join(here, "_core.pyx")):
        if installed:
            return ImportError(
                f"fastnn's compiled core (fastnn._core) is not built in {here}: that is the source "
                f"checkout's fastnn/, uncompiled, and it shadows the installed fastnn in {installed[0]} "
                f"because Python puts the current directory (or the script's) first on sys.path. "
                f"Either run Python outside the checkout (cd elsewhere), or build the checkout in "
                f"place: python setup.py build_ext --inplace"
            )
        return ImportError(
            f"fastnn's compiled core (fastnn._core) is not built in {here}: that is the source "
            f"checkout's fastnn/, uncompiled. Build it in place (python setup.py build_ext "
            f"--inplace) or install it (pip install .) and run Python outside the checkout"
        )
    return ImportError(
        f"fastnn's compiled core (fastnn._core) is missing from {here}: reinstall fastnn "
        f"(pip install --force-reinstall fastnn)"
    )


def __getattr__(name: str):
    if name == "_core":  # `from . import _core` looks here first (hasattr), before importing it
        try:
            return importlib.import_module(f"{__name__}._core")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}._core":
                raise
            raise _missing_core() from None
    if name in _LAZY:
        try:
            module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}._core":
                raise
            raise _missing_core() from None
        value = getattr(module, name)
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
