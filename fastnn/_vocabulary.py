"""fastnn's vocabulary and THE spec of the training options: every name the chapter's options take,
each training option declared once (``SGDArguments``), the rules between them, and the one set of
checks for them — in pure Python (no compiled core, no scipy), so that ``fastnn.data``,
``fastnn.sklearn``, the command line, the model files and the compiled core all read the same
tables.

Every check raises ``TypeError``/``ValueError`` with one message style, ``name: expected …, got …``.
The estimators of :mod:`fastnn.sklearn` build scikit-learn's ``_parameter_constraints`` from the
same tables (:func:`sklearn_constraint`) and so raise scikit-learn's ``InvalidParameterError``.
"""

import dataclasses
import inspect
import math
import numbers
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Optional, Protocol

import numpy as np

if TYPE_CHECKING:
    from ._typing import ArrayLike, DataLike, EpochCallback, MonitorLists

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


# ---- THE training options: each declared once ---------------------------------------------------
# Network.SGD's arguments are the parameters of SGDArguments.__call__ below: name, static type,
# default and position in the signature, and — in the ``Annotated`` metadata, an :class:`Option` —
# the check (an interval, the choices or a function), a one-line help, the command line's flag,
# whether tune() may fix or search it (and its default search range), whether the history records
# it. Everything else is generated from it: Network.SGD's ``__signature__`` and its checks
# (:func:`check_options`, one call, returning the frozen :class:`TrainingOptions`), the training
# run's settings (:func:`history_settings`), the command line's training flags, the estimators'
# parameters and constraints (:data:`ESTIMATOR`, whose parameters take the rules of the options
# they set), tune's TUNABLE names and default space. Adding an option is one parameter below (see
# CONTRIBUTING.md); tests/test_options_spec.py fails when another module lists three or more of
# these names by hand.
REQUIRED = inspect.Parameter.empty


class Flag(NamedTuple):
    """The command-line flag of a training option ('fastnn train' and 'fastnn tune')."""

    flags: str  #: "--batch --mini-batch-size": the first one names the option in messages
    default: Any = None  #: the command line's default (None: not given)
    metavar: Optional[str] = None
    dest: Optional[str] = None  #: the argparse attribute, when not the option's name
    interval: Optional[Interval] = None  #: the flag's own bound, when narrower (--epochs: >= 1)
    negate: bool = False  #: an on/off option the flag turns off (--no-shuffle)
    help: Optional[str] = None  #: the flag's help, when not the option's
    rank: int = 0  #: its place in the "training" group of --help (the order the flags were added in)


class Search(NamedTuple):
    """tune's default search range of an option: log-uniform or uniform on [low, high] ("log per
    row": times the number of training rows), or one of `choices` (those <= the rows); `order`:
    its place in the sampling order (Optuna's seeded samplers draw in that order)."""

    order: int
    kind: str  #: "log", "log per row", "uniform" or "choices"
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()


class Option(NamedTuple):
    """What one training option accepts and where it appears besides Network.SGD."""

    #: an Interval, the tuple of choices, a function ``(name, value) -> value`` raising
    #: TypeError/ValueError, or None (taken as given: the on/off options, the per-row weights
    #: which are checked with the data)
    check: Any = None
    help: str = ""
    flag: Optional[Flag] = None
    #: recorded in ``History.settings`` (and compared by the command line's --resume)
    setting: bool = False
    #: tune() may fix or search it (False: tune sets it itself)
    tunable: bool = True
    #: tune's default search range (None: fixed at its default unless searched or given)
    search: Optional[Search] = None


def check_callback(name, callback):
    """The callback contract: None, or a callable accepting one positional argument (the
    EpochRecord)."""
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError(f"{name}: expected a callable, got {type(callback).__name__}")
    try:
        sig = inspect.signature(callback)
    except (TypeError, ValueError):
        return callback  # some builtins have no signature: trust them
    try:
        sig.bind(None)
    except TypeError as e:
        raise TypeError(
            f"{name}: must accept one positional argument (the EpochRecord of "
            f"the epoch), but {getattr(callback, '__name__', callback)!r}{sig} "
            f"cannot: {e}"
        ) from None
    return callback


_OFF = (
    "with early stopping / eta schedule, keep the last parameters instead of the best on the evaluation data"
)


def _monitor(what):
    """The Option of a monitor_* switch: record `what` after each epoch (tune sets them itself)."""
    return Option(help=f"record the {what} after each epoch", tunable=False)


class SGDArguments(Protocol):
    """Network.SGD's arguments, THE declaration (Network.SGD is typed as this)."""

    def __call__(
        self,
        training_data: "DataLike",
        epochs: Annotated[
            int,
            Option(
                Interval(0, integer=True),
                "number of epochs",
                Flag("--epochs", 30, interval=COUNT, rank=1),
                setting=True,
                tunable=False,
            ),
        ],
        mini_batch_size: Annotated[
            int,
            Option(
                COUNT,
                "mini-batch size",
                Flag("--batch --mini-batch-size", 10, dest="batch", rank=2),
                setting=True,
                search=Search(3, "choices", choices=(10, 20, 50, 100)),
            ),
        ],
        eta: Annotated[
            float,
            Option(
                Interval(0.0, low_open=True),
                "learning rate",
                Flag("--eta", 0.5, rank=3),
                setting=True,
                search=Search(1, "log", 0.01, 10.0),
            ),
        ],
        lmbda: Annotated[
            float,
            Option(
                Interval(0.0),
                "regularization parameter lambda, divided by the training-set size n as in the book "
                "(default: n / 10,000 = the book's lambda/n: 5.0 on MNIST's 50,000 images)",
                Flag("--lmbda --lambda", rank=4),
                setting=True,
                search=Search(2, "log per row", 1e-6, 3e-3),
            ),
        ] = 0.0,
        evaluation_data: "DataLike | None" = None,
        monitor_evaluation_cost: Annotated[bool, _monitor("evaluation cost")] = False,
        monitor_evaluation_accuracy: Annotated[bool, _monitor("evaluation accuracy")] = False,
        monitor_training_cost: Annotated[bool, _monitor("training cost")] = False,
        monitor_training_accuracy: Annotated[bool, _monitor("training accuracy")] = False,
        shuffle: Annotated[
            bool,
            Option(
                help="shuffle the training data each epoch",
                flag=Flag(
                    "--no-shuffle", negate=True, help="do not shuffle the training data each epoch", rank=13
                ),
                setting=True,
            ),
        ] = True,
        *,
        regularization: Annotated[
            str,
            Option(
                REGULARIZATIONS,
                "regularization kind",
                Flag("--regularization", "l2", rank=5),
                setting=True,
            ),
        ] = "l2",
        momentum: Annotated[
            float,
            Option(
                _UNIT,
                "momentum coefficient mu in [0, 1)",
                Flag("--momentum", 0.0, rank=6),
                setting=True,
                search=Search(4, "uniform", 0.0, 0.9),
            ),
        ] = 0.0,
        dropout: Annotated[
            float,
            Option(
                _UNIT,
                "dropout probability for hidden units, in [0, 1)",
                Flag("--dropout", 0.0, rank=7),
                setting=True,
            ),
        ] = 0.0,
        early_stopping: Annotated[
            "int | None",
            Option(
                COUNT,
                "stop after N epochs without a better evaluation accuracy",
                Flag("--early-stopping", metavar="N", rank=8),
                setting=True,
            ),
        ] = None,
        restore_best: Annotated[
            bool,
            Option(
                help="with early stopping or the schedule, keep the parameters of the best evaluation epoch",
                flag=Flag("--no-restore-best", negate=True, help=_OFF, rank=12),
            ),
        ] = True,
        eta_schedule: Annotated[
            "int | None",
            Option(
                COUNT,
                "multiply eta by --eta-decay after N epochs without improvement; stop when "
                "eta falls below eta * --min-eta-ratio",
                Flag("--eta-schedule", metavar="N", rank=9),
                setting=True,
            ),
        ] = None,
        eta_decay: Annotated[
            float, Option(_RATIO, "eta schedule factor", Flag("--eta-decay", 0.5, rank=10), setting=True)
        ] = 0.5,
        min_eta_ratio: Annotated[
            float,
            Option(
                Interval(0.0, 1.0, low_open=True),
                "eta schedule floor, as a fraction of the initial eta (default: 1/128)",
                Flag("--min-eta-ratio", 1 / 128, rank=11),
                setting=True,
            ),
        ] = 1.0 / 128,
        stopping_metric: Annotated[
            str, Option(STOPPING_METRICS, "what early stopping and the eta schedule watch")
        ] = "accuracy",
        track_loss: Annotated[
            bool, Option(help="record the mean training loss of each epoch's mini-batches")
        ] = False,
        progress: Annotated[bool, Option(help="show a tqdm progress bar", tunable=False)] = False,
        callback: Annotated[
            "EpochCallback | None",
            Option(check_callback, "called with each epoch's EpochRecord; False stops", tunable=False),
        ] = None,
        n_threads: Annotated[
            "int | None",
            Option(
                Interval(1, 1024, integer=True),  # _threads.MAX_THREADS
                "threads that run this one training and its evaluation passes (default: 1): a "
                "team inside the compiled loop, results bit-identical for any N; BLAS layers keep "
                "one BLAS thread. When it pays off: 'One training on several threads' in the "
                "performance docs",
                Flag("--threads", metavar="N", dest="threads", rank=14),
            ),
        ] = None,
        sample_weight: Annotated[
            "ArrayLike | None", Option(help="weights of the training rows", tunable=False)
        ] = None,
        verbose: Annotated[bool, Option(help="print network2's lines after each epoch")] = False,
        resume: Annotated[bool, Option(help="continue the previous training run")] = False,
    ) -> "MonitorLists": ...


def _spec(signature):
    """{name: (Option, default, parameter kind)} of the Annotated parameters of a signature."""
    out = {}
    for p in signature.parameters.values():
        meta = getattr(p.annotation, "__metadata__", ())
        if meta and isinstance(meta[0], Option):
            out[p.name] = (meta[0], p.default, p.kind)
    return out


_SGD_SIGNATURE = inspect.signature(SGDArguments.__call__)
#: every training option: name -> Option (in Network.SGD's order)
OPTIONS = {name: o for name, (o, _, _) in _spec(_SGD_SIGNATURE).items()}
#: each training option's default (REQUIRED for epochs, mini_batch_size, eta)
DEFAULTS = {name: d for name, (_, d, _) in _spec(_SGD_SIGNATURE).items()}
#: the numeric options' intervals, and the estimators' held-out share
HYPER = {name: o.check for name, o in OPTIONS.items() if isinstance(o.check, Interval)}
HYPER["validation_fraction"] = _RATIO


def _plain(annotation):
    """The type of an Annotated annotation (what the signatures show), forward references as text."""
    if hasattr(annotation, "__metadata__"):
        annotation = annotation.__origin__
    return getattr(annotation, "__forward_arg__", annotation)


def sgd_signature(self_name="self"):
    """Network.SGD's signature (for its ``__signature__``): the declared one, Annotated stripped."""
    params = [
        p.replace(annotation=_plain(p.annotation)) for p in list(_SGD_SIGNATURE.parameters.values())[1:]
    ]
    self_param = inspect.Parameter(self_name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return _SGD_SIGNATURE.replace(parameters=[self_param, *params])


#: the frozen object a training run is given: every option, checked (see check_options)
TrainingOptions = dataclasses.make_dataclass(
    "TrainingOptions",
    [(name, Any) for name in OPTIONS],
    frozen=True,
    namespace={
        "__doc__": "Network.SGD's training options, checked (built by check_options).",
        "__module__": __name__,
        "replace": dataclasses.replace,
    },
)


def check_option(name, value):
    """One training option checked (and normalised: numbers to int/float) by its declared rule."""
    check = OPTIONS[name].check
    if value is None and DEFAULTS[name] is None:
        return None
    if isinstance(check, Interval):
        return check_hyper(name, value, check)
    if isinstance(check, tuple):
        return check_choice(name, value, check)
    if check is not None:
        return check(name, value)
    return value


def check_options(**given):
    """Every training option checked by its declared rule, in Network.SGD's order (the defaults
    for those not given), as one frozen TrainingOptions; TypeError/ValueError otherwise."""
    values = {}
    for name, default in DEFAULTS.items():
        value = given.pop(name, default)
        if value is REQUIRED:
            raise TypeError(f"{name}: a required argument is missing")
        values[name] = check_option(name, value)
    if given:
        raise TypeError(f"unexpected training option {next(iter(given))!r}")
    return TrainingOptions(**values)


def history_settings(options):
    """The options a run's ``History.settings`` records (the on/off ones as bool)."""
    return {
        name: bool(getattr(options, name)) if isinstance(DEFAULTS[name], bool) else getattr(options, name)
        for name, o in OPTIONS.items()
        if o.setting
    }


#: the options tune() may fix or search
TUNABLE_OPTIONS = tuple(name for name, o in OPTIONS.items() if o.tunable)
#: the options tune() sets itself
SET_BY_TUNE = tuple(name for name, o in OPTIONS.items() if not o.tunable)
#: tune's default search: option -> Search, in sampling order
SEARCHED = dict(sorted(((n, o.search) for n, o in OPTIONS.items() if o.search), key=lambda i: i[1].order))
#: the options with a command-line flag: name -> Flag, in the order of --help
FLAGS = dict(sorted(((n, o.flag) for n, o in OPTIONS.items() if o.flag is not None), key=lambda i: i[1].rank))
#: the options network2's SGD takes before evaluation_data (the command line passes them itself)
LEADING = tuple(OPTIONS)[: list(_SGD_SIGNATURE.parameters).index("evaluation_data") - 2]


# ---- the estimators' parameters (fastnn.sklearn), from the options ------------------------------
class Param(NamedTuple):
    """A parameter of NetworkClassifier/NetworkRegressor: its default (the classifier's; a class
    may override it), the training option whose rule it takes (`option`; with `none`: or None;
    an on/off option: "boolean"), or its own constraints — Interval, a tuple of choices, or
    scikit-learn's names ("boolean", "verbose", "random_state", "array-like"), types and None."""

    default: Any
    option: Optional[str] = None
    none: bool = False
    constraints: tuple = ()
    #: handed to SGD as it is, as that option
    passed: bool = False


#: the estimators' parameters, in their signature's order (hidden_layer_sizes positional, the rest
#: keyword-only); fastnn.sklearn generates __init__'s signature and _parameter_constraints from it
ESTIMATOR = {
    "hidden_layer_sizes": Param((30,), constraints=("array-like", COUNT)),
    "cost": Param("log-likelihood", constraints=(COSTS,)),  # and fastnn's cost classes
    "output": Param(None, constraints=(OUTPUTS, None)),
    "activation": Param("sigmoid", constraints=(HIDDEN + tuple(ACTIVATION_ALIASES),)),
    "eta": Param(0.5, "eta"),
    "lmbda": Param(0.0, "lmbda"),
    "regularization": Param("l2", "regularization", passed=True),
    "momentum": Param(0.0, "momentum", passed=True),
    "dropout": Param(0.0, "dropout", passed=True),
    "batch_size": Param(10, "mini_batch_size"),
    "epochs": Param(30, constraints=(COUNT,)),  # per fit: at least one
    "early_stopping": Param(False, constraints=("boolean",)),
    "validation_fraction": Param(0.1, constraints=(_RATIO,)),
    "n_iter_no_change": Param(10, "early_stopping"),
    "eta_schedule": Param(None, "eta_schedule", none=True),
    "weight_init": Param("default", constraints=(WEIGHT_INITS,)),
    "dtype": Param("float64", constraints=(DTYPES,)),  # and the numpy types/dtypes
    "shuffle": Param(True, "shuffle", passed=True),
    "random_state": Param(None, constraints=("random_state",)),
    "warm_start": Param(False, constraints=("boolean",)),
    "verbose": Param(0, constraints=("verbose",)),
    "tol": Param(None, constraints=(Interval(0.0), None)),
    "n_threads": Param(1, "n_threads", passed=True),
    "class_weight": Param(None, constraints=(("balanced",), dict, None)),  # the classifier's only
}


def estimator_constraints(name):
    """A parameter's constraints: its option's rule (or None) or its own."""
    param = ESTIMATOR[name]
    if param.option is None:
        return param.constraints
    check = OPTIONS[param.option].check
    if check is None and isinstance(DEFAULTS[param.option], bool):
        check = "boolean"
    return (check,) + ((None,) if param.none else ())


#: the estimators' parameters handed to SGD as they are: SGD option -> estimator parameter
ESTIMATOR_PASSED = {param.option: name for name, param in ESTIMATOR.items() if param.passed}


def estimator_signature(exclude=(), **defaults):
    """The estimators' ``__init__`` signature (for ``__signature__``, which scikit-learn's
    get_params reads): self, hidden_layer_sizes, then the rest keyword-only; `defaults` override
    the table's, `exclude` leaves parameters out."""
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD)]
    for i, (name, param) in enumerate(ESTIMATOR.items()):
        if name not in exclude:
            kind = P.POSITIONAL_OR_KEYWORD if i == 0 else P.KEYWORD_ONLY
            params.append(P(name, kind, default=defaults.pop(name, param.default)))
    if defaults:
        raise TypeError(f"unknown estimator parameter {next(iter(defaults))!r}")
    return inspect.Signature(params)
