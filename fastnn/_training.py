"""One ``Network.SGD`` call as an object: the training run.

``Network.SGD`` checks its arguments and builds a :class:`_TrainingRun`, which owns the run's state
(the epoch step, the shuffling order, η, the early-stopping/schedule watch, the history, network2's
four lists, the progress bar) and does one epoch at a time: the mini-batches (:meth:`train_epoch`),
the monitoring passes (:meth:`monitor`), the schedule, early stopping and the callback
(:meth:`after_epoch`). The epoch step is a component: the compiled core's ``Trainer``, or the
numpy ``UserCostStep`` (fastnn/_user_cost_step.py) for a cost class the core cannot run; both
share one interface, so everything else works the same for both.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import _core, _state, _team_pace
from ._threads import blas_limit
from ._vocabulary import history_settings
from .costs import UserCost
from .history import EpochRecord, History

# Seconds of compiled work between returns to Python (progress bar, Ctrl-C).
_CHUNK_SECONDS = 0.1


@dataclass(frozen=True)
class Monitor:
    """What to measure after each epoch: network2's four monitor_* flags, plus the evaluation
    score early stopping and the η schedule need (`evaluation_score`); `score_by_cost`
    (stopping_metric="cost"): the score is the negated mean evaluation cost, when computed,
    rather than the accuracy; `lmbda` and `regularization` give the costs' regularization term."""

    training_cost: bool = False
    training_accuracy: bool = False
    evaluation_cost: bool = False
    evaluation_accuracy: bool = False
    evaluation_score: bool = False
    score_by_cost: bool = False
    lmbda: float = 0.0
    regularization: str = "l2"


def epoch_step(net, options, rng_state=None):
    """The component that runs an epoch's mini-batches: the compiled core's Trainer (on a team of
    up to ``options.n_threads`` threads), or the numpy UserCostStep for a cost class the core
    cannot run;
    both train the network's own parameter buffer in place and share one interface (see
    fastnn._user_cost_step.UserCostStep), including ``rng_state`` (the dropout generator; given:
    continue that stream)."""
    seed = 0 if rng_state is not None else int(_state.generator(net).integers(0, 2**63))
    mini_batch_size, dropout = options.mini_batch_size, options.dropout
    velocity = _state.velocity(net) if options.momentum > 0 else None
    if isinstance(net.cost, UserCost):
        from ._user_cost_step import UserCostStep  # lazily: numpy + scipy, only for a user's cost

        step = UserCostStep(net, mini_batch_size, velocity, dropout, np.random.default_rng(seed))
    else:
        step = _core.Trainer(
            _state.layout(net),
            _state.parameters(net),
            mini_batch_size,
            velocity,
            dropout,
            seed,
            n_threads=options.n_threads,
        )
    if rng_state is not None:
        step.rng_state = rng_state
    return step


def resume_state(net, n):
    """The training state SGD(resume=True) continues from (checked against n training rows)."""
    state = _state.run_state(net)
    if state is None:
        raise ValueError(
            "resume: this network has no training run to continue (train it with "
            "SGD first, or load a checkpoint saved with save(path, state=True))"
        )
    if len(state["perm"]) != n:
        raise ValueError(
            f"resume: the run being continued trained on {len(state['perm'])} "
            f"rows, this training_data has {n}"
        )
    return state


class _TrainingRun:
    """One SGD call's state and its epoch, monitoring and rollback steps, for the checked options
    Network.SGD hands over (a frozen ``_vocabulary.TrainingOptions``). `state`: a checkpoint state
    (``_state.run_state``) to continue."""

    def __init__(self, net, training, evaluation, options, state=None):
        (X, y), (Xe, ye) = training, evaluation
        o = self.options = options
        self.net, self.X, self.y, self.Xe, self.ye, self.n = net, X, y, Xe, ye, len(X)
        needs_eval = o.early_stopping is not None or o.eta_schedule is not None
        monitor = Monitor(
            training_cost=o.monitor_training_cost,
            training_accuracy=o.monitor_training_accuracy,
            evaluation_cost=o.monitor_evaluation_cost,
            evaluation_accuracy=o.monitor_evaluation_accuracy,
            evaluation_score=needs_eval,
            score_by_cost=o.stopping_metric == "cost",
            lmbda=o.lmbda,
            regularization=o.regularization,
        )
        self.monitoring, self.shuffle, self.track_loss = monitor, o.shuffle, o.track_loss
        self.verbose = o.verbose
        # ---- state for the whole call (restored if X turns out to hold NaN/inf) ----
        self.start = _state.snapshot(net)
        if o.momentum > 0:
            _state.ensure_velocity(net)  # zeros, aligned as the parameters
        if state is not None:
            self.from_checkpoint(state)
        # the training's threads: a team inside the compiled loop (not BLAS threads)
        self.threads = o.n_threads if o.n_threads is not None else (net.n_threads or 1)
        o = self.options = o.replace(n_threads=self.threads)
        self.step = epoch_step(net, o, None if state is None else state["step_rng"])
        n = self.n
        self.perm = np.arange(n, dtype=np.intp) if state is None else np.array(state["perm"], dtype=np.intp)
        self.step.begin(  # shuffled in place each epoch
            X,
            y,
            self.perm if o.shuffle else None,
            lmbda=o.lmbda,
            n_total=n,
            regularization=o.regularization,
            momentum=o.momentum,
            track_loss=o.track_loss,
            sample_weight=o.sample_weight,
        )
        eta = o.eta
        self.eta0 = eta if state is None or o.eta_schedule is None else state["eta0"]
        if state is not None and o.eta_schedule is not None:
            eta = state["eta"]
        self.eta = eta
        self.first = 1 if state is None else state["epoch"] + 1
        self.last = self.first + o.epochs - 1
        self.n_batches = -(-n // o.mini_batch_size)
        # the options History.settings records (_vocabulary: setting=True), η the one run with
        settings = history_settings(o)
        settings.update(eta=eta, n_training=n, n_evaluation=None if Xe is None else len(Xe))
        self.history = History(settings=settings)
        if state is not None:
            self.history.records = list(state["history"].records)
        net.history = self.history
        self.lists = ([], [], [], [])
        keep_best = monitor.evaluation_score and o.restore_best
        self.watch = _ValidationWatch(net, o, self.eta0, keep_best=keep_best)
        if state is not None:
            self.watch.load_state(state["watch"])
        self.bar = _Progress(o.epochs, self.n_batches) if o.progress and o.epochs else None
        self.epoch_start = None  # TrainingState of the running epoch (rollback)
        self.chunk = min(self.n_batches, 16)  # mini-batches per compiled call, adapted to ~0.1 s
        team = getattr(self.step, "threads", 1)
        # the team or one thread, per chunk (fastnn/_team_pace.py)
        key = (tuple(net.sizes), o.mini_batch_size, str(net.dtype))
        self.pace = _team_pace.TeamPace(team, key) if team > 1 and _team_pace.ENABLED else None

    def epochs(self):
        return range(self.first, self.last + 1)

    # ---- checkpoints ---------------------------------------------------------------------------
    def from_checkpoint(self, state):
        """Continue a run: the generator, and the run's own parameters and velocity (not the
        restored best) when the checkpoint holds them."""
        net = self.net
        _state.generator(net).bit_generator.state = state["rng"]
        if state.get("params") is not None:
            _state.parameters(net)[...] = state["params"]
            velocity = _state.velocity(net)
            if state.get("velocity") is not None and velocity is not None:
                velocity[...] = state["velocity"]

    def checkpoint_state(self, epoch):
        """What SGD(resume=True) (and save(state=True)) needs to continue after `epoch`."""
        return dict(
            epoch=epoch,
            eta=self.eta,
            eta0=self.eta0,
            perm=self.perm.copy(),
            history=self.history,
            rng=_state.generator(self.net).bit_generator.state,
            step_rng=self.step.rng_state,
            watch=self.watch.get_state(),
            params=None,
            velocity=None,
        )

    # ---- one epoch -----------------------------------------------------------------------------
    def train_epoch(self, epoch):
        """Shuffle, run the epoch's mini-batches (within the BLAS thread limit), undo the epoch
        if it diverged; returns the epoch's record (monitoring not yet done)."""
        net = self.net
        t0 = time.perf_counter()
        if self.shuffle:
            _state.generator(net).shuffle(self.perm)
        self.epoch_start = _state.snapshot(net)
        if self.bar is not None:
            self.bar.epoch(epoch, self.last)
        with blas_limit(1):  # BLAS layers keep one thread (n_threads is the team's size)
            loss = self._chunks(check_input=epoch == self.first)
        seconds = time.perf_counter() - t0
        if not np.all(np.isfinite(_state.parameters(net))) or not math.isfinite(loss):
            self.undo_diverged_epoch(epoch, "the parameters became NaN or infinite")
        n = self.n
        return EpochRecord(
            epoch=epoch,
            eta=self.eta,
            seconds=seconds,
            examples_per_second=n / seconds if seconds > 0 else float("inf"),
            n_training=n,
            n_evaluation=None if self.Xe is None else len(self.Xe),
            training_loss=loss / n if self.track_loss else None,
        )

    def _chunks(self, check_input):
        """All mini-batches of one epoch, in compiled calls of `chunk` mini-batches, adapted to
        take about _CHUNK_SECONDS each (between them: the progress bar, Ctrl-C).
        Returns the summed training loss."""
        step, n_batches, chunk, pace = self.step, self.n_batches, self.chunk, self.pace
        loss = 0.0
        done = 0
        while done < n_batches:
            if pace is None:
                stop = min(n_batches, done + chunk)
                tc = time.perf_counter()
                loss += step.train(done, stop, self.eta, check_input)
            else:  # a team: this chunk on the whole team or one thread (the same results)
                threads, size = pace.plan(chunk)
                stop = min(n_batches, done + size)
                tc = time.perf_counter()
                loss += step.train(done, stop, self.eta, check_input, threads=threads)
            if step.bad_batch >= 0:
                self.reject_bad_batch(self.perm if self.shuffle else None, step.bad_batch)
            elapsed = time.perf_counter() - tc
            if self.bar is not None:
                rows = min(stop * step.batch_size, self.n)
                self.bar.update(stop - done, loss / rows if self.track_loss else None)
            per_batch = elapsed / (stop - done)
            if pace is not None:
                pace.record(threads, stop - done, elapsed)
                per_batch = pace.chunk_seconds_per_batch() or per_batch
            chunk = int(max(1, min(n_batches, _CHUNK_SECONDS / max(per_batch, 1e-6 / (stop - done)))))
            done = stop
        self.chunk = chunk
        return loss

    def undo_diverged_epoch(self, epoch, what):
        _state.restore(self.net, self.epoch_start, parameters_only=True)
        raise FloatingPointError(
            f"training diverged in epoch {epoch} (eta={self.eta:g}): {what}; the parameters were "
            f"reset to the end of epoch {epoch - 1}. Try a smaller eta."
        )

    def reject_bad_batch(self, perm, k):
        """Undo the call (parameters, velocity, generator, history) and name the first bad row."""
        _state.restore(self.net, self.start)
        X, m = self.X, self.step.batch_size
        rows = np.arange(k * m, min((k + 1) * m, len(X)))
        if perm is not None:
            rows = np.sort(perm[rows])
        bad = rows[~np.all(np.isfinite(X[rows]), axis=1)]
        raise ValueError(f"training_data X: contains NaN or infinity (row {int(bad[0])})")

    def monitor(self, rec):
        """Fill the epoch record and network2's lists (evaluation cost, evaluation accuracy,
        training cost, training accuracy): one pass over each data set for what is monitored on it.
        The evaluation accuracy is also computed (and recorded) when early stopping or the η
        schedule needs it; network2's list only holds it when asked for. Returns the mean
        evaluation cost without the regularization term, when computed."""
        net, m, lists = self.net, self.monitoring, self.lists
        X, y, Xe, ye = self.X, self.y, self.Xe, self.ye
        if m.training_cost or m.training_accuracy:
            cost_sum, correct = _state.evaluate(
                net, X, y, want_cost=m.training_cost, want_correct=m.training_accuracy, n_threads=self.threads
            )
            if m.training_cost:
                rec.training_cost = _state.regularized_cost(net, cost_sum, len(X), m.lmbda, m.regularization)
                rec.training_data_cost = float(cost_sum / len(X))
                lists[2].append(rec.training_cost)
            if m.training_accuracy:
                rec.training_accuracy = int(correct)
                lists[3].append(rec.training_accuracy)
        evaluation_loss = None
        if Xe is not None and (m.evaluation_cost or m.evaluation_accuracy or m.evaluation_score):
            want_cost = m.evaluation_cost or (m.evaluation_score and m.score_by_cost)
            has_classes = not (net.sizes[-1] == 1 and net.output == "linear")
            cost_sum, correct = _state.evaluate(
                net, Xe, ye, want_cost=want_cost, want_correct=has_classes, n_threads=self.threads
            )
            if want_cost:
                evaluation_loss = cost_sum / len(Xe)
            if m.evaluation_cost:
                rec.evaluation_cost = _state.regularized_cost(
                    net, cost_sum, len(Xe), m.lmbda, m.regularization
                )
                rec.evaluation_data_cost = float(evaluation_loss)
                lists[0].append(rec.evaluation_cost)
            rec.evaluation_accuracy = int(correct) if has_classes else None
            if m.evaluation_accuracy:
                lists[1].append(rec.evaluation_accuracy)
        return evaluation_loss

    def after_epoch(self, rec, callback):
        """Monitor the trained epoch, record it, then the schedule, early stopping, the
        checkpoint state and the callback; returns the stop reason or None."""
        net, history, bar = self.net, self.history, self.bar
        if bar is not None:
            bar.evaluating()
        t1 = time.perf_counter()
        evaluation_loss = self.monitor(rec)
        rec.evaluation_seconds = time.perf_counter() - t1
        if bar is not None:
            bar.monitored(rec)
        for value in (rec.training_cost, rec.evaluation_cost):
            if value is not None and not math.isfinite(value):
                self.undo_diverged_epoch(rec.epoch, f"the cost is {value}")
        history.records.append(rec)
        if self.verbose:
            _print_network2_epoch(rec, self.monitoring, bar)
        score = (
            rec.evaluation_accuracy
            if not self.monitoring.score_by_cost or evaluation_loss is None
            else -evaluation_loss
        )
        self.eta, stop_reason = self.watch.after_epoch(rec.epoch, score, self.eta)
        history.best_epoch = self.watch.best_epoch
        _state.set_run_state(net, self.checkpoint_state(rec.epoch))
        if callback is not None:
            try:
                answer = callback(rec)
            except Exception:
                history.stop_reason = "callback-error"  # the epoch it saw is kept
                raise
            if answer is False:
                stop_reason = stop_reason or "callback"
        if stop_reason:
            history.stop_reason = stop_reason
        return stop_reason

    def finish(self):
        """Restore the best epoch's parameters (when kept); network2's four lists."""
        net, history = self.net, self.history
        last_epoch = history.records[-1].epoch if history.records else None
        run, velocity = _state.run_state(net), _state.velocity(net)
        if run is not None and self.watch.will_restore(last_epoch):
            run.update(  # a later resume continues the run's own parameters
                params=_state.parameters(net).copy(), velocity=None if velocity is None else velocity.copy()
            )
        history.restored_best = self.watch.restore_best(history.records[-1].epoch if history.records else 0)
        return self.lists

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _ValidationWatch:
    """Chapter 3's "no improvement in n epochs" rules on an evaluation score (the accuracy, or the
    negated cost): remember the best epoch (and its parameters, when they are to be kept), stop
    early, and multiply η by `eta_decay` after n epochs without improvement, stopping once
    η < η₀·min_eta_ratio."""

    def __init__(self, net, options, eta0, keep_best):
        self.net, self.early_stopping, self.eta_schedule = net, options.early_stopping, options.eta_schedule
        self.eta_decay, self.eta_floor = options.eta_decay, eta0 * options.min_eta_ratio
        self.keep_best = keep_best
        self.best_score, self.best_epoch = -math.inf, None
        self.best_params = self.best_velocity = None
        self.since_best = self.since_change = 0

    _STATE = ("best_score", "best_epoch", "since_best", "since_change", "best_params", "best_velocity")

    def get_state(self):
        return {k: getattr(self, k) for k in self._STATE}

    def load_state(self, state):
        for k in self._STATE:
            value = state.get(k)
            setattr(self, k, value.copy() if isinstance(value, np.ndarray) else value)
        if self.best_score is None:
            self.best_score = -math.inf

    def will_restore(self, last_epoch):
        return self.best_params is not None and self.best_epoch != last_epoch

    def after_epoch(self, epoch, score, eta):
        """(η for the next epoch, the stop reason or None); score None: nothing evaluated."""
        if score is None:
            return eta, None
        if score > self.best_score:
            self.best_score, self.best_epoch = score, epoch
            self.since_best = self.since_change = 0
            if self.keep_best:
                net = self.net
                velocity = _state.velocity(net)
                self.best_params = _state.parameters(net).copy()
                self.best_velocity = None if velocity is None else velocity.copy()
        else:
            self.since_best += 1
            self.since_change += 1
        stop = None
        if self.early_stopping is not None and self.since_best >= self.early_stopping:
            stop = "early-stopping"
        if self.eta_schedule is not None and self.since_change >= self.eta_schedule:
            eta *= self.eta_decay
            self.since_change = 0
            if eta < self.eta_floor * (1 + 1e-12):
                stop = stop or "eta-floor"
        return eta, stop

    def restore_best(self, n_epochs):
        """Put the best epoch's parameters back (when kept and not the last); True if done."""
        if self.best_params is None or self.best_epoch == n_epochs:
            return False
        _state.parameters(self.net)[...] = self.best_params
        if self.best_velocity is not None:
            _state.velocity(self.net)[...] = self.best_velocity
        return True


def _print_network2_epoch(rec, monitor, bar=None):
    """network2's per-epoch report (SGD(verbose=True)); network2 counts epochs from 0."""
    lines = [f"Epoch {rec.epoch - 1} training complete"]
    if monitor.training_cost:
        lines.append(f"Cost on training data: {rec.training_cost}")
    if monitor.training_accuracy:
        lines.append(f"Accuracy on training data: {rec.training_accuracy} / {rec.n_training}")
    if monitor.evaluation_cost:
        lines.append(f"Cost on evaluation data: {rec.evaluation_cost}")
    if monitor.evaluation_accuracy:
        lines.append(f"Accuracy on evaluation data: {rec.evaluation_accuracy} / {rec.n_evaluation}")
    text = "\n".join(lines) + "\n"
    if bar is not None:
        bar.write(text)
    else:
        print(text, flush=True)


class _Progress:
    """One progress bar for a whole SGD call (every epoch's mini-batches), left on screen at the
    end; its postfix shows the running epoch's mean training loss (with track_loss) and the last
    evaluation accuracy; the monitoring passes run under it ("evaluating"), so its rate and ETA
    include them."""

    def __init__(self, epochs, n_batches):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=epochs * n_batches, unit="batch", leave=True, dynamic_ncols=True)
        self.postfix = {}
        self.desc = ""

    def epoch(self, epoch, last):
        self.desc = f"epoch {epoch}/{last}"
        self.postfix.pop("loss", None)
        self.bar.set_description(self.desc, refresh=False)

    def update(self, n, loss=None):
        if loss is not None:
            self.postfix["loss"] = f"{loss:.4f}"
            self.bar.set_postfix(self.postfix, refresh=False)
        self.bar.update(n)

    def evaluating(self):
        self.bar.set_description(self.desc + " (evaluating)")

    def monitored(self, rec):
        if rec.evaluation_fraction is not None:
            self.postfix["val acc"] = f"{100 * rec.evaluation_fraction:.2f}%"
        self.bar.set_description(self.desc, refresh=False)
        self.bar.set_postfix(self.postfix)

    def write(self, text):
        self.bar.write(text)

    def close(self):
        self.bar.close()
