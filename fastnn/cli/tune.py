"""fastnn tune: search the hyper-parameters with Optuna."""

from __future__ import annotations

import os
import sys

from ._argument_types import _nonneg_float, _nonneg_int, _pos_float, _pos_int, _space_item
from ._arguments import _add_output_group, _bar_over, _progress_options
from ._data import _training_set
from ._errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, CLIError
from ._output import _check_output_path, _note, _pct
from ._parser import _add_options, _flag, _Formatter, _opt
from ._training_options import _add_tune_train_options, _given_options

# 'tune' with a database: fastnn.tune's DEFAULT_HEARTBEAT, DEFAULT_RETRIES and DEFAULT_RECONNECT (not
# imported from there: the parser is built without the compiled core; a test keeps them equal)
DEFAULT_HEARTBEAT, DEFAULT_RETRIES, DEFAULT_RECONNECT = 30, 2, 60

NAME = "tune"
# the command's one-line help (in 'fastnn --help') and description (in 'fastnn tune --help')
HELP = "search eta, lambda, mini-batch size, width, momentum with Optuna"
DESCRIPTION = (
    "Search the hyper-parameters with Optuna (pip install 'fastnn[tune]'): each trial "
    "trains on the training split with early stopping and is scored on the validation "
    "split; bad trials are pruned after an epoch. Options of 'train' that are given "
    "stay fixed; eta, lambda, the mini-batch size, momentum and (without --sizes) the "
    "hidden width are searched unless given. Several processes with the same --storage "
    "and --study cooperate on one study."
)


def add_parser(subparsers):
    """Add 'fastnn tune' and its options to `subparsers` (argparse's add_subparsers)."""
    tp = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION, formatter_class=_Formatter)
    _add_tune_train_options(tp)
    _add_options(
        tp.add_argument_group("search"),
        _opt(
            "--trials",
            "number of trials run by this process (default: 20, or as many as --timeout allows; "
            "0: only report the study of --storage/--study, with --json/--save/--plot)",
            type=_nonneg_int,
            metavar="N",
        ),
        _opt(
            "--jobs",
            "trials run at the same time, in threads sharing the data (one core each)",
            type=_pos_int,
            default=1,
            metavar="J",
        ),
        _opt("--timeout", "stop starting trials after S seconds", type=_pos_float, metavar="S"),
        _opt(
            "--storage",
            "Optuna storage shared by cooperating processes: sqlite:///study.db, "
            "journal:FILE, postgresql://user:pw@host/db ... (default: in memory)",
            metavar="URL",
        ),
        _opt("--study", "study name in --storage (an existing study is continued)", metavar="NAME"),
        _opt(
            "--dask",
            "run the trials on the Dask cluster of this scheduler (tcp://host:8786), one per worker "
            "thread; without --storage the study lives in the scheduler's memory",
            metavar="ADDRESS",
        ),
        _opt(
            "--space",
            "search NAME over LOW:HIGH, LOW:HIGH:log or a list a,b,c (repeatable), e.g. "
            "--space eta=0.05:5:log --space hidden=sigmoid,tanh",
            metavar="NAME=RANGE",
            action="append",
            type=_space_item,
        ),
        _opt(
            "--no-prune",
            "let every trial run to its end (no median pruning)",
            dest="prune",
            action="store_false",
        ),
        _flag(
            "--eta-from-threshold",
            "search eta in [t/100, t], t = the book's eta threshold",
        ),
        _flag(
            "--eta-threshold",
            "only estimate and print the book's eta threshold (no search)",
        ),
    )
    _add_options(
        tp.add_argument_group(
            "workers that fail (a database --storage)",
            "A running trial records a heartbeat; one silent for the grace period (its worker "
            "died) is failed by the next worker that starts a trial and queued again with the same "
            "parameters and seed. A lost database connection is retried before the worker stops.",
        ),
        _opt(
            "--heartbeat",
            f"seconds between the heartbeats of a running trial (default: {DEFAULT_HEARTBEAT}; 0: none)",
            type=_nonneg_int,
            default=DEFAULT_HEARTBEAT,
            metavar="S",
        ),
        _opt(
            "--grace",
            "seconds without heartbeat after which a running trial counts as dead "
            "(default: twice --heartbeat)",
            type=_pos_int,
            metavar="S",
        ),
        _opt(
            "--retries",
            f"times a dead trial is queued again (default: {DEFAULT_RETRIES}; 0: never)",
            type=_nonneg_int,
            default=DEFAULT_RETRIES,
            metavar="N",
        ),
        _opt(
            "--reconnect",
            f"seconds to keep retrying a lost database connection before stopping "
            f"(default: {DEFAULT_RECONNECT})",
            type=_nonneg_float,
            default=DEFAULT_RECONNECT,
            metavar="S",
        ),
    )
    _add_options(
        _add_output_group(
            tp,
            "save the best trial's network (retrained from its seed if it ran elsewhere)",
            "write every trial (params, value, state, per-epoch values)",
            "write Optuna's history, importance and slice plots as PNGs",
            plot_metavar="DIR",
        ),
        _opt("--top", "best trials in the final table", type=_pos_int, default=5, metavar="K"),
        _flag("-v --verbose", "also print a line per epoch of every trial (its validation value)"),
        *_progress_options("print only the final table", _bar_over("trials")),
    )
    return tp


def _fmt_value(value, metric):
    if value is None:
        return "-"
    return f"{100 * value:.2f} %" if metric == "accuracy" else f"{value:.4f}"


def _fmt_param(v, digits=4):
    return f"{v:.{digits}g}" if isinstance(v, float) else str(v)


def _fmt_params(params):
    return " ".join(f"{k}={_fmt_param(v, 3)}" for k, v in params.items())


class _TrialPrinter:
    """Optuna study callback: one line per finished trial (any thread), the bar over trials."""

    def __init__(self, args, metric, total):
        import threading

        self.args, self.metric = args, metric
        self.lock = threading.Lock()
        progress = args.progress if args.progress is not None else sys.stderr.isatty()
        self.bar = None
        if progress and not args.quiet:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="trial", file=sys.stderr, dynamic_ncols=True)

    def __call__(self, study, t):
        attrs = t.user_attrs
        line = (
            f"trial {t.number:>3}  {t.state.name:<8}  {_fmt_value(t.value, self.metric):>8}  "
            f"{_fmt_params(t.params)}  {attrs.get('epochs', 0)} epoch(s)  "
            f"{t.duration.total_seconds() if t.duration else 0:.2f} s"
        )
        if attrs.get("fail_reason"):
            line += f"  ({attrs['fail_reason']})"
        if t.system_attrs.get("failed_trial") is not None:
            line += f"  (retry of trial {t.system_attrs['failed_trial']}, whose worker died)"
        with self.lock:
            if self.bar is not None:
                self.bar.update(1)
            if self.args.quiet:
                return
            self._print(line)

    def epoch(self, number, record, value):
        """Search's epoch_callback (any thread): the bar's postfix on a terminal; with -v a line."""
        with self.lock:
            if self.bar is not None:
                self.bar.set_postfix_str(
                    f"trial {number} epoch {record.epoch} {_fmt_value(value, self.metric)}", refresh=True
                )
            if not self.args.verbose or self.args.quiet:
                return
            line = (
                f"  trial {number:>3}  epoch {record.epoch:>3}  {_fmt_value(value, self.metric):>8}  "
                f"eta {record.eta:.4g}  {record.seconds:.2f} s"
            )
            self._print(line)

    def _print(self, line):
        """One line on stdout, above the progress bar when there is one (called holding the lock)."""
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
            sys.stdout.flush()
        else:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _trial_record(t):
    a = t.user_attrs
    return {
        "number": t.number,
        "state": t.state.name,
        "value": t.value,
        "params": t.params,
        "seed": a.get("fastnn", {}).get("seed"),
        "epochs": a.get("epochs"),
        "stop_reason": a.get("stop_reason"),
        "fail_reason": a.get("fail_reason"),
        "values": [t.intermediate_values[k] for k in sorted(t.intermediate_values)],
        "seconds": t.duration.total_seconds() if t.duration else None,
        "started": t.datetime_start.isoformat() if t.datetime_start else None,
        "retry_of": t.system_attrs.get("failed_trial"),
        "worker": a.get("worker"),
    }


def _best_table(study, metric, top):
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    states = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
    counts = {s: sum(t.state.name == s for t in study.trials) for s in states}
    # trials failed by the heartbeat (their worker died) and queued again with the same parameters
    retried = {n for t in study.trials for n in t.system_attrs.get("retry_history", ())}
    head = (
        f"study {study.study_name!r}: {len(study.trials)} trial(s), {counts['COMPLETE']} complete, "
        f"{counts['PRUNED']} pruned, {counts['FAIL']} failed"
        + (f" ({len(retried)} lost with their worker and retried)" if retried else "")
        + "".join(f", {counts[s]} {s.lower()}" for s in ("RUNNING", "WAITING") if counts[s])
    )
    if not done:
        return head
    done.sort(key=lambda t: t.value, reverse=study.direction == optuna.study.StudyDirection.MAXIMIZE)
    names = list(done[0].params)
    rows = [["trial", f"validation {metric}", *names, "epochs", "seconds"]]
    for t in done[:top]:
        rows.append(
            [str(t.number), _fmt_value(t.value, metric)]
            + [_fmt_param(t.params.get(k)) for k in names]
            + [str(t.user_attrs.get("epochs", "")), f"{t.duration.total_seconds():.2f}"]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    return head + f"; best {min(top, len(done))}:\n" + "\n".join(lines)


def _tune_outputs(args, search, training, ds, metric):
    """--json, --save, --plot; the errors, each one line."""
    import json

    from fastnn import io as fio
    from fastnn import tune as ft

    study, errors = search.study, []
    # one snapshot of the best trial for --json and --save: other workers may finish a better trial
    # in between, and the saved network must be the one the JSON names
    best_trial = study.best_trial if _has_complete(study) else None
    if args.json:
        best = [best_trial.number] if best_trial is not None else []
        doc = {
            "study": study.study_name,
            "storage": _safe_url(args.storage),
            "direction": study.direction.name.lower(),
            "metric": metric,
            "best_trial": best[0] if best else None,
            "trials": [_trial_record(t) for t in study.trials],
        }
        try:
            fio.atomic_write_text(args.json, json.dumps(doc, indent=1) + "\n")
            _note(args, f"wrote {len(study.trials)} trial(s) to {args.json}")
        except (OSError, ValueError, TypeError) as e:
            errors.append(f"cannot write {args.json}: {e}")
    if args.save and best_trial is not None:
        best = best_trial
        if search.best_network is not None and search.best_network[0] == best.number:
            net = search.best_network[2]
        else:
            _note(
                args,
                f"retraining trial {best.number} from its parameters and seed (it ran in another process)",
            )
            net = ft.retrain(best, training, ds.validation)
        Xt, yt = ds.test
        acc = int(net.accuracy(Xt, yt))
        print(
            f"best trial {best.number}: test accuracy {_pct(acc, len(yt)):.2f} % ({acc:,}/{len(yt):,})",
            flush=True,
        )
        try:
            net.classes = getattr(args, "file_classes", None)  # --data FILE: the labels' mapping
            net.label_column = getattr(args, "file_label_column", None)
            fio.save(net, args.save)
            _note(args, f"saved the best trial's network to {args.save}")
        except (OSError, ValueError) as e:
            errors.append(f"cannot save the model to {args.save}: {e}")
    if args.plot:
        try:
            os.makedirs(args.plot, exist_ok=True)
            written, skipped = ft.plot_study(study, args.plot, metric=metric)
            for name, path in written.items():
                _note(args, f"wrote the {name} plot to {path}")
            for name, why in skipped.items():
                _note(args, f"no {name} plot: {why}")
        except (OSError, ValueError, ImportError) as e:
            errors.append(f"cannot write the plots to {args.plot}: {e}")
    return errors


def _safe_url(url):
    """A storage URL without its password (it goes to the terminal and the JSON)."""
    from fastnn.tune import safe_url

    return None if url is None else safe_url(url)


def _has_complete(study):
    return any(t.state.name == "COMPLETE" for t in study.trials)


def run(args):
    try:
        import optuna
    except ImportError:
        from fastnn.tune import MISSING_OPTUNA

        raise CLIError(MISSING_OPTUNA) from None
    from fastnn import tune as ft

    for flag, path in (("--save", args.save), ("--json", args.json)):
        _check_output_path(flag, path)
    if args.plot:
        if os.path.exists(args.plot) and not os.path.isdir(args.plot):
            raise CLIError(f"--plot {args.plot}: exists and is not a directory")
        from fastnn.plotting import MISSING_MATPLOTLIB, matplotlib_available

        if not matplotlib_available():
            raise CLIError(f"--plot: {MISSING_MATPLOTLIB}")
        import matplotlib

        matplotlib.use("Agg")
    _, _, dtype, ds, data_name, data_note, training, sizes = _training_set(args)
    fixed = _given_options(args)
    _note(args, data_note)
    if args.eta_threshold:
        net_args = {k: fixed[k] for k in ft.NETWORK_ARGS if k in fixed}
        try:
            thr = ft.eta_threshold(
                training,
                sizes,
                mini_batch_size=args.batch or 10,
                lmbda=args.lmbda or 0.0,
                seed=args.seed or 0,
                dtype=dtype,
                **net_args,
            )
        except (ValueError, TypeError) as e:
            raise CLIError(str(e).splitlines()[0]) from None
        print(
            f"eta threshold: {thr:.4g}  (the largest eta for which the {data_name} training cost of "
            f"{list(sizes)} falls in each of the first 3 epochs; the book then trains at about half "
            f"of it, {thr / 2:.3g})",
            flush=True,
        )
        return EXIT_OK

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # one line per trial is printed here
    n_trials = args.trials if args.trials is not None else (None if args.timeout else 20)
    if n_trials == 0 and not (args.storage and args.study):
        raise CLIError("--trials 0 reports a stored study: give its --storage and --study", EXIT_USAGE)
    if args.grace is not None and not args.heartbeat:
        raise CLIError("--grace: needs a heartbeat (--heartbeat 0 turns it off)", EXIT_USAGE)
    if args.dask and args.jobs != 1:
        raise CLIError(
            f"--jobs {args.jobs}: not used with --dask (each Dask worker thread runs one trial at a time)",
            EXIT_USAGE,
        )
    client = _dask_client(args.dask) if args.dask else None
    try:
        return _run_tune(args, ft, training, ds, sizes, dtype, fixed, n_trials, client)
    finally:
        if client is not None:
            client.close()


def _dask_client(address):
    """A dask.distributed Client of the scheduler at `address`, or a one-line CLIError."""
    try:
        from distributed import Client
    except ImportError:
        raise CLIError("--dask: needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        return Client(address)  # connect timeout: dask's distributed.comm.timeouts.connect (30 s)
    except (OSError, ValueError, TypeError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CLIError(f"--dask {address}: cannot reach the scheduler: {msg}") from None


def _run_tune(args, ft, training, ds, sizes, dtype, fixed, n_trials, client):
    printer = _TrialPrinter(args, None, n_trials)
    try:
        search = ft.Search(
            training,
            ds.validation,
            sizes=sizes if args.sizes else None,
            n_trials=1 if n_trials == 0 else n_trials,  # --trials 0: set up (and checked), not run
            n_jobs=args.jobs,
            timeout=args.timeout,
            storage=args.storage,
            study_name=args.study,
            space=dict(args.space or ()),
            epochs=args.epochs,
            seed=args.seed,
            dtype=dtype,
            pruner="median" if args.prune else "none",
            eta_from_threshold=args.eta_from_threshold,
            callbacks=[printer],
            epoch_callback=printer.epoch,
            heartbeat=args.heartbeat,
            grace_period=args.grace,
            retries=args.retries,
            reconnect=args.reconnect,
            dask_client=client,
            **fixed,
        )
    except (ValueError, TypeError, ImportError) as e:
        printer.close()
        raise CLIError(str(e).splitlines()[0], EXIT_USAGE) from None
    metric = printer.metric = search.settings.metric
    if search.eta_threshold is not None:
        _note(
            args,
            f"eta threshold {search.eta_threshold:.4g}: eta searched in "
            f"[{search.space['eta'].low:.3g}, {search.space['eta'].high:.3g}]",
        )
    _note(
        args,
        f"study {search.study.study_name!r} "
        f"({_safe_url(args.storage) or ('in the Dask scheduler' if args.dask else 'in memory')}): "
        + (
            "reporting only, "
            if n_trials == 0
            else (f"{n_trials} trial(s), " if n_trials else "trials until the timeout, ")
        )
        + (f"on the Dask cluster at {args.dask}, " if args.dask else f"{args.jobs} job(s), ")
        + f"seed {search.seed}; searching {', '.join(search.space)}; fixed "
        + ", ".join(f"{k}={v}" for k, v in sorted(search.settings.fixed.items())),
    )
    try:
        if n_trials != 0:
            search.run()
    except ft.StorageLost as e:
        raise CLIError(str(e)) from None
    finally:
        printer.close()
    if search.interrupted:
        print(f"{PROG}: interrupted: finished trials kept, running ones stopped", file=sys.stderr, flush=True)
    print(_best_table(search.study, metric, args.top), flush=True)
    errors = _tune_outputs(args, search, training, ds, metric)
    for msg in errors[:-1]:
        print(f"{PROG}: error: {msg}", file=sys.stderr)
    if search.interrupted:
        if errors:
            print(f"{PROG}: error: {errors[-1]}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if errors:
        raise CLIError(errors[-1])
    if not _has_complete(search.study):
        raise CLIError("no trial completed (see the failed trials above)")
    return EXIT_OK
