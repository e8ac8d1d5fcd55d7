"""Type aliases of fastnn's public signatures (for type checkers and the API reference).

Imported under ``typing.TYPE_CHECKING`` only, so ``import fastnn`` does not pay for numpy.typing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, Union

import numpy as np
import numpy.typing as npt

#: An (n, d) matrix of rows: a numpy array or anything ``np.asarray`` turns into one.
ArrayLike = npt.ArrayLike
#: float32 or float64, as a numpy dtype, type or name.
DTypeLike = npt.DTypeLike
#: An (X, y) pair of arrays, or network2's sequence of (x, y) pairs.
DataLike = Union[tuple[npt.ArrayLike, npt.ArrayLike], Iterable[tuple[npt.ArrayLike, npt.ArrayLike]]]
#: A file name or path.
PathLike = Union[str, "os.PathLike[str]"]
#: A float array (float32 or float64, the network's dtype).
FloatArray = npt.NDArray[np.floating[Any]]
#: An integer array (labels, predicted classes).
IntArray = npt.NDArray[np.integer[Any]]
#: The four monitoring lists SGD returns, as network2's SGD: evaluation cost, evaluation accuracy,
#: training cost, training accuracy.
MonitorLists = tuple[list, list, list, list]
#: ``callback(record)`` after each epoch; returning ``False`` stops training.
EpochCallback = Callable[[Any], Any]
