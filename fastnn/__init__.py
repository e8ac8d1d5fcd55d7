"""fastnn — fast, trustworthy training of the fully-connected networks of chapter 3 of Michael
Nielsen's *Neural Networks and Deep Learning*, with the hot loops compiled (Cython + BLAS).

    >>> import fastnn
    >>> net = fastnn.Network([784, 30, 10], cost=fastnn.CrossEntropyCost)
    >>> net.SGD((X, y), 30, 10, 0.5, lmbda=5.0, evaluation_data=(Xv, yv),
    ...         monitor_evaluation_accuracy=True)
"""
from __future__ import annotations

import os

from ._version import __version__
from ._blas import preload as _preload_blas

_preload_blas()   # before the compiled core asks for scipy's BLAS (see _blas.py)

from .costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost, ReferenceCostWarning
from .history import EpochRecord, History
try:
    from .network import Network
except ImportError as exc:  # a source checkout whose compiled core was never built
    if "_core" not in str(exc):
        raise
    raise ImportError(
        f"fastnn's compiled core is not built next to {__file__}: run `pip install .` in the "
        f"fastnn checkout (it builds the extension and also places it in the source tree), or "
        f"run Python from another directory to use the installed fastnn ({exc})") from exc


def load(filename: str | os.PathLike[str]) -> Network:
    """Load a network saved by :meth:`Network.save` or by network2.py's ``save``.

    Parameters
    ----------
    filename : str or os.PathLike
        A JSON model file.

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        If the file is not a valid model file (the message names the first bad field).
    OSError
        If the file cannot be read.
    """
    from .io import load as _load
    return _load(filename)


__all__ = ["Network", "QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost", "History",
           "EpochRecord", "ReferenceCostWarning", "load", "__version__"]
