"""Optuna's RDB storage as fastnn's workers open it (imported only when a database URL is used, after
optuna): the heartbeat that lets the other workers fail and retry the trial of a dead worker, and a
heartbeat thread that survives a database restart."""

from __future__ import annotations

import inspect
import logging
import warnings

import optuna
from optuna.storages import RDBStorage

_logger = logging.getLogger("fastnn.tune")

#: Optuna >= 4.9 names the callback of a stale trial ``heartbeat_stale_trial_callback`` (and the retry
#: class ``RetryHeartbeatStaleTrialCallback``); the older name still works there, with a FutureWarning.
_CALLBACK_ARG = (
    "heartbeat_stale_trial_callback"
    if "heartbeat_stale_trial_callback" in inspect.signature(RDBStorage.__init__).parameters
    else "failed_trial_callback"
)
_Retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
if _Retry is None:  # Optuna < 4.9
    _Retry = optuna.storages.RetryFailedTrialCallback


def storage_errors():
    """The exceptions of a database that cannot be reached (refused, dropped, restarting)."""
    from sqlalchemy.exc import DBAPIError

    return (optuna.exceptions.StorageInternalError, DBAPIError)


class WorkerStorage(RDBStorage):
    """``RDBStorage`` whose heartbeat thread outlives a lost connection: a failed heartbeat is logged
    (once per outage) instead of ending the thread with a traceback, and the next one is tried at the
    next interval, so a trial that survives a database restart keeps its heartbeat."""

    _heartbeat_lost = False

    def record_heartbeat(self, trial_id):
        try:
            super().record_heartbeat(trial_id)
        except storage_errors() as e:
            if not self._heartbeat_lost:
                self._heartbeat_lost = True
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                _logger.warning("heartbeat of trial id %d not recorded (%s); retrying", trial_id, first)
        else:
            self._heartbeat_lost = False


def open_rdb(url, heartbeat, grace_period, retries):
    """A ``WorkerStorage`` for `url`: with ``heartbeat`` seconds (None/0: no heartbeat), a trial whose
    heartbeat is older than ``grace_period`` seconds (None: twice the heartbeat) is failed by the next
    worker that starts a trial, and re-queued with the same parameters up to ``retries`` times."""
    kwargs = {"engine_kwargs": {"pool_pre_ping": True}}  # a connection dropped by a restart is replaced
    if heartbeat:
        kwargs.update(heartbeat_interval=int(heartbeat), grace_period=int(grace_period or 2 * heartbeat))
        if retries:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                kwargs[_CALLBACK_ARG] = _Retry(max_retry=int(retries))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
        return WorkerStorage(url, **kwargs)


def retried_from(trial):
    """The number of the trial a (frozen) trial retries, or None."""
    return trial.system_attrs.get("failed_trial")
