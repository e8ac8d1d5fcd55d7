"""fastnn's public network: validates once, then hands contiguous buffers to the compiled core.

The interface follows Nielsen's network2.py (``Network(sizes, cost)``, ``SGD(...)`` returning the
four monitoring lists) with an array API on top (``feedforward``, ``predict``, ``accuracy``,
``total_cost`` on an (n, d) matrix of rows).
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from ._blas import preload as _preload_blas

_preload_blas()  # before the compiled core asks for scipy's BLAS (see _blas.py)

from . import _core, _state
from ._network_data import check_finite, to_features, to_y
from ._threads import available_cores as _available_cores
from ._threads import blas_limit as _blas_limit
from ._threads import check_threads as _check_threads
from ._threads import team_threads as _team_threads
from ._training import _TrainingRun, resume_state
from ._validation import aligned_zeros, is_pairs, network2_xy, split_data, to_sample_weight
from ._vocabulary import (
    HIDDEN,
    OUTPUTS,
    REGULARIZATIONS,
    WEIGHT_INITS,
    check_choice,
    check_hyper,
    check_options,
    check_pairing,
    resolve_dtype,
    sgd_signature,
)
from .costs import UserCost, core_cost_name, network_cost, resolve_cost
from .history import History

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._typing import (
        ArrayLike,
        DataLike,
        DTypeLike,
        FloatArray,
        IntArray,
        MonitorLists,
        PathLike,
    )
    from ._vocabulary import SGDArguments


_SGD_SIGNATURE = sgd_signature()


def _training_options(sgd: Callable[..., MonitorLists]) -> SGDArguments:
    """Network.SGD takes the arguments declared once in _vocabulary.SGDArguments: its signature
    (shown by help() and inspect) is generated from there, and type checkers read it there."""
    sgd.__signature__ = _SGD_SIGNATURE  # type: ignore[attr-defined]
    return sgd


class Network:
    r"""A fully-connected feedforward network of chapter 3.

    Layer :math:`l` computes :math:`a^l = \sigma(w^l a^{l-1} + b^l)` (eq. 23); training is
    mini-batch SGD with backpropagation (:meth:`SGD`), run by the compiled core.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first, e.g. ``[784, 30, 10]``.
    cost : str or cost class, default "cross-entropy"
        "cross-entropy", "quadratic", "log-likelihood", a fastnn cost class, or a cost class of
        your own with network2's ``fn(a, y)`` and ``delta(z, a, y)`` (network2's own
        ``CrossEntropyCost``/``QuadraticCost`` work): one whose fn and delta agree numerically with
        a built-in cost runs in the compiled core; any other runs through the numpy epoch step
        (``fastnn._user_cost_step.UserCostStep``), with a one-time :class:`~fastnn.ReferenceCostWarning`.
    output : {"sigmoid", "softmax", "linear"}, optional
        The output layer; defaults to "softmax" for log-likelihood and "sigmoid" otherwise. Valid
        pairings: quadratic+sigmoid, quadratic+linear, cross-entropy+sigmoid, log-likelihood+softmax.
    hidden : {"sigmoid", "tanh", "relu"}, default "sigmoid"
        The hidden layers' activation.
    weight_init : {"default", "large"}, default "default"
        "default": weights :math:`N(0, 1/n_{in})` (:math:`N(0, 2/n_{in})` into ReLU layers), biases
        :math:`N(0, 1)` (0 for ReLU layers); "large": weights and biases :math:`N(0, 1)` (chapter 1).
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        Kept end to end (parameters, data, outputs).
    seed : int, optional
        Seed of the network's random generator (initialisation, shuffling, dropout). None draws it
        from NumPy's global generator, so ``np.random.seed(1)`` before building makes the run
        reproducible, as it does for network2; ``net.seed`` holds the seed used.

    Attributes
    ----------
    sizes : tuple of int
        Neurons per layer.
    weights : list of ndarray
        ``weights[l]`` of shape ``(sizes[l+1], sizes[l])``; assign a whole list to replace them.
    biases : list of ndarray
        ``biases[l]`` of shape ``(sizes[l+1],)``.
    history : History or None
        Per-epoch records of the last :meth:`SGD` call.
    classes : list or None
        The label of each output unit (``classes[k]`` for output k: ints or strings), set by
        ``fastnn train --data FILE`` from the labels present and kept in the model file; None: output
        k is label k. :meth:`predict` returns output indices; ``fastnn predict`` prints ``classes[k]``.
    label_column : dict or None
        ``{"name", "index", "columns"}`` of the CSV column the labels were read from by
        ``fastnn train --data FILE.csv`` (kept in the model file; ``fastnn predict`` drops that column).
    n_threads : int or None
        Threads of the team that runs ``SGD`` (unless ``SGD(n_threads=...)``) and inference
        (``predict``, ``feedforward``, ``accuracy``, ``total_cost``: X's blocks of 1,024 rows shared
        out, at most one thread per core; the same results for any count), 1..1024; None means one.
        BLAS layers keep one BLAS thread.

    Examples
    --------
    >>> import numpy as np, fastnn
    >>> net = fastnn.Network([2, 3, 2], seed=0)
    >>> net.feedforward(np.zeros((1, 2))).shape
    (1, 2)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        cost: str | type[Any] = "cross-entropy",
        output: str | None = None,
        hidden: str = "sigmoid",
        weight_init: str = "default",
        dtype: DTypeLike = np.float64,
        seed: int | None = None,
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"sizes: expected a sequence of layer sizes, got {sizes!r}")
        if len(sizes) < 2:
            raise ValueError(f"sizes: expected at least 2 layers (input and output), got {list(sizes)}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise TypeError(f"sizes: expected integers, got {list(sizes)!r}")
            if s < 1:
                raise ValueError(f"sizes: every layer needs at least 1 neuron, got {list(sizes)}")
        n_params = sum(int(a) * int(b) + int(b) for a, b in zip(sizes[:-1], sizes[1:]))
        if n_params * resolve_dtype(dtype).itemsize > sys.maxsize:
            raise ValueError(
                f"sizes: {list(sizes)} would need {n_params:,} parameters, more than this "
                f"machine's address space holds"
            )
        if output is not None:
            check_choice("output", output, OUTPUTS)
        cost, output = network_cost(cost, output)
        check_pairing(core_cost_name(cost), output)
        check_choice("hidden", hidden, HIDDEN)
        check_choice("weight_init", weight_init, WEIGHT_INITS)
        self.sizes = tuple(int(s) for s in sizes)
        self.num_layers = len(self.sizes)
        self.cost = cost
        self.output = output
        self.hidden = hidden
        self.weight_init = weight_init
        self.dtype = resolve_dtype(dtype)
        if seed is None:  # network2 draws from np.random: np.random.seed(...) makes runs repeatable
            seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))  # noqa: NPY002 (network2's generator)
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed: expected a non-negative integer or None, got {type(seed).__name__}")
        elif not 0 <= seed < 2**1024:
            got = seed if seed < 0 else f"an integer of {len(str(seed))} digits"
            raise ValueError(f"seed: expected a non-negative integer below 2**1024, got {got}")
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._layout = _core.Layout(self.sizes, hidden, output, core_cost_name(cost), self.dtype)
        self._params = aligned_zeros(self._layout.n_params, self.dtype)  # W¹ on a 64-byte line
        self._velocity: np.ndarray | None = None
        self._make_views()
        self.history: History | None = None
        self.classes: list | None = None
        self.label_column: dict | None = None
        if weight_init == "large":
            self.large_weight_initializer()
        else:
            self.default_weight_initializer()

    # ---- parameters ---------------------------------------------------------------------------
    def _make_views(self):
        w_off, b_off, _ = _core.parameter_layout(self.sizes)
        self._w = [
            self._params[o : o + n_in * n_out].reshape(n_out, n_in)
            for o, n_in, n_out in zip(w_off, self.sizes[:-1], self.sizes[1:])
        ]
        self._b = [self._params[o : o + n_out] for o, n_out in zip(b_off, self.sizes[1:])]

    def default_weight_initializer(self) -> None:
        """Weights N(0, 1/n_in) — std 1/√n_in (N(0, 2/n_in) into ReLU layers); biases N(0, 1)
        (zero for ReLU layers)."""
        L = len(self._w)
        for l, (w, b) in enumerate(zip(self._w, self._b)):
            relu = self.hidden == "relu" and l < L - 1
            n_in = w.shape[1]
            w[...] = self._rng.standard_normal(w.shape) * (
                math.sqrt(2.0 / n_in) if relu else 1.0 / math.sqrt(n_in)
            )
            b[...] = 0.0 if relu else self._rng.standard_normal(b.shape)
        self._velocity = None
        self._train_state: dict[str, Any] | None = None  # checkpoint state (save(state=True))

    def large_weight_initializer(self) -> None:
        """Weights and biases N(0, 1), as in chapter 1."""
        for w, b in zip(self._w, self._b):
            w[...] = self._rng.standard_normal(w.shape)
            b[...] = self._rng.standard_normal(b.shape)
        self._velocity = None
        self._train_state = None

    @property
    def weights(self) -> list[FloatArray]:
        """Weight matrices, weights[l] of shape (sizes[l+1], sizes[l]): views of the network's own
        buffer. Assign a whole list, or one layer as network2 code does (``net.weights[0] = W``):
        both are validated (shape, dtype conversion, finiteness) and copied into the buffer."""
        return _ParameterList(self, "weights", self._w)

    @weights.setter
    def weights(self, values: Sequence[ArrayLike]) -> None:
        self._assign(values, self._w, "weights")

    @property
    def biases(self) -> list[FloatArray]:
        """Bias vectors, biases[l] of shape (sizes[l+1],) (``(sizes[l+1], 1)`` columns accepted on
        assignment, of the whole list or of one layer)."""
        return _ParameterList(self, "biases", self._b)

    @biases.setter
    def biases(self, values: Sequence[ArrayLike]) -> None:
        self._assign(values, self._b, "biases")

    def _assign(self, values, targets, name):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"{name}: expected a list of {len(targets)} arrays, got {type(values).__name__}")
        values = list(values)
        if len(values) != len(targets):
            raise ValueError(f"{name}: expected {len(targets)} arrays, got {len(values)}")
        converted = [self._convert_layer(name, l, v, t) for l, (v, t) in enumerate(zip(values, targets))]
        for arr, t in zip(converted, targets):
            t[...] = arr
        self._velocity = None
        self._train_state = None

    def _convert_layer(self, name, l, v, t):
        """One layer's new weights/biases, validated like the whole-list setter."""
        arr = np.asarray(v)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}[{l}]: expected numbers, got dtype {arr.dtype}")
        if name == "biases" and arr.shape == (t.shape[0], 1):
            arr = arr.reshape(-1)  # network2 stores biases as column vectors
        if arr.shape != t.shape:
            raise ValueError(f"{name}[{l}]: expected shape {t.shape}, got {arr.shape}")
        with np.errstate(over="ignore", invalid="ignore"):  # too large for float32 -> inf
            arr = np.ascontiguousarray(arr, dtype=self.dtype)
        check_finite(arr, f"{name}[{l}]")
        return arr

    @property
    def n_parameters(self) -> int:
        return int(self._params.size)

    # ---- pickling: the views must alias the flat buffer again after loading ------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        for k in ("_w", "_b", "_layout"):
            state.pop(k)
        state["cost"] = self.cost if isinstance(self.cost, UserCost) else self.cost.name
        return state

    def __setstate__(self, state):
        state = dict(state)
        state["cost"] = resolve_cost(state["cost"])
        for key in ("_params", "_velocity"):  # joblib's mmap_mode="r" hands back read-only memory
            if state.get(key) is not None and not state[key].flags.writeable:
                state[key] = state[key].copy()
        self.__dict__.update(state)
        self._layout = _core.Layout(
            self.sizes, self.hidden, self.output, core_cost_name(self.cost), self.dtype
        )
        self._make_views()

    def __repr__(self):
        cost = self.cost.__name__ if isinstance(self.cost, UserCost) else self.cost.name
        return (
            f"Network(sizes={list(self.sizes)}, cost={cost!r}, output={self.output!r}, "
            f"hidden={self.hidden!r}, dtype={self.dtype.name})"
        )

    # ---- data --------------------------------------------------------------------------------
    def _dataset(self, data, name, check_finite=True):
        """(X, Targets) for the core from (X, y) arrays or network2's list of (x, y) pairs."""
        X, y = split_data(data, name, self.sizes)
        X = to_features(X, f"{name} X", self.sizes[0], self.dtype, check_finite)
        labels, targets = to_y(y, f"{name} y", len(X), self.sizes[-1], self.dtype, self.cost, self.output)
        return X, _core.Targets(self._layout, labels, targets, len(X))

    def _features(self, X, name="X", check=True) -> np.ndarray:
        return to_features(X, name, self.sizes[0], self.dtype, check)

    # ---- inference ---------------------------------------------------------------------------
    #: The training's threads (unless SGD's n_threads says otherwise) and inference's (predict,
    #: feedforward, accuracy, total_cost: a team shares out X's blocks of 1,024 rows, each block fed
    #: forward whole by one thread, so the outputs and sums are the same for any count; at most one
    #: thread per block and per core the process may use). None means one. BLAS keeps one thread:
    #: fastnn's products are small and a second BLAS thread measured slower (10,000 MNIST rows
    #: through [784,100,10]: 0.090 s -> 0.119 s, shared 2-core machine).
    _n_threads = None

    @property
    def n_threads(self) -> int | None:
        return self._n_threads

    @n_threads.setter
    def n_threads(self, value: int | None) -> None:
        # checked on assignment (1..1024), so a bad value never reaches the BLAS thread policy
        self._n_threads = None if value is None else _check_threads(value, "n_threads")

    def _inference_threads(self, n_threads=None):
        """Inference's team: `n_threads`, else the network's n_threads (else one), capped inside
        a joblib worker by its thread budget (as the training's team is) and by the cores this
        process may use (without a barrier, more threads than cores only add per-thread buffers:
        two blocks of activations each)."""
        n = n_threads if n_threads is not None else (self._n_threads or 1)
        return n if n == 1 else min(_team_threads(n), _available_cores())

    def _core_evaluate(self, X, threads, **kwargs):
        """The compiled core's pass over X with this network's parameters (``_core.evaluate``'s
        keywords) on `threads` threads (from :meth:`_inference_threads`), BLAS on one thread."""
        with _blas_limit(1):
            return _core.evaluate(self._layout, self._params, X, n_threads=threads, **kwargs)

    def _evaluate(self, X, t=None, out=None, want_cost=False, want_correct=False, check=None, n_threads=None):
        """(summed cost, number correct) of X against t (and its outputs into out) on
        `n_threads` threads (None: the network's n_threads)."""
        threads = self._inference_threads(n_threads)
        if isinstance(self.cost, UserCost) and (want_cost or want_correct):
            return self._evaluate_user_cost(X, t, out, want_cost, want_correct, threads)
        # check: X's name, when the core is to check X for NaN/inf (see predict)
        return self._core_evaluate(
            X, threads, y=t, out=out, want_cost=want_cost, want_correct=want_correct, check=check
        )

    def _evaluate_user_cost(self, X, t, out, want_cost, want_correct, threads):
        """(summed cost, number correct) with the user's cost class: the core feeds forward, the
        class's fn prices the outputs (in blocks of rows, as the core does)."""
        cost_sum, correct = 0.0, 0
        block = 4096
        for r0 in range(0, len(X), block):
            r1 = min(len(X), r0 + block)
            z = np.empty((r1 - r0, self.sizes[-1]), dtype=self.dtype)
            self._core_evaluate(X[r0:r1], threads, out=z, raw=True)
            a = (
                _core.kernel_activate(z, np.zeros(z.shape[1], dtype=z.dtype), self.output)
                if len(z)
                else z.copy()
            )
            if out is not None:
                out[r0:r1] = a
            if t.kind == "labels":
                labels = t.labels[r0:r1]
                Y = np.zeros_like(a)
                Y[np.arange(len(labels)), labels] = 1.0
            else:
                Y = t.targets[r0:r1]
                labels = (Y[:, 0] >= 0.5).astype(np.intp) if Y.shape[1] == 1 else Y.argmax(axis=1)
            if want_cost:
                cost_sum += self.cost.fn(a, Y)
            if want_correct:
                correct += int(np.sum(_labels_from_z(z, self.output) == labels))
        return cost_sum, correct

    def feedforward(self, X: ArrayLike) -> FloatArray:
        """Output activations :math:`a^L` for each row of X (eq. 25, row by row).

        Parameters
        ----------
        X : array-like of shape (n, sizes[0])
            One example per row. One ``(sizes[0], 1)`` column — network2's layout for one example — is
            also accepted and gives one ``(sizes[-1], 1)`` column, as network2's ``feedforward`` does.

        Returns
        -------
        ndarray of shape (n, sizes[-1])
            The output layer's activations, in the network's dtype.
        """
        if self.sizes[0] > 1 and _shape(X) == (self.sizes[0], 1):
            return self.feedforward(np.reshape(X, (1, -1))).reshape(-1, 1)
        X = self._features(X, check=False)  # checked for NaN/inf by the core, block by block
        out = np.empty((len(X), self.sizes[-1]), dtype=self.dtype)
        self._evaluate(X, out=out, check="X")
        return out

    def predict(self, X: ArrayLike) -> IntArray:
        """The predicted class of each row of X: the argmax of the output layer's weighted inputs
        zᴸ (the order saturated sigmoid activations lose); with one sigmoid output, 1 where
        z ≥ 0 (a ≥ 0.5), else 0; with one softmax or linear output, the argmax: always 0 (a
        regression network has no classes: use :meth:`feedforward`). The same rule as
        :meth:`accuracy` and the exported ONNX graph's label.

        Parameters
        ----------
        X : array-like of shape (n, sizes[0])

        Returns
        -------
        ndarray of shape (n,)
            Predicted class indices.
        """
        # X is checked for NaN/inf by the core in the pass that measures its density (one pass
        # over X, not two), with the message of to_features' check
        X = self._features(X, check=False)
        z = np.empty((len(X), self.sizes[-1]), dtype=self.dtype)
        self._core_evaluate(X, self._inference_threads(), out=z, raw=True, check="X")
        _check_finite_outputs(z, "predict")
        return _labels_from_z(z, self.output)

    def _count_correct(self, X, t, what="accuracy", check=None):
        """Rows whose predicted class (predict's rule) matches t, computed from the output
        layer's weighted inputs in blocks; ValueError naming how many rows give a non-finite
        output (such a row has no class: it is never counted as correct). check: X's name when
        the core is to check X for NaN/inf (in the pass that measures its density)."""
        n_out = self.sizes[-1]
        block = max(1, min(4096, (1 << 22) // n_out))  # at most 32 MB of outputs at a time
        correct, bad, first = 0, 0, None
        z = np.empty((min(block, len(X)), n_out), dtype=self.dtype)
        threads = self._inference_threads()
        for r0 in range(0, len(X), block):
            r1 = min(len(X), r0 + block)
            zb = z[: r1 - r0]
            self._core_evaluate(X[r0:r1], threads, out=zb, raw=True, check=check, first_row=r0)
            finite = np.isfinite(zb).all(axis=1)
            if not finite.all():
                bad += int((~finite).sum())
                first = r0 + int(np.argmin(finite)) if first is None else first
            if t.kind == "labels":
                labels = t.labels[r0:r1]
            else:  # the class of a target row: as predict's rule for z (one sigmoid: >= 0.5)
                Y = t.targets[r0:r1]
                if Y.shape[1] > 1:
                    labels = Y.argmax(axis=1)
                elif self.output == "sigmoid":
                    labels = (Y[:, 0] >= 0.5).astype(np.intp)
                else:  # one softmax/linear output: the argmax of one column, 0
                    labels = np.zeros(len(Y), dtype=np.intp)
            correct += int(np.sum((_labels_from_z(zb, self.output) == labels) & finite))
        if bad:
            raise ValueError(_non_finite_message(what, bad, len(X), first, self.dtype))
        return correct

    def _check_has_classes(self, what):
        if self.sizes[-1] == 1 and self.output == "linear":
            raise ValueError(
                f"{what}: a network with one linear output neuron (regression) has no classes, so "
                f'no accuracy; use total_cost, and stopping_metric="cost" for early stopping '
                f"or the eta schedule"
            )

    def accuracy(self, X: ArrayLike | DataLike, y: Any = None, convert: bool | None = None) -> int:
        """Number of rows whose predicted class matches y (labels, or the argmax of one-hot or
        target rows). The prediction is :meth:`predict`'s: the argmax of zᴸ; with one sigmoid
        output z ≥ 0, counted as correct where it equals y ≥ 0.5 (so soft targets work). One
        linear output: ValueError (regression has no accuracy).

        Two signatures, chosen by the first argument:

        - array form ``accuracy(X, y)``: X an (n, d) array, y labels, one-hot or target rows (compared by
          their argmax); ``accuracy((X, y))`` also works.
        - network2's form ``accuracy(data, convert=False)`` when ``data`` is a list (or tuple, or
          iterator such as ``zip``) of (x, y) pairs; the second positional argument is then
          ``convert``, with network2's meaning: ``convert=False`` — y are int labels (network2's
          validation and test data); ``convert=True`` — y are one-hot vectors (its training data).
          A y that does not match the stated ``convert`` raises ValueError.

        Parameters
        ----------
        X : array-like of shape (n, sizes[0]), or (X, y), or network2's list of (x, y) pairs
        y : array-like of shape (n,) or (n, sizes[-1]), optional
            Labels or one-hot/target rows (array form); network2's ``convert`` (pairs form).
        convert : bool, optional
            network2's meaning of y in the pairs form (see above).

        Returns
        -------
        int
            A count, as network2 (divide by n for a fraction, or use :meth:`score`).
        """
        self._check_has_classes("accuracy")
        if is_pairs(X, self.sizes):
            if y is not None:
                if convert is not None:
                    raise TypeError(
                        "accuracy() got two values for convert (network2's signature "
                        "is accuracy(data, convert=False))"
                    )
                convert = y
            data = network2_xy(X, convert, bool(convert), "accuracy", self.sizes)
        else:
            if convert is not None:
                raise TypeError(
                    "convert: only for network2's list of (x, y) pairs; with arrays, "
                    "pass labels or one-hot rows as y"
                )
            data = X if y is None else (X, y)
        # X is checked for NaN/inf by the core, block by block, in its pass over the rows
        Xa, t = self._dataset(data, "data", check_finite=False)
        return self._count_correct(Xa, t, check="data X")

    def total_cost(
        self,
        X: ArrayLike | DataLike,
        y: Any = None,
        lmbda: float = 0.0,
        regularization: str = "l2",
        convert: bool | None = None,
    ) -> float:
        r"""Mean cost over the rows plus the regularization term, as network2's ``total_cost``.

        .. math::

            \frac{1}{n} \sum_x C_x + \frac{\lambda}{2n} \sum_w w^2
            \quad \left(\text{L1: } \frac{\lambda}{n} \sum_w |w|\right)

        with :math:`n` the number of rows evaluated. Two signatures, chosen by the first argument:

        - array form ``total_cost(X, y, lmbda=0.0, regularization="l2")`` (or ``total_cost((X, y))``).
        - network2's form ``total_cost(data, lmbda, convert=False)`` when ``data`` is a list (or
          tuple, or iterator) of (x, y) pairs: the second positional argument is ``lmbda``, the
          third ``convert``, with network2's meaning — the opposite of accuracy's:
          ``convert=False`` — y are one-hot vectors (network2's training data);
          ``convert=True`` — y are int labels (its validation and test data).

        Parameters
        ----------
        X : array-like of shape (n, sizes[0]), or (X, y), or network2's list of (x, y) pairs
        y : array-like of shape (n,) or (n, sizes[-1]), optional
            Labels or one-hot/target rows (array form); network2's ``lmbda`` (pairs form).
        lmbda : float, default 0.0
            Regularization parameter :math:`\lambda`.
        regularization : {"l2", "l1"}, default "l2"
        convert : bool, optional
            network2's meaning of y in the pairs form (see above).

        Returns
        -------
        float
        """
        if is_pairs(X, self.sizes):
            if y is not None:  # network2: total_cost(data, lmbda, convert): shift by one
                third, lmbda = lmbda, y
                if isinstance(third, (bool, np.bool_)):
                    if convert is not None:
                        raise TypeError(
                            "total_cost() got two values for convert (network2's "
                            "signature is total_cost(data, lmbda, convert=False))"
                        )
                    convert = bool(third)
                elif third != 0.0:
                    raise TypeError(
                        "total_cost() got two values for lmbda (network2's signature "
                        "is total_cost(data, lmbda, convert=False))"
                    )
            check_hyper("lmbda", lmbda)
            check_choice("regularization", regularization, REGULARIZATIONS)
            Xa, t = self._dataset(network2_xy(X, convert, not convert, "total_cost", self.sizes), "data")
            return self._total_cost(Xa, t, lmbda, regularization)
        if convert is not None:
            raise TypeError(
                "convert: only for network2's list of (x, y) pairs; with arrays, pass "
                "labels or one-hot rows as y"
            )
        check_hyper("lmbda", lmbda)
        check_choice("regularization", regularization, REGULARIZATIONS)
        X, t = self._dataset(X if y is None else (X, y), "data")
        return self._total_cost(X, t, lmbda, regularization)

    def _total_cost(self, X, t, lmbda, regularization):
        if len(X) == 0:
            raise ValueError("data: expected at least one row, got 0")
        return self._regularized_cost(self._evaluate(X, t, want_cost=True)[0], len(X), lmbda, regularization)

    def _regularized_cost(self, cost_sum, n, lmbda, regularization):
        """network2's total cost from the summed cost of n rows: mean + ½(λ/n)Σ‖w‖² (L1 (λ/n)Σ|w|)."""
        cost = cost_sum / n
        if lmbda:
            if regularization == "l1":
                cost += (lmbda / n) * sum(float(np.abs(w).sum()) for w in self._w)
            else:
                # Σw² by numpy's own loop, not np.vdot: OpenBLAS's ddot runs on several threads
                # from 10,000 weights (W¹ of [784,30,10] has 23,520), and its idle workers then
                # spin for ~20 ms on the other cores, where a training team runs (this is called
                # every epoch when training cost is monitored); the sum then also depended on the
                # machine's core count.
                cost += 0.5 * (lmbda / n) * sum(float(np.einsum("ij,ij->", w, w)) for w in self._w)
        return float(cost)

    def score(self, X: ArrayLike, y: ArrayLike) -> float:
        """Fraction of rows classified correctly.

        Parameters
        ----------
        X : array-like of shape (n, sizes[0])
        y : array-like of shape (n,) or (n, sizes[-1])
            Labels, or one-hot/target rows.

        Returns
        -------
        float
            ``accuracy(X, y) / n``.
        """
        X = self._features(X)
        return self.accuracy(X, y) / max(len(X), 1)

    # ---- training ----------------------------------------------------------------------------
    @_training_options  # the arguments: _vocabulary.SGDArguments, the options' one declaration
    def SGD(self, *args: Any, **kwargs: Any) -> MonitorLists:
        r"""Mini-batch stochastic gradient descent, as network2.SGD.

        Each epoch shuffles the training rows (``shuffle=False``: consecutive mini-batches in
        order) and applies, per mini-batch of :math:`m` rows out of :math:`n` (L2, eq. 93; L1,
        eq. 96: :math:`w \to w - \frac{\eta\lambda}{n}\,\mathrm{sgn}(w) - \ldots`)

        .. math::

            w \to \left(1 - \frac{\eta\lambda}{n}\right) w
                   - \frac{\eta}{m} \sum_x \frac{\partial C_x}{\partial w}, \qquad
            b \to b - \frac{\eta}{m} \sum_x \frac{\partial C_x}{\partial b},

        or with momentum :math:`\mu`: :math:`v \to \mu v - \eta \nabla C`,
        :math:`w \to w + v` (:math:`\nabla C` including the regularization term).

        Parameters
        ----------
        training_data : (X, y) arrays or network2's list of (x, y) pairs
            One-hot or int ``y`` alike.
        epochs : int
            Number of epochs (0: validate only).
        mini_batch_size : int
            Rows per mini-batch, :math:`m`.
        eta : float
            Learning rate :math:`\eta > 0`.
        lmbda : float, default 0.0
            Regularization parameter :math:`\lambda`, divided by the training-set size :math:`n`.
        evaluation_data : (X, y) arrays or list of (x, y) pairs, optional
            Data monitored after each epoch (and used by early stopping and the schedule).
        monitor_evaluation_cost : bool, default False
            Record the evaluation cost after each epoch: network2's, whose regularization term
            ½(λ/n)Σw² uses n = the evaluation set's size; ``history`` also records the mean
            per-example cost without the term (``evaluation_data_cost``), the one to compare
            with ``training_data_cost``.
        monitor_evaluation_accuracy : bool, default False
            Record the number of evaluation rows classified correctly after each epoch.
        monitor_training_cost : bool, default False
            Record the training cost after each epoch (network2's, with the regularization term;
            ``history`` also records the data cost without it, ``training_data_cost``).
        monitor_training_accuracy : bool, default False
            Record the number of training rows classified correctly after each epoch.
        shuffle : bool, default True
            Shuffle the training rows every epoch.
        regularization : {"l2", "l1"}, default "l2"
            The penalty: :math:`\frac{\lambda}{2n}\sum w^2` or :math:`\frac{\lambda}{n}\sum |w|`.
        momentum : float in [0, 1), default 0.0
            Momentum coefficient :math:`\mu`. The velocity :math:`v` is kept on the network and
            carries over between ``SGD`` calls (a call with ``momentum=0`` neither uses nor
            changes it; the next call with momentum continues from it); assigning
            weights/biases or re-initialising resets it to zero.
        dropout : float in [0, 1), default 0.0
            Probability of dropping a hidden neuron. Not the book's exact procedure: the book
            deletes half the hidden neurons once per mini-batch and halves the outgoing weights at
            inference; fastnn draws an independent mask for every example of the mini-batch and
            scales the kept activations by 1/(1−p) during training ("inverted" dropout), so the
            trained weights are used as they are at inference (``feedforward``, ``predict``, saved
            and exported models need no rescaling) and the mask is drawn in the compiled kernels
            (no per-mini-batch Python step). Both make the expected input of the next layer the
            same in training and inference.
        early_stopping : int, optional
            Stop after this many epochs without a better evaluation score.
        restore_best : bool, default True
            With early stopping or the schedule, keep the parameters of the best evaluation epoch.
        eta_schedule : int, optional
            Multiply :math:`\eta` by ``eta_decay`` after this many epochs without a better
            evaluation score; stop once :math:`\eta < \eta_0 \cdot` ``min_eta_ratio``.
        eta_decay : float in (0, 1), default 0.5
        min_eta_ratio : float in (0, 1], default 1/128
        stopping_metric : {"accuracy", "cost"}, default "accuracy"
            "Better" is a higher evaluation accuracy, or with ``"cost"`` (regression) a lower mean
            evaluation cost (without the regularization term).
        track_loss : bool, default False
            Record the mean training loss of each epoch's mini-batches in ``history``.
        progress : bool, default False
            Show a tqdm progress bar.
        callback : callable, optional
            Called as ``callback(record)`` after each epoch with its :class:`~fastnn.EpochRecord`
            (checked before training to accept one positional argument: TypeError otherwise).
            Returning ``False`` stops training cleanly (``history.stop_reason == "callback"``;
            any other return value continues). If it raises, the epoch it saw is kept (no
            restore of the best epoch), ``history.stop_reason`` becomes ``"callback-error"`` and
            the exception propagates.
        n_threads : int, optional
            Threads that run this ONE training (1..1024; default: ``Network.n_threads``, i.e. one):
            a team of POSIX threads inside the compiled loop, each owning a block of every hidden
            layer's neurons (its rows of W). The results are bit-for-bit the same for every
            ``n_threads``. Clamped to the useful number of blocks (one per row block of the
            kernels — 3 neurons on AVX2, 4 on AVX-512 — of the widest hidden layer); 1 when a
            layer runs on BLAS (wide layers at large mini-batches), for networks without a hidden
            layer, and on Windows. Inside a joblib worker, capped by the worker's thread budget
            (one warning). Each chunk of mini-batches (~0.1 s) runs on the whole team or on one
            thread, whichever measured faster a moment ago: on a machine whose cores are busy
            with other work a team is slower than one thread, and training then falls back to one
            (the same results either way).
        sample_weight : array-like of shape (n,), optional
            Weights of the training rows (finite, >= 0, not all zero): normalised to mean 1, row
            :math:`i`'s :math:`\delta^L` is scaled by :math:`w_i`, so a full-batch step follows the
            gradient of :math:`\sum_i w_i C_i / \sum_i w_i` (+ the penalty); ``track_loss`` reports
            that weighted mean. The monitored training cost/accuracy stay unweighted (network2's
            definitions).
        verbose : bool, default False
            Print network2's lines after each epoch ("Epoch j training complete", the monitored
            costs, "Accuracy on evaluation data: k / n"; epochs counted from 0 as there).
        resume : bool, default False
            Continue the previous training run for ``epochs`` more epochs, exactly as if it had
            not stopped: the shuffling order and generator, the dropout generator, the momentum
            velocity, the epoch count, the η schedule (current η) and the early-stopping state
            are those the run left (in memory, or in a checkpoint written by
            ``save(path, state=True)`` and read by ``fastnn.load``). 10 epochs, a checkpoint, and
            10 more with ``resume=True`` give bit for bit the parameters of 20 in one call.

        Returns
        -------
        evaluation_cost, evaluation_accuracy, training_cost, training_accuracy : list
            network2's four monitoring lists; ``self.history`` holds the per-epoch records.

        Notes
        -----
        Ctrl-C stops within a fraction of a second, leaving the parameters of the last completed
        mini-batch, and re-raises KeyboardInterrupt (``history.stop_reason == "interrupted"``).
        """
        # ---- check everything before anything changes ----
        try:
            bound = _SGD_SIGNATURE.bind(self, *args, **kwargs).arguments
        except TypeError as e:  # as Python says it: "SGD() got an unexpected keyword argument 'x'"
            raise TypeError(f"SGD() {e}") from None
        training_data, evaluation_data = bound.pop("training_data"), bound.pop("evaluation_data", None)
        del bound["self"]
        o = check_options(**bound)  # every option by its declared rule (_vocabulary.SGDArguments)
        n_threads = _team_threads(self.n_threads or 1 if o.n_threads is None else o.n_threads)
        needs_eval = o.early_stopping is not None or o.eta_schedule is not None
        accuracy = o.monitor_evaluation_accuracy or o.monitor_training_accuracy
        by_accuracy = accuracy or (needs_eval and o.stopping_metric == "accuracy")
        if self.sizes[-1] == 1 and self.output == "linear" and by_accuracy:
            what = (
                'early_stopping/eta_schedule with stopping_metric="accuracy"'
                if not accuracy
                else "monitor_*_accuracy"
            )
            self._check_has_classes(what)
        # X's values are checked for NaN/inf inside the compiled loop during the first epoch, while
        # each mini-batch is in cache (no extra pass over the data); see reject_bad_batch.
        X, y = self._dataset(training_data, "training_data", check_finite=o.epochs == 0)
        n = len(X)
        if n == 0:
            raise ValueError("training_data: expected at least one example, got 0")
        if o.mini_batch_size > n:
            raise ValueError(
                f"mini_batch_size: expected at most the number of training examples "
                f"({n}), got {o.mini_batch_size}"
            )
        sample_weight = o.sample_weight
        if sample_weight is not None:
            sample_weight = to_sample_weight(sample_weight, "sample_weight", n, self.dtype)
        Xe = ye = None
        if evaluation_data is not None:
            Xe, ye = self._dataset(evaluation_data, "evaluation_data")
            if len(Xe) == 0:
                raise ValueError("evaluation_data: expected at least one example, got 0")
        if needs_eval and Xe is None:
            raise ValueError(
                "evaluation_data: early_stopping and eta_schedule monitor the "
                f"evaluation {o.stopping_metric}, so evaluation_data is required"
            )
        if (o.monitor_evaluation_cost or o.monitor_evaluation_accuracy) and Xe is None:
            raise ValueError("evaluation_data: required to monitor the evaluation cost/accuracy")
        check_finite(self._params, "network parameters (weights/biases)")
        state = resume_state(self, n) if o.resume else None
        # the run's options: the team's size and the rows' weights as the run uses them
        o = o.replace(n_threads=n_threads, sample_weight=sample_weight)

        # ---- the run: epochs, then the best epoch's parameters back ----
        # a refused resume (a state the run cannot take) leaves the network as it was
        before = _state.snapshot(self) if state is not None else None
        try:
            run = _TrainingRun(self, (X, y), (Xe, ye), o, state=state)
        except BaseException:
            if before is not None:
                _state.restore(self, before)
            raise
        try:
            for epoch in run.epochs():
                record = run.train_epoch(epoch)
                if run.after_epoch(record, o.callback):
                    break
        except KeyboardInterrupt:
            run.history.stop_reason = "interrupted"
            raise
        finally:
            run.close()
        return run.finish()

    # ---- persistence -------------------------------------------------------------------------
    def save(self, filename: PathLike, state: bool = False) -> None:
        """Write the network to a JSON file (network2's format plus fastnn's fields), atomically.

        Parameters
        ----------
        filename : str or os.PathLike
            Destination; written through a temporary file in the same directory, then renamed.
        state : bool, default False
            Make it a checkpoint: also write the training state that ``SGD(..., resume=True)``
            continues from after ``fastnn.load`` (velocity, generators, epoch count, η schedule,
            early stopping, shuffling order, history).

        See Also
        --------
        fastnn.load, fastnn.io.save
        """
        from ._model_writer import save

        save(self, filename, state=state)


class _ParameterList(list):
    """``net.weights`` / ``net.biases``: a list of views of the network's buffer whose item
    assignment (network2's ``net.weights[0] = W``) validates and copies into the buffer. The number
    of layers is fixed: deleting, appending, inserting, ... raise TypeError."""

    def __init__(self, net, name, views):
        super().__init__(views)
        self._net, self._name, self._views = net, name, views

    def __setitem__(self, index, value):
        n = len(self._views)
        if isinstance(index, slice):
            idx = range(*index.indices(n))
            values = list(value)
            if len(values) != len(idx):
                raise ValueError(
                    f"{self._name}[{index.start}:{index.stop}]: expected "
                    f"{len(idx)} arrays (the number of layers is fixed), got "
                    f"{len(values)}"
                )
        else:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
                raise TypeError(f"{self._name}: layer indices must be integers, got {type(index).__name__}")
            if not -n <= index < n:
                raise IndexError(f"{self._name}[{index}]: the network has {n} layers of {self._name}")
            idx, values = [int(index) % n], [value]
        converted = [self._net._convert_layer(self._name, l, v, self._views[l]) for l, v in zip(idx, values)]
        for l, arr in zip(idx, converted):
            self._views[l][...] = arr
        self._net._velocity = None
        self._net._train_state = None  # as the whole-list setter: no checkpoint resumes

    def _fixed(self, *args, **kwargs):
        raise TypeError(
            f"{self._name}: the number of layers is fixed by sizes; assign "
            f"{self._name}[l] = array to change a layer"
        )

    __delitem__ = append = extend = insert = pop = remove = clear = sort = reverse = _fixed
    __iadd__ = __imul__ = _fixed


def _non_finite_message(what, bad, n, first, dtype):
    return (
        f"{what}: {bad:,} of {n:,} rows give a non-finite output (NaN or infinity; first: row "
        f"{first}), so they have no predicted class; inputs too large for "
        f"{np.dtype(dtype).name}, or parameters that overflow?"
    )


def _check_finite_outputs(z, what):
    """Refuse outputs with non-finite rows (they have no class), naming how many."""
    if z.size and not np.isfinite(z).all():
        finite = np.isfinite(z).all(axis=1)
        bad = int((~finite).sum())
        raise ValueError(_non_finite_message(what, bad, len(z), int(np.argmin(finite)), z.dtype))


def _labels_from_z(z, output):
    """The predicted class of each row of the output layer's weighted inputs z: argmax of z;
    one sigmoid output: 1 where z >= 0 (a >= 0.5), else 0."""
    if z.shape[1] == 1 and output == "sigmoid":
        return (z[:, 0] >= 0).astype(np.intp)
    return z.argmax(axis=1).astype(np.intp, copy=False)


def _shape(X):
    try:
        return np.shape(X)
    except ValueError:  # ragged: reported by the full check
        return None
