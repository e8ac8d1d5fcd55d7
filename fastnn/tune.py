"""Hyper-parameter search on Optuna (``pip install 'fastnn[tune]'``): chapter 3's η, λ, mini-batch
size, hidden width and momentum chosen by a sampler instead of by hand.

    >>> from fastnn.tune import tune
    >>> study = tune(ds.training, ds.validation, n_trials=50, n_jobs=2, seed=0)
    >>> study.best_params
    {'eta': 0.61, 'lmbda': 2.3, 'mini_batch_size': 10, 'momentum': 0.12, 'width': 74}

fastnn supplies the objective (one ``Network.SGD`` call per trial; the validation accuracy, or the
cost for regression, reported after every epoch through SGD's callback so that Optuna's pruner can
stop bad trials), the default search space (:func:`default_space`), per-trial seeds, threads that
share the training arrays, and the book's η-threshold estimate (:func:`eta_threshold`). Everything
else — samplers, pruners, storages shared by several processes or machines, plots — is Optuna's.
``optuna`` is imported only when a function here is called.
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
import signal
import threading
import warnings

import numpy as np

from . import _state
from ._network_data import to_features
from ._threads import blas_limit, warn_oversubscription
from ._validation import split_data
from ._vocabulary import SEARCHED, SET_BY_TUNE, TUNABLE_OPTIONS, check_hyper, check_option, resolve_dtype
from .costs import default_output, resolve_cost
from .network import Network

__all__ = [
    "MISSING_OPTUNA",
    "TUNABLE",
    "Search",
    "StorageLost",
    "TrialFailed",
    "default_space",
    "eta_threshold",
    "open_study",
    "plot_study",
    "retrain",
    "trial_network_settings",
    "tune",
]

MISSING_OPTUNA = (
    "fastnn.tune needs optuna, which is not installed; install it with: pip install 'fastnn[tune]'"
)

_logger = logging.getLogger("fastnn.tune")

#: The SGD arguments tune() sets itself: the data, and the options the spec marks so (epochs,
#: monitoring, its callback; per-row weights are data, not a hyper-parameter, and could not be
#: recorded with the trials): see _vocabulary.SGDArguments.
_SET_BY_TUNE = ("self", "training_data", "evaluation_data", *SET_BY_TUNE)
#: Network arguments (sizes, dtype and seed are tune()'s own arguments).
NETWORK_ARGS = tuple(
    p for p in inspect.signature(Network.__init__).parameters if p not in ("self", "sizes", "dtype", "seed")
)
SGD_ARGS = TUNABLE_OPTIONS
#: "width": the number of neurons of every hidden layer (``sizes`` with its hidden layers resized).
WIDTH = "width"
TUNABLE = NETWORK_ARGS + SGD_ARGS + (WIDTH,)

#: Trials per process start with these unless fixed: early stopping answers "how many epochs".
DEFAULT_EPOCHS = 30
DEFAULT_N_THREADS = 1  # threads per trial: trials run side by side, one core each
#: A database storage: seconds between the heartbeats of a running trial; a trial silent for the grace
#: period (twice the heartbeat) is failed by the next worker that starts a trial and queued again with
#: the same parameters and seed, at most DEFAULT_RETRIES times; a lost connection is retried for
#: DEFAULT_RECONNECT seconds before the search stops.
DEFAULT_HEARTBEAT = 30
DEFAULT_RETRIES = 2
DEFAULT_RECONNECT = 60


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ImportError(MISSING_OPTUNA) from None
    return optuna


class TrialFailed(Exception):
    """A trial that could not finish (diverged, invalid combination, interrupted): recorded as
    FAIL with ``trial.user_attrs["fail_reason"]``; the study goes on."""


class StorageLost(RuntimeError):
    """The study's database could not be reached for longer than ``reconnect`` seconds: the search
    stopped. Trials finished before are in the database; the one running then is failed by the next
    worker once its heartbeat is older than the grace period, and retried."""


def _redact(url):
    """A storage URL for messages: its password replaced by ``***`` (see :func:`safe_url`)."""
    return safe_url(url) if isinstance(url, str) else type(url).__name__


# --------------------------------------------------------------------------------------------------
# search space
# --------------------------------------------------------------------------------------------------
def default_space(n_training, *, width=True, extended=False, eta=None):
    """The book's hyper-parameters as Optuna distributions, for a training set of n rows.

    - ``eta``: log-uniform on [0.01, 10] (or the given (low, high), e.g. from :func:`eta_threshold`);
    - ``lmbda``: log-uniform with λ/n on [1e-6, 3e-3] — the book's λ = 5 for n = 50,000 is
      λ/n = 1e-4, the low end is next to no regularization (fix ``lmbda=0`` to have none);
    - ``mini_batch_size``: one of 10, 20, 50, 100 (those ≤ n);
    - ``momentum``: uniform on [0, 0.9];
    - ``width`` (when ``width``): hidden-layer width, log-uniform integer on [10, 100];
    - with ``extended``: ``cost`` (cross-entropy or log-likelihood, output layer following it) and
      ``weight_init`` (default or large).
    """
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    n = check_hyper("n_training", n_training, low=1, integer=True)
    space = {}
    for name, search in SEARCHED.items():  # the spec's default ranges (_vocabulary.SGDArguments)
        low, high = (search.low, search.high) if name != "eta" or eta is None else eta
        if search.kind == "choices":
            space[name] = CategoricalDistribution(tuple(b for b in search.choices if b <= n) or (n,))
        elif search.kind == "log per row":
            space[name] = FloatDistribution(float(low) * n, float(high) * n, log=True)
        else:
            space[name] = FloatDistribution(float(low), float(high), log=search.kind == "log")
    if width:
        space[WIDTH] = IntDistribution(10, 100, log=True)
    if extended:
        space["cost"] = CategoricalDistribution(("cross-entropy", "log-likelihood"))
        space["weight_init"] = CategoricalDistribution(("default", "large"))
    return space


def _distribution(name, spec):
    """An Optuna distribution from a distribution object, (low, high[, "log"]) or a list of
    choices; one-line ValueError for empty ranges."""
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    where = f"space[{name!r}]"
    if isinstance(spec, BaseDistribution):
        return spec
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"{where}: expected at least one choice, got an empty list")
        return CategoricalDistribution(tuple(spec))
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        low, high, *rest = spec
        log = bool(rest) and rest[0] == "log"
        if rest and not log:
            raise ValueError(f"{where}: the third item of a range must be 'log', got {rest[0]!r}")
        for v in (low, high):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise ValueError(f"{where}: expected (low, high) finite numbers, got {spec!r}")
        if low > high:
            raise ValueError(f"{where}: empty range, low {low!r} > high {high!r}")
        if log and low <= 0:
            raise ValueError(f"{where}: a log range needs low > 0, got {low!r}")
        if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral):
            return IntDistribution(int(low), int(high), log=log)
        return FloatDistribution(float(low), float(high), log=log)
    raise TypeError(
        f"{where}: expected an optuna distribution, a (low, high[, 'log']) tuple or a "
        f"list of choices, got {spec!r}"
    )


def _ends(dist):
    """The values that bound a distribution: (low, high) or its choices."""
    choices = getattr(dist, "choices", None)
    return tuple(choices) if choices is not None else (dist.low, dist.high)


def _suggest(trial, name, dist):
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def _worker_name():
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _trial_seed(seed, number):
    """The seed of trial `number` of a search seeded with `seed`: independent streams per trial."""
    return int(np.random.SeedSequence([int(seed), int(number)]).generate_state(1, np.uint32)[0])


# --------------------------------------------------------------------------------------------------
# data and the settings of one trial
# --------------------------------------------------------------------------------------------------
def _arrays(data, name, dtype):
    """(X, y) once for all trials: X C-contiguous of `dtype` (checked finite), y labels (intp) or
    targets (`dtype`)."""
    X, y = split_data(data, name, (0,))
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} X: expected a 2-D array (n, n_inputs), got shape {X.shape}")
    X = to_features(X, f"{name} X", X.shape[1], dtype)
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iub":
        y = np.ascontiguousarray(y, dtype=np.intp)
    elif y.dtype.kind in "iubf":
        y = np.ascontiguousarray(y, dtype=dtype)
    return X, y


def _n_outputs(*ys):
    y = ys[0]
    if y.ndim == 2:
        return int(y.shape[1])
    return int(max(int(v.max()) for v in ys if len(v)) + 1)


def _sizes_with(sizes, width):
    if width is None:
        return list(sizes)
    return [sizes[0]] + [int(width)] * (len(sizes) - 2) + [sizes[-1]]


def _jsonable(v):
    if isinstance(v, np.dtype):
        return v.name
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if isinstance(v, type):
        return getattr(v, "name", v.__name__)
    return v


class _Settings:
    """Everything a trial's network depends on besides its sampled parameters (recorded with each
    trial, so another process can rebuild the same network: :func:`retrain`)."""

    def __init__(self, sizes, epochs, dtype, fixed, metric):
        self.sizes, self.epochs, self.dtype = list(sizes), int(epochs), resolve_dtype(dtype)
        self.fixed, self.metric = dict(fixed), metric

    def to_dict(self):
        return {
            "sizes": self.sizes,
            "epochs": self.epochs,
            "dtype": self.dtype.name,
            "fixed": {k: _jsonable(v) for k, v in self.fixed.items()},
            "metric": self.metric,
        }

    @classmethod
    def from_dict(cls, d):
        return cls(d["sizes"], d["epochs"], d["dtype"], d["fixed"], d["metric"])

    def build(self, params, seed):
        """(Network, SGD keyword arguments) for one trial's parameters."""
        args = {**self.fixed, **params}
        width = args.pop(WIDTH, None)
        if width is not None and len(self.sizes) < 3:
            raise ValueError(f"width: the network {self.sizes} has no hidden layer to resize")
        net_args = {k: args.pop(k) for k in NETWORK_ARGS if k in args}
        net = Network(_sizes_with(self.sizes, width), dtype=self.dtype, seed=seed, **net_args)
        return net, args

    def epoch_value(self, net, rec, evaluation):
        if self.metric == "accuracy":
            return rec.evaluation_accuracy / rec.n_evaluation
        return float(net.total_cost(*evaluation))

    def final_value(self, net, evaluation):
        X, y = evaluation
        if self.metric == "accuracy":
            return net.accuracy(X, y) / len(X)
        return float(net.total_cost(X, y))

    def sgd(self, net, sgd_args, training, evaluation, callback=None):
        net.SGD(
            training,
            self.epochs,
            evaluation_data=evaluation,
            monitor_evaluation_accuracy=self.metric == "accuracy",
            callback=callback,
            **sgd_args,
        )


def trial_network_settings(trial):
    """The recorded settings of a trial run by :func:`tune` (``trial.user_attrs["fastnn"]``)."""
    try:
        return trial.user_attrs["fastnn"]
    except KeyError:
        raise ValueError(
            f"trial {trial.number} was not run by fastnn.tune (no 'fastnn' user attribute)"
        ) from None


def retrain(trial, training_data, evaluation_data):
    """The network of a finished trial, trained again from its recorded parameters and seed — the
    same network (bit for bit) as the trial's, given the same data. ``trial`` may be a
    ``FrozenTrial`` (e.g. ``study.best_trial``) or a study (its best trial)."""
    trial = getattr(trial, "best_trial", trial)
    rec = trial_network_settings(trial)
    settings = _Settings.from_dict(rec["settings"])
    training = _arrays(training_data, "training_data", settings.dtype)
    evaluation = _arrays(evaluation_data, "evaluation_data", settings.dtype)
    net, sgd_args = settings.build(trial.params, rec["seed"])
    settings.sgd(net, sgd_args, training, evaluation)
    return net


# --------------------------------------------------------------------------------------------------
# studies and storages
# --------------------------------------------------------------------------------------------------
def _storage(storage, heartbeat=None, grace_period=None, retries=None):
    """An Optuna storage from None (in memory), a storage object, ``journal:FILE`` (Optuna's
    journal file, safe for several processes, also on NFS) or an RDB URL (sqlite:///FILE,
    postgresql://..., mysql://...; with the heartbeat, grace period and retries of
    :func:`fastnn._rdb.open_rdb`)."""
    optuna = _optuna()
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, str):
        raise TypeError(
            f"storage: expected a URL string, 'journal:FILE' or an optuna storage, "
            f"got {type(storage).__name__}"
        )
    try:
        if storage.startswith("journal:"):
            import os

            path = storage[len("journal:") :]
            path = path.removeprefix("//")
            directory = os.path.dirname(os.path.abspath(path))
            if not path or not os.path.isdir(directory):
                raise ValueError(f"directory {directory} does not exist")
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            return JournalStorage(JournalFileBackend(path))
        if "://" not in storage:
            raise ValueError(
                "expected an RDB URL such as sqlite:///study.db or "
                "postgresql://user:password@host/db, or journal:FILE"
            )
        return _rdb_storage(storage, heartbeat, grace_period, retries)
    except Exception as e:  # noqa: BLE001  (sqlalchemy/driver errors of every kind: one line)
        raise storage_error(e, storage, "cannot open") from None


def safe_url(url):
    """A storage URL without its password (for messages, the terminal, JSON and histories)."""
    import re

    if not isinstance(url, str):
        return url
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", url)  # to the last @ before the path


def _password(url):
    import re

    m = re.search(r"://[^:/@]*:([^/]*)@", url) if isinstance(url, str) else None
    return m.group(1) if m and m.group(1) else None


def storage_error(e, storage, doing):
    """A ValueError of one line for a storage failure (a driver's, sqlalchemy's or Optuna's:
    an unreachable server, a foreign schema, a read-only database): the storage named by
    :func:`safe_url`, the password masked wherever the message repeats it."""
    text = str(e).strip()
    msg = text.splitlines()[0] if text else type(e).__name__
    cause = getattr(e, "__cause__", None) or getattr(e, "orig", None)
    if cause is not None and str(cause).strip():
        first = str(cause).strip().splitlines()[0]
        if first not in msg:
            msg += f" ({first})"
    password = _password(storage)
    if password:
        from urllib.parse import quote, unquote

        pieces = {password, quote(password, safe=""), unquote(password)}
        pieces |= {p for p in password.split("@") if len(p) >= 3}  # an unencoded @ in it
        for piece in sorted(pieces, key=len, reverse=True):
            msg = msg.replace(piece, "***")
    return ValueError(f"storage: {doing} {safe_url(storage)!r}: {msg}")


def storage_errors():
    """The exception types a storage can raise (driver errors reach us wrapped by sqlalchemy)."""
    optuna = _optuna()
    kinds = [optuna.exceptions.StorageInternalError]
    try:
        from sqlalchemy.exc import SQLAlchemyError

        kinds.append(SQLAlchemyError)
    except ImportError:  # pragma: no cover - optuna's RDB storage needs sqlalchemy
        pass
    return tuple(kinds)


def _rdb_storage(url, heartbeat=None, grace_period=None, retries=None, attempts=6):
    """optuna's RDBStorage; workers started together race to create the schema of a new database
    (a UNIQUE constraint or "table already exists" error for all but one): the losers retry."""
    import random
    import time

    _optuna()
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from ._rdb import open_rdb

    for attempt in range(attempts):
        try:
            return open_rdb(url, heartbeat, grace_period, retries)
        except (IntegrityError, OperationalError, ProgrammingError) as e:  # PostgreSQL: DuplicateTable
            racing = isinstance(e, IntegrityError) or any(
                w in str(e) for w in ("already exists", "locked", "duplicate")
            )
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1) + 0.1 * random.random())
    raise AssertionError("unreachable")


def open_study(
    storage=None,
    study_name=None,
    direction="maximize",
    sampler=None,
    pruner=None,
    *,
    heartbeat=None,
    grace_period=None,
    retries=None,
):
    """Create or load (same name in the same storage) a study, refusing one that optimizes in
    another direction. For a database URL: ``heartbeat`` (seconds between the heartbeats of a running
    trial; None: none), ``grace_period`` (a trial whose heartbeat is older is failed by the next
    worker that starts a trial; default twice the heartbeat) and ``retries`` (such a trial is queued
    again with the same parameters and seed, at most that many times)."""
    optuna = _optuna()
    st = _storage(storage, heartbeat, grace_period, retries)
    if study_name is not None and (not isinstance(study_name, str) or not study_name):
        raise ValueError(f"study_name: expected a non-empty string, got {study_name!r}")
    try:
        study = optuna.create_study(
            storage=st,
            study_name=study_name,
            direction=direction,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )
    except storage_errors() as e:  # a foreign schema, a read-only database, a lost connection
        raise storage_error(e, storage, "cannot use") from None
    wanted = (
        optuna.study.StudyDirection.MAXIMIZE
        if direction == "maximize"
        else optuna.study.StudyDirection.MINIMIZE
    )
    if list(study.directions) != [wanted]:
        have = "/".join(d.name.lower() for d in study.directions)
        raise ValueError(
            f"study_name: the study {study.study_name!r} in {safe_url(storage)} optimizes "
            f"({have}), but this search would {direction} the validation "
            f"{'accuracy' if direction == 'maximize' else 'cost'}; use another "
            f"study name"
        )
    return study


# --------------------------------------------------------------------------------------------------
# the search
# --------------------------------------------------------------------------------------------------
class Search:
    """One tune() call: validated settings, the objective, Ctrl-C handling, the best network.

    ``tune()`` is ``Search(...).run()``; the command line keeps the object for ``interrupted``
    and ``best_network``."""

    def __init__(
        self,
        training_data,
        evaluation_data,
        *,
        sizes=None,
        n_trials=20,
        n_jobs=1,
        timeout=None,
        storage=None,
        study_name=None,
        space=None,
        epochs=DEFAULT_EPOCHS,
        seed=None,
        dtype=np.float64,
        metric=None,
        sampler=None,
        pruner="median",
        eta_from_threshold=False,
        callbacks=(),
        epoch_callback=None,
        stop=None,
        heartbeat=DEFAULT_HEARTBEAT,
        grace_period=None,
        retries=DEFAULT_RETRIES,
        reconnect=DEFAULT_RECONNECT,
        dask_client=None,
        **fixed,
    ):
        # ---- every argument checked before anything runs ----
        if n_trials is not None:
            n_trials = check_hyper("n_trials", n_trials, low=1, integer=True)
        self.n_jobs = check_hyper("n_jobs", n_jobs, low=1, integer=True)
        if timeout is not None:
            timeout = check_hyper("timeout", timeout, low=0.0, low_open=True)
        if n_trials is None and timeout is None:
            raise ValueError("n_trials/timeout: give at least one, or the search never ends")
        self.n_trials, self.timeout = n_trials, timeout
        heartbeat = check_hyper("heartbeat", heartbeat or 0, low=0, integer=True) or None
        if grace_period is not None:
            grace_period = check_hyper("grace_period", grace_period, low=1, integer=True)
            if heartbeat is None:
                raise ValueError("grace_period: needs a heartbeat (heartbeat=0 or None turns it off)")
            if grace_period <= heartbeat:
                raise ValueError(
                    f"grace_period: expected more than the heartbeat ({heartbeat} s), got {grace_period}: "
                    f"every live trial would look dead"
                )
        self.retries = check_hyper("retries", retries, low=0, integer=True)
        self.reconnect = check_hyper("reconnect", reconnect, low=0.0)
        self.heartbeat, self.grace_period = heartbeat, grace_period
        if dask_client is not None and not (
            hasattr(dask_client, "submit") and hasattr(dask_client, "scheduler_info")
        ):
            raise TypeError(
                f"dask_client: expected a dask.distributed.Client, got {type(dask_client).__name__}"
            )
        self.dask_client = dask_client
        epochs = check_hyper("epochs", epochs, low=1, integer=True)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
        self.seed = check_hyper("seed", seed, low=0, integer=True)
        dtype = resolve_dtype(dtype)
        for name in fixed:
            if name in _SET_BY_TUNE:
                raise TypeError(f"{name}: set by tune() itself, it cannot be fixed")
            if name not in TUNABLE:
                raise TypeError(f"{name}: not a Network or SGD argument (tunable: {', '.join(TUNABLE)})")
        space = {} if space is None else space
        if not isinstance(space, dict):
            raise TypeError(
                f"space: expected a dict of parameter name -> distribution, got {type(space).__name__}"
            )
        for name in space:
            if name not in TUNABLE:
                raise ValueError(f"space: unknown parameter {name!r}; expected one of {', '.join(TUNABLE)}")
            if name in fixed:
                raise ValueError(
                    f"space: {name!r} is both fixed ({name}={fixed[name]!r}) and "
                    f"searched; give it in one of them"
                )
        space = {name: _distribution(name, spec) for name, spec in space.items()}

        self.training = _arrays(training_data, "training_data", dtype)
        self.evaluation = _arrays(evaluation_data, "evaluation_data", dtype)
        n, n_in = self.training[0].shape
        if self.evaluation[0].shape[1] != n_in:
            raise ValueError(
                f"evaluation_data X: expected {n_in} columns like training_data, got "
                f"{self.evaluation[0].shape[1]}"
            )
        if sizes is None:
            sizes = [n_in, 30, _n_outputs(self.training[1], self.evaluation[1])]
            tune_width = WIDTH not in fixed
        else:
            sizes = list(sizes)
            tune_width = False
        if metric is None:
            output = fixed.get("output") or default_output(resolve_cost(fixed.get("cost", "cross-entropy")))
            metric = "cost" if output == "linear" else "accuracy"
        if metric not in ("accuracy", "cost"):
            raise ValueError(f"metric: expected 'accuracy' or 'cost', got {metric!r}")
        self.direction = "maximize" if metric == "accuracy" else "minimize"
        fixed.setdefault("n_threads", DEFAULT_N_THREADS)
        warn_oversubscription(self.n_jobs, check_hyper("n_threads", fixed["n_threads"]))
        fixed.setdefault("stopping_metric", metric)
        if fixed.get("early_stopping") is None and fixed.get("eta_schedule") is None:
            fixed["early_stopping"] = max(2, epochs // 6)
        self.settings = _Settings(sizes, epochs, dtype, fixed, metric)
        # Network construction checks sizes/cost/output/... and the data against them, once
        probe, _ = self.settings.build({}, 0)
        _state.dataset(probe, self.training, "training_data")
        _state.dataset(probe, self.evaluation, "evaluation_data")

        if eta_from_threshold and "eta" not in fixed and "eta" not in space:
            thr = eta_threshold(
                self.training,
                probe.sizes,
                dtype=dtype,
                seed=self.seed,
                mini_batch_size=fixed.get("mini_batch_size", 10),
                **{k: v for k, v in fixed.items() if k in NETWORK_ARGS},
            )
            self.eta_threshold = thr
            default = default_space(n, width=tune_width, eta=(thr / 100, thr))
        else:
            self.eta_threshold = None
            default = default_space(n, width=tune_width)
        self.space = {k: v for k, v in default.items() if k not in fixed}
        self.space.update(space)
        self._check_space()

        if dask_client is not None and storage is None:
            # no database: a storage in the memory of the Dask scheduler, which every worker reaches
            try:
                from optuna_integration import DaskStorage
            except ImportError:
                raise ImportError(
                    "dask_client without a storage needs optuna-integration (pip install "
                    "optuna-integration), or give a database storage the workers can reach"
                ) from None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", _optuna().exceptions.ExperimentalWarning)
                storage = DaskStorage(client=dask_client)
        self._storage_spec = storage
        self.study = open_study(
            storage,
            study_name,
            self.direction,
            sampler if sampler is not None else self._sampler(),
            self._pruner(pruner),
            heartbeat=heartbeat,
            grace_period=grace_period,
            retries=self.retries,
        )
        try:
            self._check_study_space()
        except storage_errors() as e:
            raise storage_error(e, storage, "cannot read the trials of") from None
        self.callbacks = list(callbacks)
        if epoch_callback is not None and not callable(epoch_callback):
            raise TypeError(f"epoch_callback: expected a callable, got {epoch_callback!r}")
        self.epoch_callback = epoch_callback  # (trial number, EpochRecord, value) after each epoch
        self.stop = stop if stop is not None else threading.Event()
        self.interrupted = False
        self._lock = threading.Lock()
        self.best_network = None  # (number, value, network) of this process' best trial
        self._finished = 0  # trials finished by this process (for the reconnection's remaining count)
        self._down_since = None  # monotonic time of the first storage error since the last trial

    def _sampler(self):
        return _optuna().samplers.TPESampler(seed=self.seed)

    def _pruner(self, pruner):
        optuna = _optuna()
        if pruner is None or pruner == "none":
            return optuna.pruners.NopPruner()
        if pruner == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
        if isinstance(pruner, optuna.pruners.BasePruner):
            return pruner
        raise ValueError(f"pruner: expected 'median', 'none', None or an optuna pruner, got {pruner!r}")

    def _check_space(self):
        """Build and validate (SGD with 0 epochs) the network at the ends of every range, so a bad
        range fails now with SGD's own message, not in a trial."""
        lows = {name: _ends(d)[0] for name, d in self.space.items()}
        probes = [("", lows)] + [
            (f"space[{name!r}] = {v!r}: ", {**lows, name: v})
            for name, d in self.space.items()
            for v in _ends(d)[1:]
        ]
        X, y = self.training
        Xe, ye = self.evaluation
        for where, params in probes:
            mbs = params.get("mini_batch_size", self.settings.fixed.get("mini_batch_size"))
            if mbs is None:
                raise ValueError("mini_batch_size: neither fixed nor in the space")
            try:
                if isinstance(mbs, numbers.Integral) and mbs > len(X):
                    raise ValueError(
                        f"mini_batch_size: expected at most the number of training "
                        f"examples ({len(X)}), got {mbs}"
                    )
                if "eta" not in params and "eta" not in self.settings.fixed:
                    raise ValueError("eta: neither fixed nor in the space")
                net, sgd_args = self.settings.build(params, 0)
                m = min(len(X), mbs) if isinstance(mbs, numbers.Integral) and mbs > 0 else 1
                net.SGD((X[:m], y[:m]), 0, evaluation_data=(Xe[:10], ye[:10]), **sgd_args)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{where}{str(e).splitlines()[0]}") from None

    def _check_study_space(self):
        """A process joining a study must search a name the way the study does (Optuna refuses a
        different distribution inside the trial, which would fail every trial)."""
        from optuna.distributions import check_distribution_compatibility

        seen = {}
        for t in self.study.get_trials(deepcopy=False):
            seen.update(t.distributions)
        for name, dist in self.space.items():
            if name in seen:
                try:
                    check_distribution_compatibility(seen[name], dist)
                except ValueError as e:
                    raise ValueError(
                        f"space[{name!r}]: the study {self.study.study_name!r} searches "
                        f"it as {seen[name]}, this process as {dist} ({e}); use the "
                        f"same range or another study name"
                    ) from None

    # ---- one trial ----
    def objective(self, trial):
        optuna = _optuna()
        inherited = trial.user_attrs.get("fastnn")  # a retried (or enqueued with it) trial: its seed
        seed = inherited["seed"] if inherited else _trial_seed(self.seed, trial.number)
        trial.set_user_attr("fastnn", {"seed": seed, "settings": self.settings.to_dict()})
        trial.set_user_attr("worker", _worker_name())  # host:pid, to tell which worker ran it
        if self.stop.is_set():
            self._fail(trial, "interrupted before it started")
        params = {name: _suggest(trial, name, d) for name, d in self.space.items()}
        try:
            net, sgd_args = self.settings.build(params, seed)
        except (ValueError, TypeError) as e:
            self._fail(trial, f"invalid combination: {e}")
        why, errors = [], []

        def report(rec):
            """SGD's callback: never raises (an error, e.g. from the storage, is kept and raised
            after SGD has returned); returns False to stop the run."""
            try:
                value = self.settings.epoch_value(net, rec, self.evaluation)
                if self.epoch_callback is not None:
                    self.epoch_callback(trial.number, rec, value)
                trial.report(value, rec.epoch)
                if self.stop.is_set():
                    why.append("interrupted")
                elif trial.should_prune():
                    why.append("pruned")
            except Exception as e:  # noqa: BLE001
                errors.append(e)
            return False if why or errors else None

        try:
            self.settings.sgd(net, sgd_args, self.training, self.evaluation, report)
        except FloatingPointError as e:
            self._fail(trial, str(e))
        except (ValueError, TypeError) as e:
            self._fail(trial, f"invalid combination: {e}")
        if errors:
            raise errors[0]
        epochs = len(net.history.records)
        trial.set_user_attr("epochs", epochs)
        trial.set_user_attr("stop_reason", net.history.stop_reason)
        if why == ["pruned"]:
            raise optuna.TrialPruned(f"pruned after epoch {epochs}")
        if why == ["interrupted"]:
            self._fail(trial, f"interrupted after epoch {epochs}")
        value = self.settings.final_value(net, self.evaluation)
        if not math.isfinite(value):
            self._fail(trial, f"the validation {self.settings.metric} is {value}")
        with self._lock:
            best = self.best_network
            better = best is None or (value > best[1] if self.direction == "maximize" else value < best[1])
            if better:
                self.best_network = (trial.number, value, net)
        return value

    @staticmethod
    def _fail(trial, reason):
        trial.set_user_attr("fail_reason", reason)
        raise TrialFailed(reason) from None

    def _after_trial(self, study, frozen):
        self._finished += 1
        self._down_since = None
        if self.stop.is_set():
            study.stop()

    # ---- the whole search ----
    def run(self):
        """Optimize; Ctrl-C (SIGINT in the main thread) sets the stop flag: running trials stop at
        the end of their epoch (recorded as failed, "interrupted"), finished ones are kept, and the
        study is returned. A second Ctrl-C raises KeyboardInterrupt at once."""
        restore = None
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):

            def on_sigint(signum, frame):
                self.stop.set()
                signal.signal(signal.SIGINT, signal.default_int_handler)

            restore = signal.signal(signal.SIGINT, on_sigint)
        try:
            if self.dask_client is not None:
                self._optimize_dask()
            else:
                # BLAS limited for the whole search, not call by call: between two calls the policy
                # restores the original limit, and with trials in threads those windows let BLAS start
                # its own threads, whose spinning cost more CPU per trial with 2 jobs (docs/guide.md,
                # "Tune hyper-parameters")
                with blas_limit(1):
                    self._optimize_reconnecting()
        finally:
            if restore is not None:
                signal.signal(signal.SIGINT, restore)
        self.interrupted = self.stop.is_set()
        if self.interrupted:
            _logger.warning("search interrupted: finished trials kept, running ones stopped")
        return self.study

    def _optimize_reconnecting(self):
        """``study.optimize`` for the trials still to run; a database that cannot be reached (a
        restart, a network cut) is retried every second for ``reconnect`` seconds, then the search
        stops with :class:`StorageLost`. The trial running when the connection was lost is left to
        the heartbeat: failed by the next worker after the grace period, and retried."""
        import time

        errors = self._storage_errors()
        start = time.monotonic()
        while not self.stop.is_set():
            n_trials = None if self.n_trials is None else self.n_trials - self._finished
            timeout = None if self.timeout is None else self.timeout - (time.monotonic() - start)
            if (n_trials is not None and n_trials <= 0) or (timeout is not None and timeout <= 0):
                return
            try:
                self.study.optimize(
                    self.objective,
                    n_trials=n_trials,
                    timeout=timeout,
                    n_jobs=self.n_jobs,
                    catch=(TrialFailed,),
                    callbacks=[self._after_trial, *self.callbacks],
                )
                return
            except Exception as e:
                cause = _storage_cause(e, errors)
                if cause is None:
                    raise
                self._wait_for_storage(cause, errors)

    def _storage_errors(self):
        if isinstance(self._storage_spec, str) and "://" in self._storage_spec:
            from ._rdb import storage_errors

            return storage_errors()
        return ()

    def _wait_for_storage(self, error, errors):
        """After a storage error: back when the database answers, or StorageLost after
        ``reconnect`` seconds without a finished trial."""
        import time

        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        where = _redact(self._storage_spec)
        if self._down_since is None:
            self._down_since = time.monotonic()
            _logger.warning(
                "storage %s: %s; retrying the connection for up to %g s", where, first, self.reconnect
            )
        while True:
            waited = time.monotonic() - self._down_since
            if waited >= self.reconnect:
                raise StorageLost(
                    f"storage {where}: unreachable for {waited:.0f} s ({first}); the trials finished "
                    f"before are in the study, the running one is failed after the grace period and "
                    f"retried by the next worker"
                ) from None
            try:
                self.study.user_attrs  # noqa: B018  (one query: does the database answer?)
            except errors as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                if self.stop.wait(min(1.0, self.reconnect - waited)):
                    return
                continue
            _logger.warning("storage %s: reachable again after %.0f s; the search goes on", where, waited)
            return

    # ---- trials on a Dask cluster ----
    def __getstate__(self):
        """What a Dask worker needs to run trials: no data (scattered once), study, lock, stop flag
        or callbacks (the worker's own)."""
        state = dict(self.__dict__)
        for name in (
            "training",
            "evaluation",
            "study",
            "_lock",
            "stop",
            "callbacks",
            "epoch_callback",
            "dask_client",
        ):
            state[name] = None
        state["best_network"] = None
        if self.study is not None:  # else a worker's copy, sent on (Dask moves tasks between workers)
            state["_sampler_pruner"] = (self.study.sampler, self.study.pruner, self.study.study_name)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.callbacks = []

    def _optimize_dask(self):
        """One Dask task per trial (at most one per worker thread at a time); the data scattered to
        every worker once; each finished trial reported here to the callbacks, in finishing order."""
        import time
        import uuid

        from distributed import Event, as_completed

        client = self.dask_client
        slots = max(1, sum(client.nthreads().values()))
        data = client.scatter([*self.training, *self.evaluation], broadcast=True, hash=False)
        stop_name = f"fastnn-stop-{uuid.uuid4().hex}"
        stop_event = Event(stop_name, client=client)
        start, submitted, stopping = time.monotonic(), 0, False
        pending = as_completed()

        def submit_more():
            nonlocal submitted
            while (
                pending.count() < slots
                and not self.stop.is_set()
                and (self.n_trials is None or submitted < self.n_trials)
                and (self.timeout is None or time.monotonic() - start < self.timeout)
            ):
                pending.add(client.submit(_dask_trial, self, *data, stop_name, pure=False))
                submitted += 1

        submit_more()
        try:
            while not pending.is_empty():
                # wake up now and then to pass on Ctrl-C to the workers' trials
                done = pending.next_batch(block=False)
                if not done:
                    if self.stop.wait(0.1) and not stopping:
                        stopping = True
                        stop_event.set()
                    continue
                for future in done:
                    number, best = future.result()
                    if best is not None:
                        with self._lock:
                            old = self.best_network
                            if old is None or (
                                best[1] > old[1] if self.direction == "maximize" else best[1] < old[1]
                            ):
                                self.best_network = best
                    if number is not None:
                        storage = self.study._storage
                        frozen = storage.get_trial(
                            storage.get_trial_id_from_study_id_trial_number(self.study._study_id, number)
                        )
                        self._finished += 1  # (no study.stop() outside Optuna's loop: the stop flag)
                        for callback in self.callbacks:
                            callback(self.study, frozen)
                submit_more()
        finally:
            if self.stop.is_set():
                stop_event.set()
            client.cancel(data)


def _storage_cause(error, errors):
    """The storage error behind `error` (itself, or one it was raised while handling: Optuna's
    post-trial bookkeeping can fail with another exception when the database is gone), or None."""
    seen = 0
    while error is not None and seen < 10:
        if errors and isinstance(error, errors):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


#: Studies opened by this (Dask worker) process, by storage URL and study name.
_WORKER_STUDIES: dict = {}


class _DaskStop:
    """The stop flag of trials on a Dask worker: the client's ``distributed.Event`` (one scheduler
    round trip per epoch)."""

    def __init__(self, name):
        from distributed import Event

        self.event = Event(name)

    def is_set(self):
        return self.event.is_set()


def _dask_trial(search, X, y, X_evaluation, y_evaluation, stop_name):
    """One trial of `search` on a Dask worker: (its number, (number, value, network) if it finished
    better than nothing, else None)."""
    optuna = _optuna()
    search.training, search.evaluation = (X, y), (X_evaluation, y_evaluation)
    search.stop = _DaskStop(stop_name)
    sampler, pruner, name = search._sampler_pruner
    spec = search._storage_spec
    key = (spec, name) if isinstance(spec, str) else None
    study = _WORKER_STUDIES.get(key) if key else None
    if study is None:
        study = open_study(
            spec,
            name,
            search.direction,
            sampler,
            pruner,
            heartbeat=search.heartbeat,
            grace_period=search.grace_period,
            retries=search.retries,
        )
        if key:
            _WORKER_STUDIES[key] = study
    study.sampler.reseed_rng()  # each task a fresh draw (the pickled sampler is the same everywhere)
    ran = []
    with warnings.catch_warnings(), blas_limit(1):
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.optimize(
            search.objective,
            n_trials=1,
            catch=(TrialFailed,),
            callbacks=[lambda study, frozen: ran.append(frozen.number)],
        )
    return (ran[0] if ran else None), search.best_network


def tune(training_data, evaluation_data, **options):
    """Search the hyper-parameters of a ``Network`` trained with ``SGD`` and return the
    ``optuna.Study``.

    Each trial builds ``Network(sizes, ...)`` and runs one ``SGD`` call of at most ``epochs``
    epochs with early stopping (``early_stopping = epochs // 6`` unless ``early_stopping`` or
    ``eta_schedule`` is fixed), reporting the validation accuracy (``metric="cost"``: the mean
    validation cost, minimized; the default for a linear output) after every epoch so the pruner
    (``pruner="median"``, ``"none"`` or an Optuna pruner) can stop it; its value is the accuracy
    (cost) of the network it keeps. A diverging trial is recorded as failed with
    ``user_attrs["fail_reason"]``; the study goes on.

    - ``space``: ``{name: distribution}`` (an ``optuna.distributions`` object, ``(low, high)``,
      ``(low, high, "log")`` or a list of choices) over :data:`TUNABLE` names; it overrides
      :func:`default_space` (η, λ, mini-batch size, momentum; the hidden width when ``sizes`` is
      not given: ``[n_inputs, width, n_outputs]``). ``eta_from_threshold=True``: η's range is
      [t/100, t] with t = :func:`eta_threshold`.
    - ``fixed``: any other ``Network``/``SGD`` argument, constant for all trials (it also removes
      that name from the default space). A name both fixed and in ``space``, or one that is no
      ``Network``/``SGD`` argument, is an error before any trial runs.
    - ``seed``: trial k uses the seed derived from (seed, k) (``user_attrs["fastnn"]["seed"]``),
      the TPE sampler is seeded with it: with ``n_jobs=1`` a study is reproducible.
    - ``n_jobs``: trials run in that many threads sharing the (converted once) training arrays;
      each trial trains on ``n_threads=1`` thread unless fixed (``fixed={"n_threads": T}``: each
      trial on a team of T; one warning when n_jobs x T exceeds the cores this process may use).
    - ``storage``/``study_name``: an Optuna storage (``"sqlite:///study.db"``, ``"journal:FILE"``,
      any RDB URL such as ``"postgresql+psycopg://user:password@host/db"``) shared by several
      processes or machines cooperating on one study.
    - With a database URL: ``heartbeat`` (seconds between the heartbeats of a running trial, default
      30; 0 or None: none), ``grace_period`` (a trial without heartbeat that long — its worker died —
      is failed by the next worker that starts a trial; default twice the heartbeat), ``retries``
      (such a trial is queued again with the same parameters and seed, at most that many times,
      default 2), ``reconnect`` (seconds a lost database connection is retried before the search
      stops with :class:`StorageLost`, default 60).
    - ``dask_client``: a ``dask.distributed.Client``; the trials run on its workers, one per worker
      thread at a time, the data sent to each worker once; without ``storage`` the study lives in the
      scheduler (optuna-integration's ``DaskStorage``). Callbacks run here, as trials finish
      (``study.stop()`` works only in Optuna's own loop: stop a Dask search with ``stop``).
    - ``metric``, ``sampler``, ``pruner``, ``eta_from_threshold``, ``callbacks`` (Optuna study
      callbacks), ``stop`` (a ``threading.Event`` that stops the search) are accepted too.

    Ctrl-C stops the running trials at the end of their epoch and returns the study.
    """
    return Search(training_data, evaluation_data, **options).run()


# the keyword arguments are Search's: show them in help(tune) and IDEs
_SEARCH_PARAMETERS = list(inspect.signature(Search.__init__).parameters.values())[1:]
tune.__signature__ = inspect.signature(Search.__init__).replace(parameters=_SEARCH_PARAMETERS)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------------
# the book's eta threshold
# --------------------------------------------------------------------------------------------------
def eta_threshold(
    training_data,
    sizes,
    *,
    epochs=3,
    start=0.01,
    refine=5,
    mini_batch_size=10,
    lmbda=0.0,
    seed=0,
    dtype=np.float64,
    **network_args,
):
    """Chapter 3's estimate of the threshold learning rate: the largest η for which the training
    cost falls in each of the first ``epochs`` epochs (from the cost before training), found by
    orders of magnitude from ``start`` (0.01, 0.1, 1, ... or down 0.001, ...), then refined by
    ``refine`` geometric bisections of the last decade. Every run starts from the same network and
    shuffling (``seed``). The book then trains at about half the threshold.
    """
    epochs = check_hyper("epochs", epochs, low=1, integer=True)
    start = check_hyper("start", start, low=0.0, low_open=True)
    refine = check_hyper("refine", refine, low=0, integer=True)
    dtype = resolve_dtype(dtype)
    for name in network_args:
        if name not in NETWORK_ARGS:
            raise TypeError(f"{name}: not a Network argument (accepted: {', '.join(NETWORK_ARGS)})")
    X, y = _arrays(training_data, "training_data", dtype)
    _state.dataset(Network(sizes, dtype=dtype, seed=seed, **network_args), (X, y), "training_data")
    check_hyper("mini_batch_size", mini_batch_size, low=1, high=len(X), integer=True)
    check_option("lmbda", lmbda)  # the option's rule (_vocabulary.SGDArguments)

    def falls(eta):
        net = Network(sizes, dtype=dtype, seed=seed, **network_args)
        costs = [net.total_cost(X, y, lmbda)]
        try:
            costs += net.SGD(
                (X, y), epochs, mini_batch_size, eta, lmbda, monitor_training_cost=True, n_threads=1
            )[2]
        except FloatingPointError:
            return False
        return all(b < a for a, b in zip(costs, costs[1:]))

    eta = start
    if falls(eta):
        while falls(eta * 10):
            eta *= 10
            if eta > 1e6:
                raise ValueError(f"eta_threshold: the training cost still falls at eta={eta:g}")
        low, high = eta, eta * 10
    else:
        while not falls(eta / 10):
            eta /= 10
            if eta < 1e-8:
                raise ValueError(
                    f"eta_threshold: the training cost does not fall in the first "
                    f"{epochs} epochs for any eta down to {eta:g}"
                )
        low, high = eta / 10, eta
    for _ in range(refine):
        mid = math.sqrt(low * high)
        if falls(mid):
            low = mid
        else:
            high = mid
    return float(low)


# --------------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------------
PLOTS = {
    "history": "plot_optimization_history",
    "importances": "plot_param_importances",
    "slice": "plot_slice",
}


def _tidy_axes(axes, objective_label, percent):
    """Optuna's matplotlib plots made readable: on log axes, a few major ticks with labels and no
    minor labels (they overlapped); the objective named and, for an accuracy, shown in percent as
    the CLI prints it (not "Objective Value" on a 0-1 scale)."""
    import math

    from matplotlib.ticker import (
        FixedLocator,
        FuncFormatter,
        LogFormatterSciNotation,
        NullFormatter,
        PercentFormatter,
    )

    for ax in axes:
        if ax.get_xscale() == "log":
            lo, hi = sorted(ax.get_xlim())
            if lo > 0 and math.log10(hi / lo) >= 2:  # decades: at most 4 labelled
                decades = list(range(math.ceil(math.log10(lo)), math.floor(math.log10(hi)) + 1))
                step = -(-len(decades) // 4)
                ax.xaxis.set_major_locator(FixedLocator([10.0**k for k in decades[::step]]))
                ax.xaxis.set_major_formatter(LogFormatterSciNotation())
            elif lo > 0:  # under two decades: 1-2-5 values inside the range (1-3 or 1 if over 4)
                for mantissas in ((1, 2, 5), (1, 3), (1,)):
                    ticks = [
                        m * 10.0**k
                        for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                        for m in mantissas
                        if lo <= m * 10.0**k <= hi
                    ]
                    if len(ticks) <= 4:
                        break
                ax.xaxis.set_major_locator(FixedLocator(ticks))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        if ax.get_ylabel() == "Objective Value":
            ax.set_ylabel(objective_label)
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                if text.get_text() == "Objective Value":
                    text.set_text(objective_label)
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def plot_study(study, directory, dpi=100, metric=None):
    """Optuna's optimization history, parameter importances and slice plots as PNGs in
    `directory` (written atomically). Returns {name: path written}, {name: reason not written}.
    ``metric`` ("accuracy" or "cost"): the objective's name on the axes (accuracy in percent)."""
    import io
    import os

    from ._output_files import atomic_write_bytes
    from .plotting import require_matplotlib

    require_matplotlib()
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    written, skipped = {}, {}
    for name, fn in PLOTS.items():
        path = os.path.join(directory, f"{name}.png")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _optuna().exceptions.ExperimentalWarning)  # since Optuna 2.2
            # a parameter with a single value: matplotlib's "identical low and high xlims" (harmless)
            warnings.filterwarnings("ignore", message=".*identical low and high", category=UserWarning)
            try:
                ax = getattr(ovm, fn)(study)
            except Exception as e:  # e.g. importances need two finished trials  # noqa: BLE001
                skipped[name] = str(e).splitlines()[0] if str(e) else type(e).__name__
                continue
            axes = list(np.ravel(ax)) if isinstance(ax, np.ndarray) else [ax]
            fig = axes[0].get_figure()
            try:
                label = f"validation {metric}" if metric else "objective (validation)"
                if name == "importances":  # its legend only
                    _tidy_axes(axes, f"importance for the {label}", False)
                else:
                    _tidy_axes(axes, label, metric == "accuracy")
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
                atomic_write_bytes(path, buf.getvalue())
                written[name] = path
            finally:
                plt.close(fig)
    return written, skipped
