"""Type stub for the compiled core ``fastnn._core`` (built from ``_core.pyx``).

Only the names other modules and tests use are declared; arrays are C-contiguous float32/float64
(parameters, X, targets) or intp (labels, offsets), checked at run time by the core itself.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.floating[Any]]
_Intps = npt.NDArray[np.intp]

EVAL_BLOCK: int
SPARSE_BELOW: float
SPARSE_MIN_ROWS: int
ACTIVATIONS: dict[str, int]
COSTS: dict[str, int]
REGULARIZATIONS: dict[str | None, int]

def parameter_layout(sizes: Any) -> tuple[_Intps, _Intps, int]: ...

class Layout:
    n_layers: int
    n_params: int
    dtype: np.dtype[Any]
    hidden_act: int
    output_act: int
    cost: int
    def __init__(self, sizes: Any, hidden: str, output: str, cost: str, dtype: npt.DTypeLike) -> None: ...

class Targets:
    kind: str  # "labels" or "targets"
    labels: _Intps | None
    targets: _Floats | None
    n: int
    n_outputs: int
    dtype: np.dtype[Any]
    def __init__(self, layout: Layout, labels: _Intps | None, targets: _Floats | None, n: int) -> None: ...

class Trainer:
    layout: Layout
    batch_size: int
    dropout_p: float
    bad_batch: int
    bad_index: int
    rng_state: tuple[int, int, int, int]
    kernels: tuple[str, ...]
    threads: int
    def __init__(
        self,
        layout: Layout,
        params: _Floats,
        batch_size: int,
        velocity: _Floats | None = None,
        dropout: float = 0.0,
        seed: int = 0,
        n_threads: int = 1,
    ) -> None: ...
    def begin(
        self,
        X: _Floats,
        y: Targets,
        perm: _Intps | None = None,
        lmbda: float = 0.0,
        n_total: int = -1,
        regularization: str | None = "l2",
        momentum: float = 0.0,
        track_loss: bool = False,
        sample_weight: _Floats | None = None,
    ) -> None: ...
    def train(
        self, start: int, stop: int, eta: float, check_input: bool = False, threads: int = 0
    ) -> float: ...
    def team_regions(self) -> list[tuple[int, str, int, int]]: ...
    @property
    def shares(self) -> list[float] | None: ...
    @shares.setter
    def shares(self, fractions: Sequence[float]) -> None: ...

def balanced_cut(cut: Any, busy: Any, n1: int, grain: int) -> npt.NDArray[np.intp]: ...
def useful_threads(sizes: Any, batch_size: int, n_threads: int, itemsize: int = 8) -> int: ...
def row_block() -> int: ...
def fill_mask(
    key: int,
    rows: int,
    cols: int,
    p: float,
    dtype: npt.DTypeLike = ...,
    row0: int = 0,
    col0: int = 0,
) -> _Floats: ...
def epoch_keys(seed: int, count: int) -> list[int]: ...

class MaskStream:
    seed: int
    p: float
    dtype: np.dtype[Any]
    keys: list[int]
    def __init__(self, seed: int, p: float, dtype: npt.DTypeLike = ...) -> None: ...
    def batch(self, epoch: int, row0: int, m: int, hidden_sizes: Any) -> list[_Floats]: ...

def evaluate(
    layout: Layout,
    params: _Floats,
    X: _Floats,
    y: Targets | None = None,
    out: _Floats | None = None,
    want_cost: bool = False,
    want_correct: bool = False,
    block: int = ...,
    raw: bool = False,
    check: str | None = None,
    sparse_below: float = ...,
    first_row: int = 0,
    n_threads: int = 1,
) -> tuple[float, int]: ...
def all_finite_array(x: _Floats) -> bool: ...
def kernel_activate(z: _Floats, b: _Floats, act: str) -> _Floats: ...
def kernel_exp(x: _Floats) -> _Floats: ...
def _set_index_checks(on: bool) -> bool: ...
def softmax(z: npt.ArrayLike, c: float = 1.0) -> _Floats: ...

# fastnn's own small-matrix kernels (csrc/mm_*.c) and their import-time choice
OWN_ANY_ROWS: int
OWN_MAX_ROWS: int
OWN_MAX_WEIGHTS: int
OWN_AVX2_MAX_BYTES: int
GEMM_AVX2_MIN_ROWS: int
GEMM_AVX2_MIN_BYTES: int
PANELS_MIN_BYTES: int
ISA_NAMES: tuple[str, ...]
KERNELS: dict[str, Any]

def uses_own_kernels(batch_size: int, n_in: int, n_out: int, itemsize: int = 8, threads: int = 1) -> bool: ...
def kernel_forward(
    A: _Floats,
    W: _Floats,
    b: _Floats,
    rows: npt.NDArray[np.intp] | None = None,
    m: int = -1,
    act: str = "sigmoid",
    isa: str | None = None,
    dropout: float = 0.0,
    seed: int = 0,
    repeat: int = 1,
    skip: bool = False,
) -> Any: ...
def kernel_segs(
    A: _Floats, rows: npt.NDArray[np.intp] | None = None, isa: str | None = None
) -> list[tuple[int, int]] | None: ...
def kernel_backward(
    D: _Floats,
    W: _Floats,
    Ap: _Floats,
    mask: _Floats | None = None,
    act: str = "sigmoid",
    isa: str | None = None,
    repeat: int = 1,
) -> _Floats: ...
def kernel_update(
    W: _Floats,
    b: _Floats,
    D: _Floats,
    A: _Floats,
    rows: npt.NDArray[np.intp] | None = None,
    VW: _Floats | None = None,
    Vb: _Floats | None = None,
    alpha: float = -0.1,
    beta: float = 1.0,
    mu: float = 0.0,
    c: float = 0.0,
    regularization: str | None = None,
    isa: str | None = None,
    repeat: int = 1,
    skip: bool = False,
) -> None: ...
def kernel_gemm(a: _Floats, b: _Floats, c: _Floats, beta: float = 0.0, repeat: int = 1) -> None: ...
