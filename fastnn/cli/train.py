"""fastnn train: train a network with mini-batch SGD (chapter 3's options)."""

from __future__ import annotations

import json
import os
import sys
import time

from ._arguments import _add_output_group, _bar_over, _progress_options
from ._data import _load_model, _training_set
from ._errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, CLIError
from ._output import _check_output_path, _check_outputs, _note, _os_reason, _pct, _report_stream
from ._parser import _add_options, _flag, _Formatter, _opt
from ._training_options import (
    DEFAULT_LMBDA_PER,
    _add_train_options,
    _resume_changes,
    _run_settings,
    _sgd_options,
)

NAME = "train"
# the command's one-line help (in 'fastnn --help') and description (in 'fastnn train --help')
HELP = "train a network with mini-batch SGD (chapter 3's options)"
DESCRIPTION = (
    "Train a network with mini-batch SGD. Defaults are the book's chapter-3 settings: "
    "cross-entropy, sigmoid output, 30 epochs, mini-batch 10, eta 0.5, and lambda = n / 10,000 "
    "for n training examples (the book's 5.0 for MNIST's 50,000, scaled to the data)."
)


def add_parser(subparsers):
    """Add 'fastnn train' and its options to `subparsers` (argparse's add_subparsers)."""
    t = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION, formatter_class=_Formatter)
    _add_options(
        _add_train_options(t),
        _opt(
            "--eval",
            "data monitored after each epoch (and used by early stopping / eta schedule)",
            dest="eval_on",
            choices=("validation", "test", "none"),
            default="validation",
        ),
        _opt(
            "--no-monitor-training",
            "do not compute training cost/accuracy after each epoch (report the mean "
            "training loss tracked during the epoch instead)",
            dest="monitor_training",
            action="store_false",
        ),
    )
    _add_options(
        _add_output_group(
            t,
            "save the trained model (JSON, network2-compatible)",
            "write the training history as JSON, with the run's settings and the final result",
            "write a PNG of cost and accuracy per epoch (needs matplotlib: pip install 'fastnn[plot]')",
        ),
        _flag(
            "--plot-penalty",
            "with --plot: also draw network2's cost with the regularization term (dashed; its n is "
            "each set's own size, so the validation curve can rise while the accuracy rises)",
        ),
        _opt(
            "--checkpoint",
            "write a checkpoint after every epoch (the model and its training state: "
            "velocity, random generators, epoch, eta schedule, early stopping)",
            metavar="PATH",
        ),
        _flag(
            "--resume",
            "continue from --checkpoint PATH up to --epochs in total (bit for bit the "
            "same as one uninterrupted run); starts afresh if PATH does not exist yet. Refused "
            "when --epochs is not above the checkpoint's epoch or a training option (--eta, "
            "--lmbda, --batch, --seed, --momentum, ...) differs from the checkpoint's run",
        ),
        _flag(
            "--force-resume",
            "with --resume: continue even with other training options than the checkpoint's, "
            "or with --epochs not above its epoch (then nothing is trained; the outputs are written)",
        ),
        *_progress_options(
            "print only the final result line (no notes, progress bar or epoch lines)",
            _bar_over("mini-batches"),
        ),
    )
    return t


def _cost_text(data_cost, total_cost):
    """' cost D' (the mean cost without the regularization term, comparable between training and
    evaluation data) and network2's cost with the term, when it differs: ' cost D (+penalty T)'."""
    if data_cost is None:
        return f" cost {total_cost:.4f}"
    if total_cost == data_cost:
        return f" cost {data_cost:.4f}"
    return f" cost {data_cost:.4f} (with penalty {total_cost:.4f})"


def _data_text(name, data_cost, cost, accuracy, n):
    """'name cost D acc A%': one data set's part of the epoch line, what was monitored of it
    (`cost`/`accuracy` None: not monitored; `n`: its number of examples)."""
    s = name
    if cost is not None:
        s += _cost_text(data_cost, cost)
    if accuracy is not None:
        s += f" acc {_pct(accuracy, n):.2f}%"
    return s


class _EpochPrinter:
    def __init__(self, args, eval_name, progress=False):
        self.args = args
        self.eval_name = eval_name
        self.progress = progress

    def __call__(self, r):
        if self.args.quiet:
            return None
        parts = [f"epoch {r.epoch:>{len(str(self.args.epochs))}}/{self.args.epochs}"]
        if r.training_cost is not None or r.training_accuracy is not None:
            data_cost = getattr(r, "training_data_cost", None)
            parts.append(_data_text("train", data_cost, r.training_cost, r.training_accuracy, r.n_training))
        elif getattr(r, "training_loss", None) is not None:
            parts.append(f"train loss {r.training_loss:.4f}")
        if r.evaluation_cost is not None or r.evaluation_accuracy is not None:
            data_cost = getattr(r, "evaluation_data_cost", None)
            cost, accuracy = r.evaluation_cost, r.evaluation_accuracy
            parts.append(_data_text(self.eval_name, data_cost, cost, accuracy, r.n_evaluation))
        parts.append(f"eta {r.eta:.4g}")
        parts.append(f"{r.seconds * 1000:.1f} ms" if r.seconds < 0.1 else f"{r.seconds:.2f} s")
        if r.examples_per_second:
            parts.append(f"{r.examples_per_second:,.0f} ex/s")
        line = "  ".join(parts)
        out = _report_stream(self.args)
        if self.progress:  # clear the progress bar (stderr), print, let the bar redraw below
            from tqdm import tqdm

            tqdm.write(line, file=out)
            out.flush()
        else:
            print(line, file=out, flush=True)
        return None


def _write_outputs(args, net, eval_name, title=None, run=None, result=None):
    """--save, --json, --plot; each failure reported as an error (exit 1) after trying the others."""
    from fastnn import io as fio

    errors = []
    if args.save:
        try:
            fio.save(net, args.save)
            _note(args, f"saved the model to {args.save}")
        except (OSError, ValueError) as e:
            errors.append(f"cannot save the model to {args.save}: {e}")
    history = getattr(net, "history", None)
    if args.json:
        if history is None:
            errors.append(f"--json {args.json}: no training history to write")
        else:
            try:
                doc = history.to_dict()
                doc["run"], doc["result"] = run, result
                fio.atomic_write_text(args.json, json.dumps(doc) + "\n")
                _note(args, f"wrote the history to {args.json}")
            except (OSError, ValueError, TypeError) as e:
                errors.append(f"cannot write {args.json}: {e}")
    if args.plot:
        if history is None or not history.records:
            _note(args, f"--plot: no completed epoch to plot; {args.plot} not written")
        else:
            from fastnn.plotting import plot_history

            try:
                plot_history(
                    history,
                    args.plot,
                    evaluation_label=eval_name,
                    title=title,
                    with_penalty=getattr(args, "plot_penalty", False),
                )
                _note(args, f"wrote the learning curves to {args.plot}")
            except (OSError, ValueError, ImportError) as e:
                errors.append(f"cannot write the plot {args.plot}: {e}")
    return errors


class _Checkpointer:
    """SGD callback: after each epoch, net.save(PATH, state=True) (atomic), then the next callback.

    A checkpoint that cannot be written (disk full, directory removed, ...) is a warning on
    stderr for that epoch, not the end of the run: training goes on, the next epoch tries again,
    --save/--json/--plot are written at the end and the exit status is 1 (``failures``)."""

    def __init__(self, path, then):
        self.path, self.then, self.net = path, then, None
        self.failures = []  # (epoch, reason) of each checkpoint not written

    def __call__(self, record):
        from fastnn import io as fio

        try:
            fio.save(self.net, self.path, state=True)
        except (OSError, ValueError) as e:
            reason = _os_reason(e, self.path) if isinstance(e, OSError) else str(e)
            self.failures.append((record.epoch, reason))
            print(
                f"{PROG}: warning: --checkpoint {self.path}: cannot write the checkpoint of epoch "
                f"{record.epoch}: {reason}; training goes on",
                file=sys.stderr,
                flush=True,
            )
        return self.then(record)

    def summary(self):
        """One error line for the checkpoints not written, or None."""
        if not self.failures:
            return None
        epochs = [e for e, _ in self.failures]
        if len(epochs) == 1:
            which = f"epoch {epochs[0]}"
        else:
            which = f"{len(epochs)} epochs ({epochs[0]}-{epochs[-1]})"
        reason = self.failures[-1][1]
        return f"--checkpoint {self.path}: the checkpoint of {which} could not be written ({reason})"


def _resume(args, fresh, n_training):
    """(network, epochs done) from --checkpoint for --resume; it must be the network these options
    build, with a training run to continue on the same number of rows."""
    from fastnn import _state

    net = _load_model(args.checkpoint)
    state = _state.run_state(net)
    if state is None:
        raise CLIError(
            f"--resume: {args.checkpoint} holds no training state (written by --save, not --checkpoint?)"
        )
    mine = (list(net.sizes), net.cost.name, net.output, net.hidden, net.dtype.name)
    want = (list(fresh.sizes), fresh.cost.name, fresh.output, fresh.hidden, fresh.dtype.name)
    if mine != want:
        raise CLIError(
            f"--resume: {args.checkpoint} holds a {mine} network, these options build "
            f"{want} (sizes, cost, output, hidden, dtype)",
            EXIT_USAGE,
        )
    if len(state["perm"]) != n_training:
        raise CLIError(
            f"--resume: {args.checkpoint} was trained on {len(state['perm']):,} "
            f"examples, this data has {n_training:,}",
            EXIT_USAGE,
        )
    done = int(state["epoch"])
    if not args.force_resume:
        if args.epochs <= done:
            raise CLIError(
                f"--resume: {args.checkpoint} is after epoch {done} already and --epochs "
                f"{args.epochs} is the total, so there is nothing to train; give --epochs above "
                f"{done}, or --force-resume to write the outputs of the checkpoint as it is",
                EXIT_USAGE,
            )
        changed = _resume_changes(args, net, state)
        if changed:
            raise CLIError(
                f"--resume: {args.checkpoint} was trained with "
                + ", ".join(f"{flag} {old}" for flag, old, _ in changed)
                + "; these options give "
                + ", ".join(f"{flag} {new}" for flag, _, new in changed)
                + ": resume with the checkpoint's options, or pass --force-resume to continue "
                "with the new ones",
                EXIT_USAGE,
            )
    return net, done


def run(args):
    # everything that can be checked before loading data or training
    _check_outputs(args)
    if args.plot:
        from fastnn.plotting import MISSING_MATPLOTLIB, matplotlib_available

        if not matplotlib_available():
            raise CLIError(f"--plot: {MISSING_MATPLOTLIB}")
    if args.eval_on == "none" and (args.early_stopping or args.eta_schedule):
        flag = "--early-stopping" if args.early_stopping else "--eta-schedule"
        raise CLIError(f"{flag} needs evaluation data; it cannot be used with --eval none", EXIT_USAGE)
    if args.resume and not args.checkpoint:
        raise CLIError("--resume needs --checkpoint PATH (the checkpoint to continue)", EXIT_USAGE)
    if args.plot_penalty and not args.plot:
        raise CLIError("--plot-penalty is for --plot PATH", EXIT_USAGE)
    if args.force_resume and not args.resume:
        raise CLIError("--force-resume is for --resume", EXIT_USAGE)
    _check_output_path("--checkpoint", args.checkpoint)
    cost, output, dtype, ds, data_name, data_note, (X, y), sizes = _training_set(args)
    lmbda_note = ""
    if args.lmbda is None:  # the book's lambda/n: 5.0 for 50,000 images, scaled to this data
        args.lmbda = len(y) / DEFAULT_LMBDA_PER
        lmbda_note = f" (default: n / {DEFAULT_LMBDA_PER:,} for n = {len(y):,} training examples)"

    from fastnn.network import Network

    try:
        net = Network(
            sizes,
            cost=cost,
            output=output,
            hidden=args.hidden,
            weight_init=args.weight_init,
            dtype=dtype,
            seed=args.seed,
        )
    except (ValueError, TypeError) as e:
        raise CLIError(str(e), EXIT_USAGE) from None
    done = 0  # epochs already trained (--resume)
    if args.resume and os.path.exists(args.checkpoint):
        net, done = _resume(args, net, len(y))
    net.classes = getattr(args, "file_classes", None)  # the label of each output (--data FILE)
    net.label_column = getattr(args, "file_label_column", None)

    # the run's first line: the network and every setting, the lambda used among them
    _note(
        args,
        f"network {sizes} cost={cost} output={output} hidden={args.hidden} "
        f"init={args.weight_init} dtype={dtype.name}; epochs={args.epochs} batch={args.batch} "
        f"eta={args.eta:g} lambda={args.lmbda:.4g}{lmbda_note}"
        + (f" {args.regularization}" if args.lmbda and args.regularization != "l2" else "")
        + (f" momentum={args.momentum:g}" if args.momentum else "")
        + (f" dropout={args.dropout:g}" if args.dropout else "")
        + (f" early-stopping={args.early_stopping}" if args.early_stopping else "")
        + (f" eta-schedule={args.eta_schedule}" if args.eta_schedule else "")
        + (f" seed={args.seed}" if args.seed is not None else ""),
    )
    _note(args, data_note)
    if done:
        _note(args, f"resuming from {args.checkpoint} after epoch {done} of {args.epochs}")
    if args.train_size is not None:
        _note(args, f"training on the first {args.train_size:,} training examples")
    if args.expand:
        _note(args, f"expanded the training data to {len(y):,} examples (one-pixel shifts)")
    eval_name = args.eval_on
    eval_data = None if args.eval_on == "none" else getattr(ds, args.eval_on)
    if eval_data is not None and len(eval_data[1]) == 0:
        if args.early_stopping or args.eta_schedule or args.eval_on == "test":
            raise CLIError(
                f"--eval {args.eval_on}: the {data_name} data has no {args.eval_on} part"
                + (" (--validation-fraction is 0)" if args.eval_on == "validation" else ""),
                EXIT_USAGE,
            )
        eval_data, eval_name = None, "none"
    monitor_eval = eval_data is not None
    progress = args.progress
    if progress is None:
        progress = sys.stderr.isatty()
    progress = bool(progress) and not args.quiet

    title = (
        f"fastnn {list(sizes)}, {cost}, {output} output, {args.hidden} hidden, "
        f"η={args.eta:g}, λ={args.lmbda:g}, mini-batch {args.batch} — {data_name}"
    )
    interrupted = False
    start = time.perf_counter()
    callback = _EpochPrinter(args, eval_name, progress)
    checkpointer: _Checkpointer | None = None
    if args.checkpoint:
        callback = checkpointer = _Checkpointer(args.checkpoint, callback)
        checkpointer.net = net
    try:
        net.SGD(
            (X, y),
            max(args.epochs - done, 0),
            args.batch,
            args.eta,
            lmbda=args.lmbda,
            evaluation_data=eval_data,
            monitor_evaluation_cost=monitor_eval,
            monitor_evaluation_accuracy=monitor_eval,
            monitor_training_cost=args.monitor_training,
            monitor_training_accuracy=args.monitor_training,
            track_loss=not args.monitor_training or progress,
            progress=progress,
            callback=callback,
            resume=bool(done),
            **_sgd_options(args),
        )
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as e:  # SGD validates its arguments before training (flags out of range)
        raise CLIError(str(e).splitlines()[0] if str(e) else type(e).__name__, EXIT_USAGE) from None
    except ArithmeticError as e:  # FloatingPointError: training diverged
        raise CLIError(f"training failed: {e}") from None
    elapsed = time.perf_counter() - start

    history = getattr(net, "history", None)
    n_done = len(history.records) if history is not None else 0
    if interrupted:
        print(
            f"{PROG}: interrupted after {n_done} complete epoch(s) of {args.epochs}"
            + ("; saving the model" if args.save else ""),
            file=sys.stderr,
            flush=True,
        )
        errors = _write_outputs(args, net, eval_name, title, _run_settings(args, net, data_name))
        if checkpointer is not None and checkpointer.summary():
            errors.append(checkpointer.summary())
        for msg in errors:
            print(f"{PROG}: error: {msg}", file=sys.stderr)
        return EXIT_INTERRUPTED

    reason = getattr(history, "stop_reason", "completed") if history is not None else "completed"
    if reason != "completed":
        best = getattr(history, "best_epoch", None)
        extra = ""
        if best is not None and args.restore_best and (args.early_stopping or args.eta_schedule):
            extra = f"; kept the parameters of epoch {best} (best {eval_name} accuracy)"
        _note(args, f"stopped after epoch {n_done}: {reason}{extra}")

    final = next(part for part in ("test", "validation", "training") if len(getattr(ds, part)[1]))
    Xt, yt = getattr(ds, final)
    test_cost = float(net.total_cost(Xt, yt))
    try:
        acc = int(net.accuracy(Xt, yt))
    except ValueError as e:  # non-finite outputs: reported, and the trained outputs still written
        acc, accuracy_error = None, f"{final}: {e}"
    else:
        accuracy_error = None
        print(
            f"{final}: accuracy {_pct(acc, len(yt)):.2f} % ({acc:,}/{len(yt):,}), cost {test_cost:.4f}  "
            f"[{data_name}, {n_done} epoch(s), {elapsed:.1f} s]",
            file=_report_stream(args),
            flush=True,
        )

    result = dict(
        split=final,
        accuracy=acc,
        n=len(yt),
        fraction=acc / len(yt) if len(yt) and acc is not None else None,
        cost=test_cost,
        epochs=n_done,
        seconds=elapsed,
        stop_reason=getattr(history, "stop_reason", None),
    )
    errors = _write_outputs(args, net, eval_name, title, _run_settings(args, net, data_name), result)
    if accuracy_error:
        errors.insert(0, accuracy_error)
    if checkpointer is not None and checkpointer.summary():
        errors.append(checkpointer.summary())
    if errors:
        raise CLIError(errors[0] if len(errors) == 1 else "; ".join(errors))
    return EXIT_OK
