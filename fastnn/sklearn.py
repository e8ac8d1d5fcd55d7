"""scikit-learn estimators backed by :class:`fastnn.Network`.

``NetworkClassifier`` and ``NetworkRegressor`` follow scikit-learn's estimator conventions, so they
work in ``Pipeline``, ``GridSearchCV``/``RandomizedSearchCV``, ``cross_val_score`` and every joblib
backend (loky, threading, Dask, Ray)::

    from sklearn.model_selection import GridSearchCV
    from fastnn.sklearn import NetworkClassifier

    search = GridSearchCV(NetworkClassifier(epochs=30, random_state=0),
                          {"hidden_layer_sizes": [(30,), (100,)], "eta": [0.1, 0.5]}, n_jobs=2)
    search.fit(X, y)

Each ``fit`` makes ONE call to ``network_.SGD(...)`` covering all epochs: the mini-batch loop runs in
the compiled core and the estimator adds no per-mini-batch Python work (only optional per-epoch
callbacks for ``verbose`` output and the regressor's early stopping). ``partial_fit`` runs one epoch.

Hyper-parameters use the conventions of Nielsen's book and of ``fastnn.Network``: ``eta`` is the
learning rate, ``lmbda`` the regularization parameter, divided by the training-set size n (so the
weight-decay step per mini-batch is ``eta * lmbda / n``; scikit-learn's ``MLPClassifier(alpha=a)``
corresponds to ``lmbda = a * n / batch_size``).
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import sys
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _state
from . import _vocabulary as V
from .costs import COSTS

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._typing import ArrayLike

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sklearn_validate_data
except ImportError:  # pragma: no cover - scikit-learn < 1.6
    _sklearn_validate_data = None

__all__ = ["NetworkClassifier", "NetworkRegressor"]

_SEED_MAX = np.iinfo(np.int32).max

# Checks of sklearn.utils.estimator_checks that cannot apply, with the reason (check name -> reason).
# Used by `parametrize_with_checks(..., expected_failed_checks=...)` (scikit-learn >= 1.6) and by the
# `_xfail_checks` tag of older versions.
_SAMPLE_WEIGHT_REASON = (
    "mini-batch SGD: an integer weight scales a row's gradient within its mini-batch, while a "
    "repeated row is a separate example in other mini-batches (and changes n in lambda/n and the "
    "number of steps), so the two fits differ; scikit-learn's MLP estimators fail it for the same "
    "reason"
)
_CLASSIFIER_XFAIL_CHECKS: dict[str, str] = {
    "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON
}
_REGRESSOR_XFAIL_CHECKS: dict[str, str] = {
    "check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON
}


def expected_failed_checks(estimator):
    """The estimator checks expected to fail for ``estimator``, as {check name: reason}.

    For ``parametrize_with_checks(..., expected_failed_checks=expected_failed_checks)``.
    """
    if isinstance(estimator, NetworkClassifier):
        return dict(_CLASSIFIER_XFAIL_CHECKS)
    if isinstance(estimator, NetworkRegressor):
        return dict(_REGRESSOR_XFAIL_CHECKS)
    return {}


def _validate_data(estimator, *args, **kwargs):
    """scikit-learn's input validation (``validate_data`` since 1.6, the ``_validate_data`` method before).
    Masked arrays are refused first (scikit-learn's conversion would drop the mask)."""
    from ._validation import refuse_masked

    for name, a in zip(("X", "y"), args):
        refuse_masked(a, name)
    if _sklearn_validate_data is not None:
        return _sklearn_validate_data(estimator, *args, **kwargs)
    return estimator._validate_data(*args, **kwargs)  # pragma: no cover


def _network_class():
    # Imported lazily: fastnn/__init__.py may import this module, and importing fastnn.sklearn must
    # stay cheap.
    from .network import Network

    return Network


def _cost_name(cost):
    """Name of a cost given as a string or as a fastnn cost class (``fastnn.CrossEntropyCost``)."""
    return cost if isinstance(cost, str) else cost.name


def _constraint(c):
    """scikit-learn's form of a constraint of the spec (_vocabulary.ESTIMATOR)."""
    if isinstance(c, V.Interval):
        return V.sklearn_constraint(c)
    if isinstance(c, tuple):
        return StrOptions(set(c))
    return c  # "boolean", "verbose", "random_state", "array-like", a type, None


#: scikit-learn's parameter constraints, generated from fastnn's spec (_vocabulary.ESTIMATOR, whose
#: numeric parameters take the rules of the training options they set), plus the objects a string
#: stands for (fastnn's cost classes, numpy's float types)
_PARAMETER_CONSTRAINTS = {
    name: [_constraint(c) for c in V.estimator_constraints(name)] for name in V.ESTIMATOR
}
_PARAMETER_CONSTRAINTS["cost"].append(Options(type, set(COSTS.values())))
_PARAMETER_CONSTRAINTS["dtype"] += [
    Options(type, {np.float64, np.float32}),
    Options(np.dtype, {np.dtype(d) for d in V.DTYPES}),
]
_CLASS_WEIGHT_CONSTRAINT = _PARAMETER_CONSTRAINTS.pop("class_weight")


def _estimator_init(signature: inspect.Signature) -> Callable[..., None]:
    """An estimator's ``__init__`` with the spec's parameters (`signature`, from
    _vocabulary.estimator_signature): stores each one, as scikit-learn wants, and shows them to
    ``get_params``, ``help()`` and ``inspect``."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as e:  # as Python says it: "... got an unexpected keyword argument 'x'"
            raise TypeError(f"{type(self).__name__}.__init__() {e}") from None
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__


def _encode_labels(classes, y):
    """Indices of the labels ``y`` in the sorted array ``classes``; ValueError for unknown labels."""
    idx = np.searchsorted(classes, y)
    bad = classes[np.minimum(idx, len(classes) - 1)] != y
    if np.any(bad):
        unseen = unique_labels(np.asarray(y)[bad])
        raise ValueError(f"y contains labels {list(unseen[:10])} that are not in classes_ {list(classes)}")
    return idx.astype(np.int64)


def _trainable(a):
    """C-contiguous (read-only memmaps, as joblib passes them to workers, are used as they are)."""
    return np.ascontiguousarray(a)


def _fit_or_restore(fit):
    """A failed fit (bad parameters, divergence, Ctrl-C, ...) leaves the estimator exactly as it
    was: the fitted attributes (n_features_in_, network_, classes_, ...) are put back, so they
    never disagree with each other (n_features_in_=5 next to a 4-input network)."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


#: scikit-learn's MLPClassifier/MLPRegressor parameters that fastnn names or does differently:
#: what to write instead (said by the TypeError / ValueError of a habit like max_iter=200).
SKLEARN_HABITS = {
    "max_iter": "fastnn calls it epochs: epochs={v!r}",
    "alpha": (
        "fastnn's L2 parameter is lmbda, the book's, divided by the training-set size n: "
        "lmbda = alpha * n / batch_size (e.g. alpha={v!r} on 50,000 rows, batch_size=10: "
        "lmbda={example:g})"
    ),
    "learning_rate_init": (
        "fastnn calls it eta: eta={v!r} (fastnn's plain mini-batch SGD, no Adam, wants the "
        "book's 0.1-3, not Adam's 0.001)"
    ),
    "solver": (
        "fastnn trains with mini-batch SGD only (the book's); drop solver= "
        "(solver='sgd' with momentum: momentum=0.9)"
    ),
    "learning_rate": (
        "fastnn halves eta after N epochs without improvement with eta_schedule=N "
        "(scikit-learn's 'adaptive'); the default is a constant eta"
    ),
    "nesterovs_momentum": "fastnn's momentum is the book's (not Nesterov's): use momentum=",
    "beta_1": "an Adam parameter: fastnn trains with SGD (eta, momentum)",
    "beta_2": "an Adam parameter: fastnn trains with SGD (eta, momentum)",
    "epsilon": "an Adam parameter: fastnn trains with SGD (eta, momentum)",
    "max_fun": "an L-BFGS parameter: fastnn trains with SGD (epochs)",
    "power_t": "fastnn has no inverse-scaling schedule: eta_schedule=N halves eta on a plateau",
}


def _habit_messages(cls_name, kwargs):
    """One sentence per scikit-learn habit among ``kwargs``, '' if none."""
    out = []
    for name, value in kwargs.items():
        if name in SKLEARN_HABITS:
            example = value * 50_000 / 10 if isinstance(value, numbers.Real) else float("nan")
            out.append(f"{name}: " + SKLEARN_HABITS[name].format(v=value, example=example))
    return "; ".join(out)


class _BaseNetwork(BaseEstimator):
    """Shared implementation of NetworkClassifier and NetworkRegressor (not public)."""

    _parameter_constraints: ClassVar[dict] = _PARAMETER_CONSTRAINTS
    _signature: ClassVar[inspect.Signature]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_signature" in cls.__dict__:  # an __init__ of its own, which get_params reads
            cls.__init__ = _estimator_init(cls._signature)

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # replaced per estimator, above
        raise TypeError(f"{type(self).__name__} is not an estimator of fastnn.sklearn")

    def __new__(cls, *args, **kwargs):
        # scikit-learn habits (max_iter=, alpha=, ...) get fastnn's name and the conversion
        # instead of a bare "unexpected keyword argument"
        habits = {k: v for k, v in kwargs.items() if k in SKLEARN_HABITS}
        if habits:
            raise TypeError(
                f"{cls.__name__}() got an unexpected keyword argument {next(iter(habits))!r} "
                f"(a scikit-learn MLP parameter): {_habit_messages(cls.__name__, habits)}"
            )
        return super().__new__(cls)

    def set_params(self, **params):
        habits = {k: v for k, v in params.items() if k in SKLEARN_HABITS}
        if habits:
            raise ValueError(
                f"Invalid parameter {next(iter(habits))!r} for estimator {type(self).__name__} "
                f"(a scikit-learn MLP parameter): {_habit_messages(type(self).__name__, habits)}"
            )
        return super().set_params(**params)

    # ----------------------------------------------------------------------------- parameters
    def _validated_params(self):
        """All hyper-parameters, checked and normalized; raises before any state changes."""
        self._validate_params()  # scikit-learn's InvalidParameterError on a bad value
        hls = self.hidden_layer_sizes
        hls = (hls,) if isinstance(hls, numbers.Integral) else tuple(hls)
        p = self.get_params(deep=False)  # the spec's parameters (_vocabulary.ESTIMATOR), normalized:
        p["hidden_layer_sizes"] = tuple(
            V.check_hyper(f"hidden_layer_sizes[{i}]", h, V.COUNT) for i, h in enumerate(hls)
        )
        p["cost"] = _cost_name(self.cost)
        p["output"] = self.output
        p["hidden"] = V.ACTIVATION_ALIASES.get(self.activation, self.activation)
        p["early_stopping"] = bool(self.early_stopping)
        p["dtype"] = np.dtype(self.dtype)
        p["verbose"] = int(self.verbose)
        p["tol"] = None if self.tol is None else float(self.tol)
        self._check_extra_params(p)
        return p

    def _check_extra_params(self, p):
        """Estimator-specific checks of the normalized parameters (subclasses)."""

    # ----------------------------------------------------------------------------- training
    def _new_network(self, p, n_inputs, n_outputs, seed):
        sizes = (n_inputs,) + p["hidden_layer_sizes"] + (n_outputs,)
        return _network_class()(
            sizes,
            cost=p["cost"],
            output=p["output"],
            hidden=p["hidden"],
            weight_init=p["weight_init"],
            dtype=p["dtype"],
            seed=seed,
        )

    def _check_reusable(self, p, n_outputs):
        """For warm_start / partial_fit: the existing network_ must match the current parameters."""
        net = self.network_
        sizes = (self.n_features_in_,) + p["hidden_layer_sizes"] + (n_outputs,)
        expected = {"sizes": sizes, "cost": p["cost"], "hidden": p["hidden"], "dtype": p["dtype"]}
        actual = {
            "sizes": tuple(net.sizes),
            "cost": _cost_name(net.cost),
            "hidden": net.hidden,
            "dtype": np.dtype(net.dtype),
        }
        if p["output"] is not None:
            expected["output"], actual["output"] = p["output"], net.output
        diff = sorted(k for k in expected if expected[k] != actual[k])
        if diff:
            raise ValueError(
                "{}: cannot continue training (warm_start=True or partial_fit) because the network's {} "
                "changed: fitted {}, now {}. Fit with warm_start=False to start from scratch.".format(
                    type(self).__name__,
                    ", ".join(diff),
                    {k: actual[k] for k in diff},
                    {k: expected[k] for k in diff},
                )
            )

    def _train(self, p, X, Y, *, epochs, reuse, n_outputs, allow_validation, weights=None):
        """Create or reuse ``network_`` and train it with ONE ``SGD`` call; sets the fitted attributes.

        ``Y`` is int labels (n,) for the classifier, targets (n, n_outputs) for the regressor;
        ``weights`` (n,) the per-row weights (sample_weight times class_weight) or None.
        """
        rng = check_random_state(self.random_state)
        net_seed = int(rng.randint(_SEED_MAX))
        split_seed = int(rng.randint(_SEED_MAX))
        if reuse:
            self._check_reusable(p, n_outputs)
            net = self.network_
        else:
            net = self._new_network(p, X.shape[1], n_outputs, net_seed)

        use_validation = allow_validation and (p["early_stopping"] or p["eta_schedule"] is not None)
        W_train = weights
        if use_validation:
            if weights is None:
                X_train, X_val, Y_train, Y_val = self._split_validation(p, X, Y, split_seed)
            else:  # the same split of the rows, weights alongside
                idx = np.arange(len(X))
                tr, va = self._split_validation(p, idx, Y, split_seed)[:2]
                X_train, X_val, Y_train, Y_val, W_train = X[tr], X[va], Y[tr], Y[va], weights[tr]
        else:
            X_train, Y_train, X_val, Y_val = X, Y, None, None
        X_train, Y_train = _trainable(X_train), _trainable(Y_train)

        # the parameters SGD takes as they are (_vocabulary.ESTIMATOR: passed=True)
        kwargs = {option: p[param] for option, param in V.ESTIMATOR_PASSED.items()}
        kwargs.update(track_loss=True, progress=p["verbose"] >= 2)
        monitor = None
        if use_validation:
            monitor = self._validation_kwargs(p, net, _trainable(X_val), _trainable(Y_val), kwargs)
        converged = (
            _Convergence(p["tol"], p["n_iter_no_change"])
            if (p["tol"] is not None and not use_validation)
            else None
        )
        callbacks = [c for c in (monitor, self._verbose_callback(p, monitor), converged) if c is not None]
        if callbacks:
            kwargs["callback"] = _chain(callbacks)

        if W_train is not None:
            kwargs["sample_weight"] = W_train
        # a failed fit (divergence, Ctrl-C, ...) puts a reused network back as it was
        undo = _state.snapshot(net)
        # the fitted network's inference (predict, score, the validation scores) on the same threads
        net.n_threads = p["n_threads"]
        try:
            net.SGD(
                (X_train, Y_train), epochs, min(p["batch_size"], len(X_train)), p["eta"], p["lmbda"], **kwargs
            )
        except BaseException:
            _state.restore(net, undo)
            raise
        if p["tol"] is not None and net.history.stop_reason == "completed" and epochs > 1:
            import warnings

            from sklearn.exceptions import ConvergenceWarning

            what = (
                "the validation score did not stop improving"
                if use_validation
                else f"the training loss still improved by more than tol={p['tol']:g} within the "
                f"last n_iter_no_change={p['n_iter_no_change']} epochs"
            )
            warnings.warn(
                f"{type(self).__name__}: the {epochs} epochs ended without convergence "
                f"({what}); raise epochs, or tol",
                ConvergenceWarning,
                stacklevel=4,
            )

        records = list(net.history.records)
        losses = [float(r.training_loss) for r in records]
        if use_validation:
            scores = (
                monitor.scores
                if monitor is not None
                else [r.evaluation_accuracy / r.n_evaluation for r in records]
            )
        else:
            scores = None
        self.network_ = net
        if reuse:
            self.loss_curve_ = list(self.loss_curve_) + losses
            self.n_iter_ = int(self.n_iter_) + len(records)
            if scores is not None and getattr(self, "validation_scores_", None) is not None:
                scores = list(self.validation_scores_) + list(scores)
        else:
            self.loss_curve_ = losses
            self.n_iter_ = len(records)
        self.loss_ = float(self.loss_curve_[-1]) if self.loss_curve_ else None
        self.best_loss_ = float(min(self.loss_curve_)) if self.loss_curve_ else None
        self.validation_scores_ = None if scores is None else [float(s) for s in scores]
        self.best_validation_score_ = None if scores is None else float(max(scores))
        return self

    def _split_validation(self, p, X, Y, seed, stratify=None):
        n = X.shape[0]
        n_val = max(self._min_validation_size, round(p["validation_fraction"] * n))
        if n - n_val < 1:
            raise ValueError(
                f"{type(self).__name__}: early_stopping / eta_schedule hold out "
                f"validation_fraction={p['validation_fraction']!r} of the data, "
                f"which leaves no training data with n_samples={n}"
            )
        try:
            return train_test_split(X, Y, test_size=n_val, random_state=seed, stratify=stratify)
        except ValueError:
            if stratify is None:
                raise
            # Too few samples of some class to stratify: fall back to a plain random split.
            return train_test_split(X, Y, test_size=n_val, random_state=seed)

    def _verbose_callback(self, p, monitor):
        if p["verbose"] < 1:
            return None
        name = type(self).__name__

        def report(record):
            line = (
                f"{name} epoch {record.epoch}: loss {record.training_loss:.6g}, eta {record.eta:.4g}, "
                f"{record.seconds:.3f} s"
            )
            if monitor is not None and monitor.scores:
                line += f", validation score {monitor.scores[-1]:.4f}"
            elif record.evaluation_accuracy is not None and record.n_evaluation:
                line += ", validation accuracy %.4f" % (record.evaluation_accuracy / record.n_evaluation)
            print(line, file=sys.stderr, flush=True)

        return report

    # ----------------------------------------------------------------------------- prediction
    def _forward(self, X):
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False, dtype=self.network_.dtype, order="C")
        return self.network_.feedforward(_trainable(X))

    # ----------------------------------------------------------------------------- export
    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices in ``MLPClassifier``'s layout: ``coefs_[l]`` has shape (n_in, n_out), the
        transpose of ``network_.weights[l]``. Read-only views of the fitted network's parameters."""
        check_is_fitted(self)
        return [_read_only(w.T) for w in self.network_.weights]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors in ``MLPClassifier``'s layout: ``intercepts_[l]`` has shape (n_out,).
        Read-only views of the fitted network's parameters."""
        check_is_fitted(self)
        return [_read_only(b) for b in self.network_.biases]

    def to_onnx(self, path=None, *, opset=None):
        """The fitted estimator as an ONNX model (``onnx.ModelProto``; written atomically to ``path``
        when given), built by :func:`fastnn.export.to_onnx`'s exporter. Needs ``pip install
        "fastnn[onnx]"``.

        Input ``X`` (N, n_features_in_) in the estimator's dtype. A classifier outputs
        ``probabilities`` (= ``predict_proba``) and ``label`` (= ``predict``: the ``classes_`` values,
        e.g. strings, not column indices); a regressor outputs ``output`` (= ``predict``).

        Only the estimator is exported: preprocessing done before it (scaling, encoding, the other
        steps of a ``Pipeline``) stays the caller's business and must be applied to ``X`` first.
        """
        from .export import estimator_to_onnx

        return estimator_to_onnx(self, path, opset=opset)


def _read_only(a):
    view = a.view()
    view.flags.writeable = False
    return view


class _Convergence:
    """SGD callback (tol set, no validation split): stop once the epoch's mean training loss has
    not improved by at least tol for n_iter_no_change epochs in a row (scikit-learn's MLP rule)."""

    def __init__(self, tol, n_iter_no_change):
        self.tol, self.patience = tol, n_iter_no_change
        self.best, self.bad = math.inf, 0

    def __call__(self, record):
        loss = record.training_loss
        if loss > self.best - self.tol:
            self.bad += 1
        else:
            self.bad = 0
        self.best = min(self.best, loss)
        return False if self.bad >= self.patience else None


def _sample_weights(estimator, sample_weight, n, dtype, y_encoded=None, classes=None):
    """sample_weight (checked by scikit-learn) times the classifier's class_weight, or None."""
    from sklearn.utils.validation import _check_sample_weight

    from ._validation import refuse_masked

    refuse_masked(sample_weight, "sample_weight")
    w = (
        None
        if sample_weight is None
        else _check_sample_weight(sample_weight, np.empty((n, 1)), dtype=np.float64)
    )
    class_weight = getattr(estimator, "class_weight", None)
    if class_weight is not None and y_encoded is not None:
        from sklearn.utils.class_weight import compute_class_weight

        present = classes[np.unique(y_encoded)]
        if isinstance(class_weight, dict):
            unknown = [k for k in class_weight if k not in set(classes.tolist())]
            if unknown:
                raise ValueError(f"class_weight: labels {unknown} are not in classes_ {list(classes)}")
            per_class = np.array([float(class_weight.get(c, 1.0)) for c in classes])
        else:  # "balanced": n / (n_classes * count), per class seen
            per_class = np.ones(len(classes))
            per_class[np.unique(y_encoded)] = compute_class_weight(
                "balanced", classes=present, y=classes[y_encoded]
            )
        cw = per_class[y_encoded]
        w = cw if w is None else w * cw
    if w is not None:
        if np.any(w < 0) or not np.any(w > 0):
            raise ValueError("sample_weight: expected weights >= 0, not all zero")
        w = np.ascontiguousarray(w, dtype=dtype)
    return w


def _chain(callbacks):
    def callback(record):
        stop = False
        for c in callbacks:
            if c(record) is False:
                stop = True
        return False if stop else None

    return callback


class _R2Scores:
    """Regressor validation scores: R² on the held-out data after each epoch (a per-epoch callback;
    early stopping and the η schedule themselves run in ``Network.SGD`` on the validation cost)."""

    def __init__(self, net, X_val, Y_val):
        self.net, self.X_val, self.Y_val = net, X_val, np.asarray(Y_val, dtype=np.float64)
        self.scores = []
        self.ss_tot = ((self.Y_val - self.Y_val.mean(axis=0)) ** 2).sum(axis=0)

    def __call__(self, record):
        pred = np.asarray(self.net.feedforward(self.X_val), dtype=np.float64)
        ss_res = ((self.Y_val - pred) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(self.ss_tot > 0, 1.0 - ss_res / self.ss_tot, np.where(ss_res == 0, 1.0, 0.0))
        score = float(np.mean(r2))
        self.scores.append(score if math.isfinite(score) else -math.inf)
        return None


class NetworkClassifier(ClassifierMixin, _BaseNetwork):
    """Fully connected feed-forward network classifier trained by fastnn's compiled mini-batch SGD.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(30,)
        Sizes of the hidden layers; ``()`` gives a network without hidden layer.
    cost : {"log-likelihood", "cross-entropy", "quadratic"} or fastnn cost class, default="log-likelihood"
    output : {"softmax", "sigmoid", "linear"} or None, default=None
        Output activation; None picks softmax for log-likelihood and sigmoid otherwise.
    activation : {"sigmoid", "logistic", "tanh", "relu"}, default="sigmoid"
        Hidden-layer activation ("logistic" is an alias of "sigmoid").
    eta : float, default=0.5
        Learning rate.
    lmbda : float, default=0.0
        Regularization parameter; the penalty is (lmbda / n) with n the training-set size (book convention).
    regularization : {"l2", "l1"}, default="l2"
    momentum : float in [0, 1), default=0.0
    dropout : float in [0, 1), default=0.0
        Dropout probability of the hidden units (inverted dropout, training only).
    batch_size : int, default=10
        Mini-batch size, clipped to the number of training samples.
    epochs : int, default=30
        Epochs per ``fit`` (the maximum when early stopping or a schedule is used).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified) and stop after ``n_iter_no_change``
        epochs without a better validation accuracy, keeping the best parameters.
    validation_fraction : float in (0, 1), default=0.1
    n_iter_no_change : int, default=10
    eta_schedule : int or None, default=None
        Halve eta after this many epochs without a better validation accuracy; training stops once eta
        falls below eta/128 (Nielsen's "no-improvement-in-n" schedule). Uses the validation split.
    weight_init : {"default", "large"}, default="default"
    dtype : {"float64", "float32"}, default="float64"
    shuffle : bool, default=True
        Shuffle the training data every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, dropout and the validation split.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit`` instead of starting over.
    verbose : int, default=0
        1: one line per epoch on stderr; 2: also a progress bar.
    n_threads : int, default=1
        Threads that run the training (``Network.SGD(n_threads=...)``) and the fitted network's
        inference (``predict``, ``score``; ``network_.n_threads``): the same fitted network and
        predictions for any value. Inside a joblib worker (``GridSearchCV(n_jobs=...)``), capped by the
        worker's thread budget.
    tol : float or None, default=None
        None: train exactly ``epochs`` epochs, as the book does. A number: stop once the epoch's mean
        training loss has not improved by at least ``tol`` for ``n_iter_no_change`` epochs in a
        row (scikit-learn's MLP rule; with ``early_stopping`` the validation score decides), and
        warn with ``sklearn.exceptions.ConvergenceWarning`` when the epochs end first.
    class_weight : dict, "balanced" or None, default=None
        Weight of each class (labels as in ``y``; missing ones 1), multiplied into
        ``sample_weight``; "balanced": n_samples / (n_classes * count of the class).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str (only when fitted on a DataFrame with string column names)
    network_ : fastnn.Network
    loss_curve_ : list of float, the mean training loss of each epoch
    validation_scores_ : list of float or None, validation accuracy of each epoch (with a validation split)
    best_validation_score_ : float or None
    n_iter_ : int, the number of epochs run
    loss_ : float, the mean training loss of the last epoch (weighted by sample_weight when given)
    best_loss_ : float, the smallest epoch loss in ``loss_curve_``
    """

    _min_validation_size = 1
    _parameter_constraints: ClassVar[dict] = dict(
        _PARAMETER_CONSTRAINTS, class_weight=_CLASS_WEIGHT_CONSTRAINT
    )

    _signature = V.estimator_signature()  # its parameters: the spec's (_vocabulary.ESTIMATOR)

    def _check_extra_params(self, p):
        V.check_pairing(p["cost"], p["output"])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"_xfail_checks": dict(_CLASSIFIER_XFAIL_CHECKS)}

    def _validation_kwargs(self, p, net, X_val, y_val, kwargs):
        kwargs.update(
            evaluation_data=(X_val, y_val),
            monitor_evaluation_accuracy=True,
            early_stopping=p["n_iter_no_change"] if p["early_stopping"] else None,
            eta_schedule=p["eta_schedule"],
            restore_best=True,
        )
        return None  # the compiled core monitors the validation accuracy: no per-epoch callback

    def _split_validation(self, p, X, Y, seed, stratify=None):
        return super()._split_validation(p, X, Y, seed, stratify=Y)

    @_fit_or_restore
    def _fit(self, X, y, *, partial, classes=None, sample_weight=None):
        p = self._validated_params()
        fitted = hasattr(self, "network_")
        reuse = fitted and (partial or self.warm_start)
        X, y = _validate_data(self, X, y, reset=not reuse, dtype=p["dtype"], order="C")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets only, "
                f"got y of type {target_type!r}"
            )

        if partial and not fitted:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            new_classes = unique_labels(np.asarray(classes))
        elif partial:
            new_classes = self.classes_
            if classes is not None and not np.array_equal(unique_labels(np.asarray(classes)), self.classes_):
                raise ValueError(
                    f"`classes={list(unique_labels(np.asarray(classes)))!r}` is not the same as on the "
                    f"first call to partial_fit, which was {list(self.classes_)!r}"
                )
        elif reuse:
            new_classes = self.classes_
            seen = unique_labels(y)
            if not np.isin(seen, self.classes_).all():
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the previous call "
                    "to fit. "
                    f"Previously got {list(self.classes_)}, `y` has {list(seen)}"
                )
        else:
            new_classes = unique_labels(y)
        if len(new_classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {new_classes[0]!r}"
            )

        y_int = _encode_labels(new_classes, y)
        weights = _sample_weights(self, sample_weight, len(y_int), p["dtype"], y_int, new_classes)
        self._train(
            p,
            X,
            y_int,
            epochs=1 if partial else p["epochs"],
            reuse=reuse,
            n_outputs=len(new_classes),
            allow_validation=not partial,
            weights=weights,
        )
        self.classes_ = new_classes  # set once training succeeded
        return self

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train a fresh network (or continue, with ``warm_start=True``) for ``epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), any label type (mapped through ``classes_``)
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the rows (>= 0, not all zero), times ``class_weight``: each mini-batch step
            follows the weighted mean of the per-example gradients (``Network.SGD(sample_weight=)``).

        Returns
        -------
        self
        """
        return self._fit(X, y, partial=False, sample_weight=sample_weight)

    def partial_fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        classes: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """One epoch of SGD on (X, y).

        Early stopping and the eta schedule do not apply to ``partial_fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), optional
            All labels; required on the first call.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights, times ``class_weight`` (see ``fit``).

        Returns
        -------
        self
        """
        return self._fit(X, y, partial=True, classes=classes, sample_weight=sample_weight)

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``.

        Softmax outputs are returned as they are; sigmoid outputs are normalized to sum to one; linear
        outputs (cost="quadratic", output="linear") go through a softmax.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        out = self._forward(X)
        output = self.network_.output
        if output == "softmax":
            return out
        if output == "linear":
            e = np.exp(out - out.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        out = np.maximum(out, np.finfo(out.dtype).tiny)
        return out / out.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted labels (elements of ``classes_``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)

        Notes
        -----
        The network's rule (:meth:`fastnn.Network.predict`): the argmax of the output layer's weighted
        input z, which keeps the order that saturated outputs lose; the ONNX ``label`` uses it too.
        """
        check_is_fitted(self)
        X = _validate_data(self, X, reset=False, dtype=self.network_.dtype, order="C")
        return self.classes_[self.network_.predict(_trainable(X))]


class NetworkRegressor(RegressorMixin, _BaseNetwork):
    """Fully connected feed-forward network regressor (linear output, quadratic cost) trained by
    fastnn's compiled mini-batch SGD.

    Parameters are those of :class:`NetworkClassifier` with these differences: ``cost`` defaults to
    "quadratic" and ``output`` to "linear" (``"sigmoid"`` for targets in [0, 1] is also valid), ``eta``
    defaults to 0.05, and ``early_stopping`` / ``eta_schedule`` follow the validation cost (the mean
    quadratic cost on the held-out data; the best parameters are kept), while ``validation_scores_``
    reports the validation R² of each epoch.

    Targets may be 1-D (predictions are 1-D) or 2-D (n_samples, n_targets). Unscaled targets of large
    magnitude can make plain SGD diverge: standardize them (e.g. with
    ``sklearn.compose.TransformedTargetRegressor(regressor, transformer=StandardScaler())``).

    Attributes
    ----------
    n_features_in_, feature_names_in_, network_, loss_curve_, best_validation_score_, n_iter_
        As for :class:`NetworkClassifier`.
    validation_scores_ : list of float or None
        Validation R² of each epoch (with a validation split).
    n_outputs_ : int
        The number of targets.
    """

    _min_validation_size = 2

    _signature = V.estimator_signature(exclude=("class_weight",), cost="quadratic", output="linear", eta=0.05)

    def _check_extra_params(self, p):
        if p["cost"] != "quadratic":
            raise ValueError(f"NetworkRegressor needs cost='quadratic', got {self.cost!r}")
        if p["output"] is None:
            p["output"] = "linear"
        if p["output"] not in ("linear", "sigmoid"):
            raise ValueError(f"NetworkRegressor needs output='linear' or 'sigmoid', got {self.output!r}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multioutput": True, "_xfail_checks": dict(_REGRESSOR_XFAIL_CHECKS)}

    def _validation_kwargs(self, p, net, X_val, Y_val, kwargs):
        kwargs.update(
            evaluation_data=(X_val, Y_val),
            early_stopping=p["n_iter_no_change"] if p["early_stopping"] else None,
            eta_schedule=p["eta_schedule"],
            stopping_metric="cost",
            restore_best=True,
        )
        return _R2Scores(net, X_val, Y_val)

    @_fit_or_restore
    def _fit(self, X, y, *, partial, sample_weight=None):
        p = self._validated_params()
        fitted = hasattr(self, "network_")
        reuse = fitted and (partial or self.warm_start)
        X, y = _validate_data(
            self, X, y, reset=not reuse, dtype=p["dtype"], order="C", multi_output=True, y_numeric=True
        )
        y_1d = y.ndim == 1
        Y = np.asarray(y, dtype=p["dtype"]).reshape(len(y), -1)
        n_outputs = Y.shape[1]
        if reuse and n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} targets, but {type(self).__name__} was fitted with "
                f"{self.n_outputs_} targets"
            )
        weights = _sample_weights(self, sample_weight, len(Y), p["dtype"])
        self._train(
            p,
            X,
            Y,
            epochs=1 if partial else p["epochs"],
            reuse=reuse,
            n_outputs=n_outputs,
            allow_validation=not partial,
            weights=weights,
        )
        self.n_outputs_ = n_outputs  # set once training succeeded
        self._y_1d = y_1d
        return self

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """Train a fresh network (or continue, with ``warm_start=True``) for ``epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the rows (>= 0, not all zero).

        Returns
        -------
        self
        """
        return self._fit(X, y, partial=False, sample_weight=sample_weight)

    def partial_fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> Self:
        """One epoch of SGD on (X, y) (no early stopping).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, partial=True, sample_weight=sample_weight)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for 1-D training targets, else (n_samples, n_targets)
        """
        out = self._forward(X)
        return out.ravel() if self._y_1d else out
