"""fastnn's vocabulary: every name the chapter's options take, the rules between them, and the one
set of checks for them — in pure Python (no compiled core, no scipy), so that ``fastnn.data``,
``fastnn.sklearn``, the command line, the model files and the compiled core all read the same
tables.

Every check raises ``TypeError``/``ValueError`` with one message style, ``name: expected …, got …``.
The estimators of :mod:`fastnn.sklearn` build scikit-learn's ``_parameter_constraints`` from the
same tables (:func:`sklearn_constraint`) and so raise scikit-learn's ``InvalidParameterError``.
"""

import math
import numbers
from typing import NamedTuple, Optional

import numpy as np

# ---- names ------------------------------------------------------------------------------------
#: the three costs of chapter 3, in the order of the book
COSTS = ("quadratic", "cross-entropy", "log-likelihood")
#: network2.py's class names (stored in its JSON files) -> cost name
COST_CLASS_NAMES = {
    "QuadraticCost": "quadratic",
    "CrossEntropyCost": "cross-entropy",
    "LogLikelihoodCost": "log-likelihood",
}
#: output layers each cost is used with; the first one is the default
COST_OUTPUTS = {
    "quadratic": ("sigmoid", "linear"),
    "cross-entropy": ("sigmoid",),
    "log-likelihood": ("softmax",),
}
#: the cost each output layer is trained with when only the output is known (a user's cost class,
#: a model imported from PyTorch)
OUTPUT_COSTS = {"sigmoid": "cross-entropy", "softmax": "log-likelihood", "linear": "quadratic"}
#: every valid (cost, output) pair
VALID_PAIRINGS = tuple((c, o) for c in COSTS for o in COST_OUTPUTS[c])
OUTPUTS = ("sigmoid", "softmax", "linear")
HIDDEN = ("sigmoid", "tanh", "relu")
#: scikit-learn's activation names (MLPClassifier's "logistic") -> fastnn's hidden layer names
ACTIVATION_ALIASES = {"logistic": "sigmoid"}
WEIGHT_INITS = ("default", "large")
REGULARIZATIONS = ("l2", "l1")
#: the floating types fastnn computes in (float16 is refused: no BLAS, and too coarse for SGD)
DTYPES = ("float64", "float32")
#: what early stopping and the η schedule watch on the evaluation data
STOPPING_METRICS = ("accuracy", "cost")

_COSTS_MODULE = __name__.rpartition(".")[0] + ".costs"
_COST_ALIASES = {
    "crossentropy": "cross-entropy",
    "ce": "cross-entropy",
    "mse": "quadratic",
    "loglikelihood": "log-likelihood",
    "nll": "log-likelihood",
    **{k.lower(): v for k, v in COST_CLASS_NAMES.items()},
}


# ---- intervals of the numeric hyper-parameters -------------------------------------------------
class Interval(NamedTuple):
    """[low, high] (open ends as marked; None: unbounded), of integers or of finite reals."""

    low: Optional[float]
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def __str__(self):
        lo = "(" if self.low_open else "["
        hi = ")" if self.high_open else "]"
        return (
            f"{lo}{'-inf' if self.low is None else self.low}, {'inf' if self.high is None else self.high}{hi}"
        )


_UNIT = Interval(0.0, 1.0, high_open=True)
_RATIO = Interval(0.0, 1.0, low_open=True, high_open=True)
COUNT = Interval(1, integer=True)
#: SGD's numeric arguments (also the CLI's flags and the estimators' parameters of the same name)
HYPER = {
    "epochs": Interval(0, integer=True),
    "mini_batch_size": COUNT,
    "eta": Interval(0.0, low_open=True),
    "lmbda": Interval(0.0),
    "momentum": _UNIT,
    "dropout": _UNIT,
    "eta_decay": _RATIO,
    "min_eta_ratio": Interval(0.0, 1.0, low_open=True),
    "early_stopping": COUNT,
    "eta_schedule": COUNT,
    "n_threads": Interval(1, 1024, integer=True),  # _threads.MAX_THREADS
    "validation_fraction": _RATIO,  # the estimators' held-out share
}


# ---- checks -------------------------------------------------------------------------------------
def _choices(choices):
    return ", ".join(repr(c) for c in choices)


def problem(exc):
    """The ``expected …, got …`` part of a check's message (for callers that name the argument
    their own way: the command line's flags, the model file's fields)."""
    return str(exc).split(": ", 1)[-1]


def check_choice(name, value, choices):
    """`value` if it is one of the names `choices`; ValueError otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {_choices(choices)}, got {value!r}")
    return value


def check_hyper(name, value, interval=None, **bounds):
    """A finite real (or integer) hyper-parameter within `interval` (default: ``HYPER[name]``;
    or the Interval fields as keywords), as float (int)."""
    if interval is None:
        interval = Interval(**bounds) if bounds else HYPER[name]
    low, high, low_open, high_open, integer = interval
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected {'an integer' if integer else 'a number'}, got {value!r}")
    if integer:
        if not (isinstance(value, numbers.Integral) or float(value).is_integer()):
            raise TypeError(f"{name}: expected an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value}")
    if (low is not None and (value < low or (low_open and value == low))) or (
        high is not None and (value > high or (high_open and value == high))
    ):
        raise ValueError(f"{name}: expected a value in {interval}, got {value}")
    return value


def resolve_dtype(dtype, name="dtype"):
    """np.dtype of float64 or float32 (given as a type, dtype or name); TypeError otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: expected float32 or float64, got {dtype!r}") from None
    if dt.name not in DTYPES:
        raise TypeError(f"{name}: expected float32 or float64, got {dt}")
    return dt


def cost_name(cost, name="cost"):
    """The cost name for one of fastnn's cost classes, a name, network2's class name, the name
    with underscores for hyphens, or an alias (ce, mse, nll, ...)."""
    if isinstance(cost, str):
        if cost in COST_CLASS_NAMES:
            return COST_CLASS_NAMES[cost]
        key = cost.strip().lower().replace("_", "-")
        key = _COST_ALIASES.get(key, _COST_ALIASES.get(key.replace("-", ""), key))
        if key in COSTS:
            return key
    elif isinstance(cost, type) and cost.__module__ == _COSTS_MODULE and cost.name in COSTS:
        return cost.name  # fastnn's own classes (another class of the same name may differ)
    raise ValueError(f"{name}: expected one of {_choices(COSTS)} or a fastnn cost class, got {cost!r}")


def default_output(cost):
    """The output layer a cost is used with unless told otherwise (softmax for log-likelihood,
    sigmoid otherwise)."""
    return COST_OUTPUTS[cost_name(cost)][0]


def check_pairing(cost, output):
    """The (cost name, output) pair, output defaulted; ValueError for an output the cost cannot
    be used with."""
    cost = cost_name(cost)
    if output is None:
        return cost, default_output(cost)
    check_choice("output", output, OUTPUTS)
    if output not in COST_OUTPUTS[cost]:
        pairs = ", ".join(f"{c}+{o}" for c, o in VALID_PAIRINGS)
        raise ValueError(
            f"output: expected one of {_choices(COST_OUTPUTS[cost])} with the {cost} "
            f"cost (valid pairings: {pairs}), got {output!r}"
        )
    return cost, output


def sklearn_constraint(interval):
    """scikit-learn's ``Interval`` constraint for one of the intervals above."""
    from sklearn.utils._param_validation import Interval as SkInterval

    closed = {(False, False): "both", (True, False): "right", (False, True): "left", (True, True): "neither"}[
        interval.low_open or interval.low is None, interval.high_open or interval.high is None
    ]
    kind = numbers.Integral if interval.integer else numbers.Real
    return SkInterval(kind, interval.low, interval.high, closed=closed)
