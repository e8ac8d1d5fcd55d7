"""The ``fastnn`` command line (also ``python -m fastnn``).

    fastnn train [--sizes 784,30,10] [--cost cross-entropy] [--epochs 30] [--batch 10] [--eta 0.5]
                 [--lmbda 5.0] [--data mnist|digits] [--data-dir DIR] ... [--save model.json]
    fastnn evaluate model.json [--data mnist|digits] [--split test]
    fastnn predict model.json [--input X.npy | --data ... --split test] [--limit N]
    fastnn export model.json model.onnx [--opset N]      (needs onnx: pip install "fastnn[onnx]")
    fastnn tune [--data ...] [--trials N] [--jobs J] [--storage URL --study NAME] [train's options]
    fastnn reproduce [--quick] [--figures DIR] [--markdown FILE] [--json FILE] [--seeds N] [--data-dir D]
    fastnn                      a short demo: ``train --epochs 3`` (30 on the digits) with the defaults

User mistakes (bad flags, missing data, a corrupt model file, ...) print one line
``fastnn: error: ...`` on stderr and exit with status 2 (command-line usage) or 1 (anything else);
Ctrl-C during training saves the model if ``--save`` was given and exits with status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time

from ._vocabulary import (
    COSTS,
    DTYPES,
    HIDDEN,
    HYPER,
    OUTPUTS,
    REGULARIZATIONS,
    WEIGHT_INITS,
    Interval,
    check_hyper,
    check_pairing,
    cost_name,
    problem,
)

PROG = "fastnn"
DEMO_EPOCHS = 3  # on MNIST (about a second); the 8x8 digits get DEMO_EPOCHS_DIGITS and a
DEMO_EPOCHS_DIGITS = 30  # lambda for their 1,197 images (the book's 5.0 is for 50,000): 97-99 %
DEMO_LMBDA_DIGITS = 0.5
# 'tune' with a database: fastnn.tune's DEFAULT_HEARTBEAT, DEFAULT_RETRIES and DEFAULT_RECONNECT (not
# imported from there: the parser is built without the compiled core; a test keeps them equal)
DEFAULT_HEARTBEAT, DEFAULT_RETRIES, DEFAULT_RECONNECT = 30, 2, 60
DEFAULT_LMBDA_PER = 10_000  # train's default lambda = n / 10,000: the book's 5.0 for 50,000 images

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CLIError(Exception):
    """A user mistake or an unusable input: reported as one line, no traceback."""

    def __init__(self, message, code=EXIT_FAILURE):
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line (``fastnn: error: ...``) instead of usage + exit."""

    command: str | None = None  # the sub-command named on the command line (set by main)

    def error(self, message):
        prog, options = self.prog, list(self._option_string_actions)
        sub = self._subparser(self.command)
        if sub is not None:  # argparse reports a sub-command's unknown options up here
            prog, options = sub.prog, list(sub._option_string_actions)
        raise CLIError(f"{message}{_did_you_mean(message, options)} (see '{prog} --help')", EXIT_USAGE)

    def _subparser(self, name):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and name in action.choices:
                return action.choices[name]
        return None


def _did_you_mean(message, options):
    """'; did you mean --epochs?' for an unknown option or choice close to a known one."""
    import difflib
    import re

    m = re.match(r"unrecognized arguments: (.*)", message)
    if m:
        hints = []
        for word in m.group(1).split():
            if word.startswith("-"):
                close = difflib.get_close_matches(word.split("=")[0], options, n=1, cutoff=0.6)
                if close:
                    hints.append((close[0], word.split("=")[0]))
        if len(hints) == 1:
            return f"; did you mean {hints[0][0]}?"
        return ("; did you mean " + ", ".join(f"{c} for {w}" for c, w in hints) + "?") if hints else ""
    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if m:
        choices = re.findall(r"'([^']*)'", m.group(2)) or [c.strip() for c in m.group(2).split(",")]
        close = difflib.get_close_matches(m.group(1).lower(), choices, n=1, cutoff=0.6)
        return f"; did you mean {close[0]}?" if close else ""
    return ""


def _case_insensitive(parser):
    """Every choice option of every (sub-)parser accepts any case (--hidden ReLU)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _case_insensitive(sub)
        elif action.choices and action.type is None and all(isinstance(c, str) for c in action.choices):
            canonical = {c.lower(): c for c in action.choices}
            action.type = lambda text, canonical=canonical: canonical.get(text.lower(), text)
    return parser


# --------------------------------------------------------------------------------------------------
# argument types
# --------------------------------------------------------------------------------------------------
def _sizes(text):
    # "784,30,10", "784, 30, 10" or "784 30 10"; an empty field ("64,,10", "64,10,") is an error
    parts = [p.strip() for p in text.split(",")] if "," in text else text.split()
    if "" in parts:
        raise argparse.ArgumentTypeError(
            f"empty layer size in {text!r} (two commas in a row, or one at an end?); "
            f"expected comma-separated positive integers such as 784,30,10"
        )
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = None
    if not sizes or len(sizes) < 2 or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"expected at least two comma-separated positive integers such as 784,30,10, got {text!r}"
        )
    return sizes


def _cost(text):
    try:
        return cost_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(problem(exc)) from None


def _number(interval):
    """An argparse type: the text as a number in `interval` (an Interval, or a key of HYPER)."""
    name = interval if isinstance(interval, str) else "value"
    interval = HYPER[interval] if isinstance(interval, str) else interval

    def parse(text):
        try:
            value = (int if interval.integer else float)(text)
        except ValueError:
            what = "an integer" if interval.integer else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        try:
            return check_hyper(name, value, interval)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(problem(exc)) from None

    parse.__name__ = "int" if interval.integer else "float"
    return parse


def _space_item(text):
    """NAME=LOW:HIGH[:log] or NAME=a,b,c -> (name, (low, high[, "log"]) or [choices])."""
    name, sep, spec = text.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=LOW:HIGH[:log] or NAME=a,b,c, got {text!r}")

    def value(v):
        for kind in (int, float):
            try:
                return kind(v)
            except ValueError:
                pass
        return v

    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise argparse.ArgumentTypeError(f"expected NAME=LOW:HIGH or NAME=LOW:HIGH:log, got {text!r}")
        low, high = value(parts[0]), value(parts[1])
        if isinstance(low, str) or isinstance(high, str):
            raise argparse.ArgumentTypeError(f"expected numbers in {text!r}")
        return name.strip(), (low, high, *parts[2:])
    return name.strip(), [value(v.strip()) for v in spec.split(",") if v.strip()]


# generic argument types for flags not in HYPER (kept under their old names for other commands)
_pos_int = _number(Interval(1, integer=True))
_nonneg_int = _number(Interval(0, integer=True))
_pos_float = _number(Interval(0.0, low_open=True))
_nonneg_float = _number(Interval(0.0))
_unit_float = _number(Interval(0.0, 1.0, high_open=True))
_ratio = _number(Interval(0.0, 1.0, low_open=True, high_open=True))


# --------------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------------
class _Formatter(argparse.HelpFormatter):
    """Shows '(default: X)' for options with a real default value, and not for flags."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" in text
            or action.default in (None, False, True, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return text + " (default: %(default)s)"


def _data_arg(text):
    """--data: 'mnist' or 'digits' (any case), or the path of a .npz/CSV file of one's own."""
    if text.lower() in ("mnist", "digits"):
        return text.lower()
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(
            f"expected mnist, digits or an existing .npz/CSV file, got {text!r} (no such file)"
        )
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is a directory; for MNIST files in a directory use --data-dir"
        )
    return text


def _is_file_data(choice):
    return choice is not None and choice not in ("mnist", "digits")


def _opt(flags, help=None, **keywords):
    """One row of an option table: the flags ("--name" or "--name --alias"), the help, and the
    rest of argparse's add_argument keywords."""
    return flags.split(), help, keywords


def _flag(flags, help):
    """An option table row for an on/off flag (store_true)."""
    return _opt(flags, help, action="store_true")


def _add_options(group, *rows):
    """Add the rows of an option table (see _opt) to a parser or an argument group."""
    for flags, help, keywords in rows:
        group.add_argument(*flags, help=help, **keywords)
    return group


_DATA_DIR_HELP = "directory holding the four MNIST IDX files"
_MODEL_HELP = "model file written by 'fastnn train --save', Network.save or network2"
_SPLIT = _opt("--split", choices=("test", "validation", "training"), default="test")
_QUIET = "-q --quiet"


def _add_data_args(p, *, auto_help):
    return _add_options(
        p.add_argument_group("data"),
        _opt(
            "--data",
            auto_help + "; FILE: your own data, .npz with arrays X and y, or CSV with the label in a "
            "column named label/y/target/class (or --label-column), else the last one",
            type=_data_arg,
            metavar="{mnist,digits,FILE}",
        ),
        _opt("--label-column", "with --data FILE.csv: the column holding the labels", metavar="NAME|INDEX"),
        _opt(
            "--data-dir",
            _DATA_DIR_HELP + " (gzipped or not), or its parent with mnist/; implies --data mnist. "
            "Default: $FASTNN_DATA, then ~/.fastnn/mnist",
            metavar="DIR",
        ),
    )


def _add_train_options(p):
    """The options of 'train' that 'tune' shares: data, network and training groups; returns the
    data group."""
    data = _add_data_args(p, auto_help="data set (default: MNIST when found, else scikit-learn's 8x8 digits)")
    _add_options(
        data,
        _opt(
            "--train-size",
            "use only the first N training examples (e.g. 1000 for the book's overfitting runs)",
            type=_pos_int,
            metavar="N",
        ),
        _opt(
            "--validation-fraction",
            "with --data FILE: the fraction of the rows held out for validation "
            "(shuffled, stratified by label; 0: none)",
            type=_unit_float,
            default=0.1,
            metavar="F",
        ),
        _flag(
            "--expand",
            "add one-pixel shifts of every training image (5x the data, fastnn.data.expand)",
        ),
    )
    _add_options(
        p.add_argument_group("network"),
        _opt(
            "--sizes",
            "layer sizes (default: [n_inputs, 30, n_classes] of the data)",
            type=_sizes,
            metavar="N,N,...",
        ),
        _opt(
            "--cost",
            "cost function",
            type=_cost,
            default="cross-entropy",
            metavar="{" + ",".join(COSTS) + "}",
        ),
        _opt(
            "--output",
            "output activation (default: softmax for log-likelihood, sigmoid otherwise)",
            choices=OUTPUTS,
        ),
        _opt("--hidden", "hidden activation", choices=HIDDEN, default="sigmoid"),
        _opt(
            "--init --weight-init",
            "weight initialization: default N(0, 1/n_in), large N(0, 1)",
            dest="weight_init",
            choices=WEIGHT_INITS,
            default="default",
        ),
        _opt("--dtype", "floating type", choices=DTYPES, default="float64"),
        _opt(
            "--seed",
            "random seed of initialization, shuffling and dropout (default: fresh entropy)",
            type=_nonneg_int,
            metavar="N",
        ),
    )
    _add_options(
        p.add_argument_group("training"),
        _opt("--epochs", "number of epochs", type=_pos_int, default=30),
        _opt(
            "--batch --mini-batch-size",
            "mini-batch size",
            dest="batch",
            type=_number("mini_batch_size"),
            default=10,
        ),
        _opt("--eta", "learning rate", type=_number("eta"), default=0.5),
        _opt(
            "--lmbda --lambda",
            "regularization parameter lambda, divided by the training-set size n as in the book "
            "(default: n / 10,000 = the book's lambda/n: 5.0 on MNIST's 50,000 images)",
            dest="lmbda",
            type=_number("lmbda"),
        ),
        _opt("--regularization", "regularization kind", choices=REGULARIZATIONS, default="l2"),
        _opt("--momentum", "momentum coefficient mu in [0, 1)", type=_number("momentum"), default=0.0),
        _opt(
            "--dropout",
            "dropout probability for hidden units, in [0, 1)",
            type=_number("dropout"),
            default=0.0,
        ),
        _opt(
            "--early-stopping",
            "stop after N epochs without a better evaluation accuracy",
            type=_number("early_stopping"),
            metavar="N",
        ),
        _opt(
            "--eta-schedule",
            "multiply eta by --eta-decay after N epochs without improvement; stop when "
            "eta falls below eta * --min-eta-ratio",
            type=_number("eta_schedule"),
            metavar="N",
        ),
        _opt("--eta-decay", "eta schedule factor", type=_number("eta_decay"), default=0.5),
        _opt(
            "--min-eta-ratio",
            "eta schedule floor, as a fraction of the initial eta (default: 1/128)",
            type=_number("min_eta_ratio"),
            default=1 / 128,
        ),
        _opt(
            "--no-restore-best",
            "with early stopping / eta schedule, keep the last parameters instead of the "
            "best on the evaluation data",
            dest="restore_best",
            action="store_false",
        ),
        _opt(
            "--no-shuffle",
            "do not shuffle the training data each epoch",
            dest="shuffle",
            action="store_false",
        ),
        _opt(
            "--threads",
            "threads that run this one training (default: 1): a team inside the compiled "
            "loop, results bit-identical for any N; BLAS layers and evaluation keep one thread",
            type=_number("n_threads"),
            metavar="N",
        ),
    )
    return data


def _add_output_group(p, save_help, json_help, plot_help, plot_metavar="PATH"):
    """The files a command writes: --save, --json and --plot (checked together by _check_outputs)."""
    return _add_options(
        p.add_argument_group("output"),
        _opt("--save", save_help, metavar="PATH"),
        _opt("--json", json_help, metavar="PATH"),
        _opt("--plot", plot_help, metavar=plot_metavar),
    )


def _progress_options(quiet_help, progress_help):
    """-q/--quiet and --progress/--no-progress (the default: a bar when stderr is a terminal)."""
    return (
        _flag(_QUIET, quiet_help),
        _opt("--progress", progress_help, dest="progress", action="store_true", default=None),
        _opt("--no-progress", "never show the progress bar", dest="progress", action="store_false"),
    )


def _bar_over(unit):
    return f"show the progress bar over {unit} (default: when stderr is a terminal)"


# Each command's one-line help (in 'fastnn --help') and description (in 'fastnn COMMAND --help').
_COMMAND_TEXTS = {
    "train": (
        "train a network with mini-batch SGD (chapter 3's options)",
        "Train a network with mini-batch SGD. Defaults are the book's chapter-3 settings: "
        "cross-entropy, sigmoid output, 30 epochs, mini-batch 10, eta 0.5, and lambda = n / 10,000 "
        "for n training examples (the book's 5.0 for MNIST's 50,000, scaled to the data).",
    ),
    "tune": (
        "search eta, lambda, mini-batch size, width, momentum with Optuna",
        "Search the hyper-parameters with Optuna (pip install 'fastnn[tune]'): each trial "
        "trains on the training split with early stopping and is scored on the validation "
        "split; bad trials are pruned after an epoch. Options of 'train' that are given "
        "stay fixed; eta, lambda, the mini-batch size, momentum and (without --sizes) the "
        "hidden width are searched unless given. Several processes with the same --storage "
        "and --study cooperate on one study.",
    ),
    "evaluate": (
        "print accuracy and cost of a saved model",
        "Print the accuracy and cost (unregularized) of a saved model on a split of the data.",
    ),
    "predict": (
        "print the predicted label of each example",
        "Print one predicted label per line, for the rows of --input "
        "(.npy, or .csv/.txt with comma/space separated values) or of a "
        "split of the data.",
    ),
    "export": (
        "write a saved model as ONNX (for ONNX Runtime and others)",
        "Write a saved model as an ONNX file: input X (N, n_inputs), outputs "
        "probabilities (softmax output layer), activations (sigmoid: each in (0, 1), rows do not "
        "sum to 1) or output (linear), and label (the predicted output index, as 'fastnn "
        "predict'; a model's classes are in the metadata). Needs the onnx package: "
        'pip install "fastnn[onnx]".',
    ),
    "download": (
        "download MNIST (four IDX files, verified by SHA-256)",
        "Download the four MNIST IDX files from public mirrors ({mirrors}), verify their SHA-256 "
        "against the checksums shipped with fastnn and install them atomically. "
        "Files already there and intact are kept; interrupted downloads resume.",
    ),
    "reproduce": (
        "reproduce chapter 3's MNIST results table and figures",
        "Run the experiments of chapter 3 of 'Neural Networks and Deep "
        "Learning' with the book's settings and print the results table next "
        "to the book's figures; --figures DIR also redraws the chapter's "
        "figures from fastnn runs (PNG + the JSON of their series). Full "
        "settings take minutes; without MNIST only the figures that need no "
        "data are made.",
    ),
}


def build_parser() -> _Parser:
    from ._version import __version__
    from .download import MNIST_MIRRORS

    parser = _Parser(
        prog=PROG,
        description="Train and use the fully connected networks of chapter 3 of Nielsen's "
        "'Neural Networks and Deep Learning', fast.",
        epilog=f"Without a command, runs a short demo: '{PROG} train --epochs {DEMO_EPOCHS}' on MNIST, "
        f"'--epochs {DEMO_EPOCHS_DIGITS} --lmbda {DEMO_LMBDA_DIGITS}' on the digits when MNIST is "
        f"not found.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands = {
        name: sub.add_parser(
            name,
            help=help,
            description=description.format(mirrors=", ".join(MNIST_MIRRORS)),
            formatter_class=_Formatter,
        )
        for name, (help, description) in _COMMAND_TEXTS.items()
    }

    # ---- train -----------------------------------------------------------------------------------
    t = commands["train"]
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

    # ---- tune ------------------------------------------------------------------------------------
    tp = commands["tune"]
    _add_train_options(tp)
    tp.set_defaults(eta=None, lmbda=None, batch=None, momentum=None)  # searched unless given
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

    # ---- evaluate --------------------------------------------------------------------------------
    e = _add_options(commands["evaluate"], _opt("model", _MODEL_HELP))
    _add_data_args(e, auto_help="data set (default: by the model's input size: 784 -> MNIST, 64 -> digits)")
    _add_options(e, _SPLIT, _flag(_QUIET, "print only 'accuracy cost'"))

    # ---- predict ---------------------------------------------------------------------------------
    pr = _add_options(
        commands["predict"],
        _opt("model", "model file"),
        _opt(
            "--input",
            "examples as rows, values in the model's input space: .npy, .npz (one "
            "array, or --key), CSV/text with or without a header row (a label column "
            "is dropped), or '-' for standard input",
            metavar="FILE",
        ),
        _opt("--key", "the array to read from --input FILE.npz", metavar="NAME"),
        _opt(
            "--scale", "divide the input by S first (e.g. 255 for raw pixels)", type=_pos_float, metavar="S"
        ),
    )
    _add_data_args(pr, auto_help="data set when --input is not given (default: by the model's input size)")
    _add_options(
        pr,
        _SPLIT,
        _opt("--limit", "only the first N examples", type=_pos_int, metavar="N"),
        _flag("--scores", "also print the output activations"),
        _flag(_QUIET, "no note on stderr about the data used"),
    )

    # ---- export ----------------------------------------------------------------------------------
    _add_options(
        commands["export"],
        _opt("model", _MODEL_HELP),
        _opt("out", "the ONNX file to write (atomically)", metavar="OUT.onnx"),
        _opt("--opset", "ONNX opset to target (default: 17)", type=_pos_int, metavar="N"),
        _opt(
            "--dtype",
            "the graph's floating type (default: the model's); float32 for callers that feed float32",
            choices=DTYPES,
        ),
        _flag(_QUIET, "print nothing on success"),
    )

    # ---- download --------------------------------------------------------------------------------
    _add_options(
        commands["download"],
        _opt("dataset", "the data set (mnist)", type=str.lower, choices=("mnist",)),
        _opt("--dir", "target directory (default: ~/.fastnn/mnist, where fastnn looks)", metavar="DIR"),
        _opt(
            "--mirror",
            "a base URL to try first (the four .gz files under it), or a local directory holding them",
            metavar="URL|DIR",
        ),
        _opt(
            "--stall-window",
            "abandon a mirror that delivers less than 1 kB/s over S seconds (default: 60)",
            type=_pos_float,
            default=60.0,
            metavar="S",
        ),
        *_progress_options(
            "print only errors", "show a progress bar per file (default: when stderr is a terminal)"
        ),
    )

    # ---- reproduce -------------------------------------------------------------------------------
    _add_options(
        commands["reproduce"],
        _flag(
            "--quick",
            "one seed of reduced runs (under a minute; numbers not comparable to the book)",
        ),
        _opt(
            "--figures",
            "write the chapter's figures (PNG) and their series (JSON) into DIR (needs matplotlib)",
            metavar="DIR",
        ),
        _opt("--markdown", "write a markdown report to FILE", metavar="FILE"),
        _opt("--json", "write every run and figure series to FILE as JSON", metavar="FILE"),
        _opt("--seeds", "seeds per experiment (default 3; 1 with --quick)", type=_pos_int, metavar="N"),
        _opt("--data-dir", _DATA_DIR_HELP + ". Default: $FASTNN_DATA, then ~/.fastnn/mnist", metavar="DIR"),
    )
    return _case_insensitive(parser)


# --------------------------------------------------------------------------------------------------
# output helpers
# --------------------------------------------------------------------------------------------------
def _note(args, message, stream=None):
    """An informational line (stdout by default: train/evaluate print a report there)."""
    if not getattr(args, "quiet", False):
        print(f"{PROG}: {message}", file=stream or _report_stream(args), flush=True)


def _report_stream(args):
    """Where train's report (notes, epoch lines, the test line) goes: stdout, or stderr when
    --save/--json/--plot write to stdout (so that '--json - | jq .' gets pure JSON)."""
    return sys.stderr if getattr(args, "outputs_to_stdout", False) else sys.stdout


def _fmt_count(n):
    return f"{n:,}"


def _pct(count, n):
    return 100.0 * count / n if n else float("nan")


def _check_outputs(args):
    """--save/--json/--plot/--checkpoint checked before any data is loaded: each writable
    (fastnn.io's rules), no two of them the same file (whatever the spelling), --checkpoint a
    regular file; notes whether one of them is stdout."""
    from . import io as fio

    seen = {}
    try:
        stdout_id = fio.output_identity("-")
    except OSError:
        stdout_id = None
    args.outputs_to_stdout = False
    for flag in ("--save", "--json", "--plot", "--checkpoint"):
        path = getattr(args, flag[2:], None)
        if path is None:
            continue
        try:
            key = fio.output_identity(path)
            kind = fio.output_target(path)[0]
        except OSError as e:
            raise CLIError(f"{flag} {path}: {_os_reason(e, path)}") from None
        if flag == "--checkpoint" and kind != "file":
            raise CLIError(
                f"--checkpoint {path}: not a regular file; a checkpoint is rewritten after every "
                f"epoch and read back by --resume, so it must be a file (not stdout, a descriptor, "
                f"a device or a FIFO)",
                EXIT_USAGE,
            )
        if key in seen:
            other, other_path = seen[key]
            raise CLIError(
                f"{other} {other_path} and {flag} {path} are the same file; give them different files",
                EXIT_USAGE,
            )
        seen[key] = (flag, path)
        if key == stdout_id or fio.descriptor_of(path) == 1:
            args.outputs_to_stdout = True


def _check_output_path(flag, path):
    """One output checked before any work (fastnn.io's rules: writable, not a directory, ...)."""
    if path is None:
        return
    from . import io as fio

    try:
        fio.output_target(path)
    except OSError as e:
        raise CLIError(f"{flag} {path}: {_os_reason(e, path)}") from None


def _os_reason(e, path):
    """An OSError's message without a repeated path."""
    text = e.strerror if isinstance(e.strerror, str) else str(e)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


# --------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------
def _mnist_not_found(reason, data_dir):
    """One line out of fastnn.data's multi-line not-found message."""
    lines = [ln.strip() for ln in reason.splitlines() if ln.strip()]
    head = lines[0] if lines else "MNIST not found"
    head = head.replace(" Looked in:", "").rstrip(".:")
    places = [ln for ln in lines[1:] if not ln.startswith("To get MNIST")]
    where = "; looked in " + ", ".join(places) if places else ""
    fix = (
        "; to get it: fastnn download mnist"
        + (f" --dir {data_dir}" if data_dir is not None else "")
        + (
            ""
            if data_dir is not None
            else "; or pass --data-dir DIR or set FASTNN_DATA=DIR (a directory with the four IDX files)"
        )
    )
    return f"{head}{where}{fix}"


def _find_mnist(path):
    from . import data as fdata

    try:
        return fdata.find_mnist(path)
    except FileNotFoundError as e:  # $FASTNN_DATA names no directory
        raise CLIError(str(e)) from None


def _model_classes(net):
    """The label of each output of a model: its stored mapping, else the output index itself."""
    classes = getattr(net, "classes", None)
    if classes is not None:
        return list(classes)
    return [0, 1] if net.sizes[-1] == 1 else list(range(net.sizes[-1]))


def _load_file_data(args, dtype, whole, model=None):
    """(Dataset, name, note) from --data FILE: every row in each part (evaluate/predict, `whole`),
    or a shuffled, stratified training/validation split by --validation-fraction (train; no test
    part: the final result is on the validation rows). The labels become class indices: through
    the `model`'s classes (evaluate/predict), else the labels present (train; the mapping and the
    label column are left in args.file_classes / args.file_label_column for the model)."""
    import numpy as np

    from .data import Dataset
    from .files import read_labelled

    path = args.data
    try:
        d = read_labelled(
            path,
            label_column=getattr(args, "label_column", None),
            dtype=dtype,
            classes=None if model is None else _model_classes(model),
            remembered=None if model is None else getattr(model, "label_column", None),
        )
    except OSError as e:
        raise CLIError(f"--data {path}: cannot read it: {e.strerror or e}") from None
    except ValueError as e:
        raise CLIError(f"--data {e!s}") from None
    X, y, how = d.X, d.y, d.note
    args.file_classes, args.file_label_column = d.classes, d.label_column
    if model is None and d.classes != list(range(len(d.classes))):
        shown = ", ".join(map(str, d.classes[:5])) + (", ..." if len(d.classes) > 5 else "")
        how += f"; {len(d.classes)} classes: {shown}"
    name = os.path.basename(path)
    empty = (X[:0], y[:0])
    if whole:
        ds = Dataset((X, y), (X, y), (X, y))
        return ds, name, f"data: {path} ({_fmt_count(len(y))} examples, {how})"
    fraction = args.validation_fraction
    n_val = round(fraction * len(y))
    if fraction > 0 and n_val == 0:
        n_val = 1
    if len(y) - n_val < 1:
        raise CLIError(
            f"--validation-fraction {fraction:g} leaves no training rows of the {len(y)} in {path}",
            EXIT_USAGE,
        )
    seed = getattr(args, "seed", None)
    rng = np.random.default_rng(seed if seed is not None else 0)
    if n_val:
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(y))
        try:
            tr, va = train_test_split(idx, test_size=n_val, random_state=int(rng.integers(2**31)), stratify=y)
        except ValueError:  # a class too small to stratify
            tr, va = train_test_split(idx, test_size=n_val, random_state=int(rng.integers(2**31)))
        ds = Dataset((X[tr], y[tr]), (X[va], y[va]), empty)
    else:
        ds = Dataset((X, y), empty, empty)
    note = (
        f"data: {path} ({_fmt_count(len(ds.training[1]))} training / "
        f"{_fmt_count(len(ds.validation[1]))} validation examples, {how})"
    )
    hi = float(X.max()) if X.size else 0.0
    if hi > 1.5:
        note += (
            f"; values up to {hi:g}: scale them to [0, 1] (divide by {_divisor(X):g}) for the book's settings"
        )
    return ds, name, note


def _load_data(args, dtype, *, need_inputs=None, for_training=False, model=None):
    """(Dataset, name, note) for --data/--data-dir (auto-selection when --data is not given)."""
    from . import data as fdata

    choice = args.data
    if _is_file_data(choice):
        if args.data_dir is not None:
            raise CLIError("--data-dir is for MNIST; it cannot be used with --data FILE", EXIT_USAGE)
        return _load_file_data(args, dtype, whole=need_inputs is not None and not for_training, model=model)
    if getattr(args, "label_column", None) is not None:
        raise CLIError("--label-column is for --data FILE", EXIT_USAGE)
    if args.data_dir is not None:
        if choice == "digits":
            raise CLIError("--data-dir is for MNIST; it cannot be used with --data digits", EXIT_USAGE)
        if not os.path.isdir(os.path.expanduser(args.data_dir)):
            state = "is not a directory" if os.path.exists(args.data_dir) else "does not exist"
            raise CLIError(
                f"MNIST not found: --data-dir {args.data_dir} {state}; to get MNIST "
                f"there: fastnn download mnist --dir {args.data_dir}"
            )
        choice = "mnist"
    who = "--sizes asks for" if for_training else "the model has"
    note = None
    if choice is None:
        if need_inputs is not None and need_inputs != 784:
            if need_inputs == 64:
                choice = "digits"
                note = f"{who} 64 inputs"
            else:
                raise CLIError(
                    f"{who} {need_inputs} inputs: neither MNIST (784) nor digits (64) "
                    f"fits; give your own data with --data FILE (.npz or CSV)"
                    + ("" if for_training else " or 'fastnn predict --input FILE'")
                )
        else:
            directory, reason = _find_mnist(None)
            if directory is not None:
                choice = "mnist"
                note = reason.splitlines()[0]
            elif need_inputs == 784:
                raise CLIError(_mnist_not_found(reason, None) + f" ({who} 784 inputs)")
            else:
                choice = "digits"
                note = (
                    "MNIST not found ($FASTNN_DATA, ~/.fastnn/mnist; see --data-dir), "
                    "so using scikit-learn's 8x8 digits"
                )
    if choice == "mnist":
        directory, reason = _find_mnist(args.data_dir)
        if directory is None:
            raise CLIError(_mnist_not_found(reason, args.data_dir))
        if note is None:
            note = reason.splitlines()[0]
        try:
            ds = fdata.load_mnist(directory, dtype=dtype)
        except (OSError, ValueError) as e:
            raise CLIError(f"cannot load MNIST: {str(e).splitlines()[0]}") from None
        name = "MNIST"
    else:
        try:
            ds = fdata.load_digits(dtype=dtype)
        except ImportError as e:
            raise CLIError(f"the digits data set needs scikit-learn: {e}") from None
        name = "digits"
        if note is None:
            note = "using scikit-learn's 8x8 digits (--data digits)"
    sizes = "/".join(_fmt_count(len(part[1])) for part in ds)
    return ds, name, f"data: {name} ({sizes} training/validation/test examples) -- {note}"


def _image_shape(d):
    side = round(math.sqrt(d))
    if side * side != d:
        raise CLIError(f"--expand needs square images; the data has {d} inputs")
    return (side, side)


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------
def _cost_text(data_cost, total_cost):
    """' cost D' (the mean cost without the regularization term, comparable between training and
    evaluation data) and network2's cost with the term, when it differs: ' cost D (+penalty T)'."""
    if data_cost is None:
        return f" cost {total_cost:.4f}"
    if total_cost == data_cost:
        return f" cost {data_cost:.4f}"
    return f" cost {data_cost:.4f} (with penalty {total_cost:.4f})"


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
            s = "train"
            if r.training_cost is not None:
                s += _cost_text(getattr(r, "training_data_cost", None), r.training_cost)
            if r.training_accuracy is not None:
                s += f" acc {_pct(r.training_accuracy, r.n_training):.2f}%"
            parts.append(s)
        elif getattr(r, "training_loss", None) is not None:
            parts.append(f"train loss {r.training_loss:.4f}")
        if r.evaluation_cost is not None or r.evaluation_accuracy is not None:
            s = self.eval_name
            if r.evaluation_cost is not None:
                s += _cost_text(getattr(r, "evaluation_data_cost", None), r.evaluation_cost)
            if r.evaluation_accuracy is not None:
                s += f" acc {_pct(r.evaluation_accuracy, r.n_evaluation):.2f}%"
            parts.append(s)
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


def _run_settings(args, net, data_name):
    """The run's settings for the history JSON: the network, the data and every train option."""
    skip = {"command", "save", "json", "plot", "checkpoint", "quiet", "progress"}
    opts = {
        k: v
        for k, v in sorted(vars(args).items())
        if k not in skip and (v is None or isinstance(v, (bool, int, float, str, list, tuple)))
    }
    return dict(
        opts,
        sizes=list(net.sizes),
        cost=net.cost.name,
        output=net.output,
        hidden=net.hidden,
        weight_init=net.weight_init,
        dtype=net.dtype.name,
        seed=net.seed,
        data_name=data_name,
    )


def _write_outputs(args, net, eval_name, title=None, run=None, result=None):
    """--save, --json, --plot; each failure reported as an error (exit 1) after trying the others."""
    from . import io as fio

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
            from .plotting import plot_history

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


def _training_set(args):
    """What 'train' and 'tune' check and load before training: cost/output pairing, the data
    (--data, --train-size, --expand) and --sizes/--batch against it."""
    import numpy as np

    try:
        cost, output = check_pairing(args.cost, args.output)
    except ValueError as exc:
        raise CLIError(f"--output: {problem(exc)}", EXIT_USAGE) from None
    dtype = np.dtype(args.dtype)
    ds, data_name, data_note = _load_data(
        args, dtype, for_training=True, need_inputs=args.sizes[0] if args.sizes else None
    )
    X, y = ds.training
    if args.train_size is not None:
        if args.train_size > len(y):
            raise CLIError(
                f"--train-size {args.train_size}: the {data_name} training set has only {len(y):,} examples",
                EXIT_USAGE,
            )
        X, y = X[: args.train_size], y[: args.train_size]
    if args.expand:
        from .data import expand

        X, y = expand(X, y, _image_shape(X.shape[1]))
    n_inputs, n_classes = int(X.shape[1]), int(ds.n_classes)
    sizes = args.sizes or [n_inputs, 30, n_classes]
    if sizes[0] != n_inputs:
        raise CLIError(
            f"--sizes {','.join(map(str, sizes))}: the input layer has {sizes[0]} units but the "
            f"{data_name} data has {n_inputs} inputs",
            EXIT_USAGE,
        )
    if sizes[-1] != n_classes:
        raise CLIError(
            f"--sizes {','.join(map(str, sizes))}: the output layer has {sizes[-1]} units but the "
            f"{data_name} data has {n_classes} classes",
            EXIT_USAGE,
        )
    if args.batch is not None and args.batch > len(y):
        raise CLIError(f"--batch {args.batch}: larger than the {len(y):,} training examples", EXIT_USAGE)
    return cost, output, dtype, ds, data_name, data_note, (X, y), sizes


class _Checkpointer:
    """SGD callback: after each epoch, net.save(PATH, state=True) (atomic), then the next callback.

    A checkpoint that cannot be written (disk full, directory removed, ...) is a warning on
    stderr for that epoch, not the end of the run: training goes on, the next epoch tries again,
    --save/--json/--plot are written at the end and the exit status is 1 (``failures``)."""

    def __init__(self, path, then):
        self.path, self.then, self.net = path, then, None
        self.failures = []  # (epoch, reason) of each checkpoint not written

    def __call__(self, record):
        from . import io as fio

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
    net = _load_model(args.checkpoint)
    state = getattr(net, "_train_state", None)
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


# the training options a checkpoint's run recorded (History.settings) and the flag that sets each
_RESUME_SETTINGS = (
    ("mini_batch_size", "--batch", "batch"),
    ("lmbda", "--lmbda", "lmbda"),
    ("regularization", "--regularization", "regularization"),
    ("momentum", "--momentum", "momentum"),
    ("dropout", "--dropout", "dropout"),
    ("early_stopping", "--early-stopping", "early_stopping"),
    ("eta_schedule", "--eta-schedule", "eta_schedule"),
    ("eta_decay", "--eta-decay", "eta_decay"),
    ("min_eta_ratio", "--min-eta-ratio", "min_eta_ratio"),
    ("shuffle", "shuffling", "shuffle"),
)


def _resume_changes(args, net, state):
    """[(flag, checkpoint's value, this run's value)] of the training options that differ from
    the run the checkpoint holds (seed, eta and the SGD settings its history recorded)."""
    changed = []
    if args.seed is not None and net.seed != args.seed:
        changed.append(("--seed", net.seed, args.seed))
    eta0 = state.get("eta0")
    if eta0 is not None and float(eta0) != float(args.eta):
        changed.append(("--eta", f"{float(eta0):g}", f"{args.eta:g}"))
    history = state.get("history")
    settings = getattr(history, "settings", None) or {}
    for key, flag, dest in _RESUME_SETTINGS:
        if key not in settings:
            continue
        old, new = settings[key], getattr(args, dest)
        if key == "shuffle":
            if bool(old) != bool(new):
                changed.append((flag, "off" if not old else "on", "off" if not new else "on"))
            continue
        if old != new and not (old in (None, 0) and new in (None, 0)):
            changed.append(
                (
                    flag,
                    "none" if old is None else f"{old:g}" if isinstance(old, float) else old,
                    "none" if new is None else f"{new:g}" if isinstance(new, float) else new,
                )
            )
    return changed


# SGD's keyword arguments given by the shared training options of the same name (and --threads)
_SGD_NAMES = (
    "regularization",
    "momentum",
    "dropout",
    "early_stopping",
    "restore_best",
    "eta_schedule",
    "eta_decay",
    "min_eta_ratio",
    "shuffle",
)


def _sgd_options(args):
    """SGD keyword arguments from the shared training options (None: not given to 'tune')."""
    options = {name: getattr(args, name) for name in _SGD_NAMES}
    options["n_threads"] = args.threads
    return options


def cmd_train(args):
    # everything that can be checked before loading data or training
    _check_outputs(args)
    if args.plot:
        from .plotting import MISSING_MATPLOTLIB, matplotlib_available

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

    from .network import Network

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


# --------------------------------------------------------------------------------------------------
# tune
# --------------------------------------------------------------------------------------------------
_TUNE_DESTS = {"mini_batch_size": "batch", "n_threads": "threads"}  # SGD name -> option dest


def _given_options(args):
    """The Network/SGD arguments of the train options given on the command line: fixed in 'tune'."""
    defaults = vars(build_parser().parse_args(["tune"]))
    options = {
        **_sgd_options(args),
        "eta": args.eta,
        "lmbda": args.lmbda,
        "mini_batch_size": args.batch,
        "cost": args.cost,
        "output": args.output,
        "hidden": args.hidden,
        "weight_init": args.weight_init,
    }
    return {
        k: v
        for k, v in options.items()
        if getattr(args, _TUNE_DESTS.get(k, k)) != defaults[_TUNE_DESTS.get(k, k)]
    }


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
            if self.bar is not None:
                self.bar.write(line, file=sys.stdout)
                sys.stdout.flush()
            else:
                print(line, flush=True)

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

    from . import io as fio
    from . import tune as ft

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
    from .tune import safe_url

    return None if url is None else safe_url(url)


def _has_complete(study):
    return any(t.state.name == "COMPLETE" for t in study.trials)


def cmd_tune(args):
    try:
        import optuna
    except ImportError:
        from .tune import MISSING_OPTUNA

        raise CLIError(MISSING_OPTUNA) from None
    from . import tune as ft

    for flag, path in (("--save", args.save), ("--json", args.json)):
        _check_output_path(flag, path)
    if args.plot:
        if os.path.exists(args.plot) and not os.path.isdir(args.plot):
            raise CLIError(f"--plot {args.plot}: exists and is not a directory")
        from .plotting import MISSING_MATPLOTLIB, matplotlib_available

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


# --------------------------------------------------------------------------------------------------
# evaluate / predict
# --------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _reading(path, not_found, is_dir, unreadable, invalid="{error}"):
    """Reading a file the user named: its failures become one-line CLIErrors. The messages are
    formats of {path}, {reason} (the OS error) and {error} (a ValueError: a malformed file)."""
    try:
        yield
    except FileNotFoundError:
        raise CLIError(not_found.format(path=path)) from None
    except IsADirectoryError:
        raise CLIError(is_dir.format(path=path)) from None
    except OSError as e:
        raise CLIError(unreadable.format(path=path, reason=e.strerror or e)) from None
    except ValueError as e:
        raise CLIError(invalid.format(path=path, error=e)) from None


def _load_model(path):
    from .io import load

    with _reading(
        path,
        "model file not found: {path}",
        "{path}: is a directory, not a model file",
        "cannot read {path}: {reason}",
    ):
        return load(path)


def _data_for_model(args, net):
    ds, name, note = _load_data(args, net.dtype, need_inputs=int(net.sizes[0]), model=net)
    if ds.n_inputs != net.sizes[0]:
        raise CLIError(
            f"{args.model}: the model has {net.sizes[0]} inputs but the {name} data has {ds.n_inputs}"
        )
    n_classes = int(ds.n_classes)
    if net.sizes[-1] < n_classes:
        raise CLIError(
            f"{args.model}: the model has {net.sizes[-1]} outputs but the {name} data has {n_classes} classes"
        )
    return ds, name, note


def cmd_evaluate(args):
    net = _load_model(args.model)
    ds, name, note = _data_for_model(args, net)
    _note(args, note)
    X, y = getattr(ds, args.split)
    try:
        acc = int(net.accuracy(X, y))
    except ValueError as e:  # rows whose output is NaN/inf have no class: named, not counted
        raise CLIError(f"{args.model} on {name}: {e}") from None
    cost = float(net.total_cost(X, y))
    if args.quiet:
        print(f"{acc / len(y):.6f} {cost:.6f}")
    else:
        print(
            f"{args.split}: accuracy {_pct(acc, len(y)):.2f} % ({acc:,}/{len(y):,}), cost {cost:.4f}  "
            f"[{name}, {args.model}: {list(net.sizes)} {net.cost.__name__}]"
        )
    return EXIT_OK


def _read_input(path, n_inputs, dtype, key=None, label_column=None, remembered=None):
    """--input: .npy, .npz (one array, or --key), CSV/text with or without a header row, or '-'
    (stdin); a CSV with one extra (label) column has it dropped: --label-column, else the one the
    model was trained with, else one named label/y/target/class, else the last."""
    import numpy as np

    from .files import read_features

    with _reading(
        path,
        "--input {path}: file not found",
        "--input {path}: is a directory",
        "--input {path}: cannot read it: {reason}",
        "--input {error}",
    ):
        X = read_features(
            path, n_inputs, key=key, label_column=label_column, remembered=remembered, dtype=dtype
        )
    if X.shape[1] != n_inputs:
        raise CLIError(f"--input {path}: expected rows of {n_inputs} values, got an array of shape {X.shape}")
    return np.ascontiguousarray(X, dtype=dtype)


def _divisor(X):
    """The scale raw integer data implies: 16 for 0-16 (scikit-learn's digits), 255 for 8-bit
    pixels, 65535 for 16-bit; the maximum otherwise."""
    hi = float(X.max())
    for d in (16, 255, 65535):
        if hi <= d:
            return d
    return hi


def _warn_raw_pixels(args, X):
    """Models trained on MNIST/digits see pixels in [0, 1]: integer input up to 16/255 is almost
    surely raw."""
    import numpy as np

    if X.size and X.min() >= 0 and 1.5 < X.max() <= 65535 and np.all(X == np.round(X)):
        d = _divisor(X)
        print(
            f"{PROG}: warning: the input looks like raw 0-{d:g} pixels (values up to {X.max():g}), "
            f"but fastnn's data are scaled to [0, 1]; add --scale {d:g} to divide them",
            file=sys.stderr,
            flush=True,
        )


def cmd_predict(args):

    net = _load_model(args.model)
    if args.input:
        if args.data or args.data_dir:
            raise CLIError("--input and --data/--data-dir cannot be used together", EXIT_USAGE)
        X = _read_input(
            args.input,
            int(net.sizes[0]),
            net.dtype,
            key=args.key,
            label_column=args.label_column,
            remembered=getattr(net, "label_column", None),
        )
    else:
        if args.key is not None:
            raise CLIError("--key is for --input FILE.npz", EXIT_USAGE)
        ds, _, note = _data_for_model(args, net)
        _note(args, note, sys.stderr)
        X = getattr(ds, args.split)[0]
    if args.limit is not None:
        X = X[: args.limit]
    if args.scale is not None:
        X = X / args.scale
    elif args.input:
        _warn_raw_pixels(args, X)
    out = sys.stdout
    classes = getattr(net, "classes", None)

    def names(ks):  # the model's labels of the predicted outputs
        return [str(int(k)) if classes is None else str(classes[k]) for k in ks]

    regression = net.sizes[-1] == 1 and net.output == "linear"
    try:  # rows whose output is NaN/inf have no class: an error naming how many, nothing printed
        predicted = None if regression else net.predict(X)
    except ValueError as e:
        raise CLIError(f"{args.model}: {e}") from None
    if regression:  # no label, the output value
        out.write("".join(f"{v:.6g}\n" for v in net.feedforward(X)[:, 0]))
    elif args.scores:
        A = net.feedforward(X)
        labels = names(predicted)  # the argmax of z (one rule with accuracy), not of A
        for label, row in zip(labels, A):
            out.write(f"{label}\t" + " ".join(f"{v:.6g}" for v in row) + "\n")
    else:
        out.write("".join(f"{v}\n" for v in names(predicted)))
    out.flush()
    return EXIT_OK


def cmd_export(args):
    from .export import to_onnx

    net = _load_model(args.model)
    try:
        to_onnx(net, args.out, opset=args.opset, dtype=args.dtype)  # fastnn.io's writer (atomic)
    except ImportError as e:
        raise CLIError(str(e).split(" (")[0]) from None
    except ValueError as e:
        message = str(e)
        if message.startswith("opset:"):  # an opset the installed onnx does not know
            raise CLIError(f"--opset {args.opset}:{message[len('opset:') :]}", EXIT_USAGE) from None
        raise CLIError(f"cannot export {args.model}: {message}") from None
    except OSError as e:
        directory = os.path.dirname(os.path.abspath(args.out))
        reason = (
            f"directory {directory} does not exist"
            if not os.path.isdir(directory)
            else e.strerror
            if isinstance(e.strerror, str)
            else str(e)
        )
        raise CLIError(f"cannot write {args.out}: {reason}") from None
    # on stderr: the ONNX file itself may be going to stdout ('fastnn export model.json - > m.onnx')
    where = "the model to stdout" if args.out == "-" else args.out
    from .export import ACTIVATIONS_NAME

    first = ACTIVATIONS_NAME[net.output]
    _note(
        args,
        f"wrote {where}: input X (N, {net.sizes[0]}) {args.dtype or net.dtype.name}, outputs {first} "
        f"(N, {net.sizes[-1]}) and label (N,)",
        sys.stderr,
    )
    return EXIT_OK


def cmd_download(args):
    from .download import DownloadError, download_mnist

    try:
        target = download_mnist(
            args.dir,
            mirror=args.mirror,
            progress=args.progress and not args.quiet,
            quiet=args.quiet,
            stall_window=args.stall_window,
        )
    except DownloadError as e:
        raise CLIError(str(e).replace("\n", " ").replace("  ", " ")) from None
    except OSError as e:
        raise CLIError(f"cannot write into {args.dir or '~/.fastnn/mnist'}: {e.strerror or e}") from None
    if not args.quiet:
        where = "" if args.dir is None else f" (pass --data-dir {target} or set FASTNN_DATA={target})"
        print(f"{PROG}: MNIST is in {target}{where}", flush=True)
    return EXIT_OK


# --------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------
def cmd_reproduce(args, *, command=None, markdown_flag="--markdown", **more):
    """`command`: the command line the report quotes (default: this one, when it is `fastnn
    reproduce`); `markdown_flag`: how messages name the option of ``args.markdown``; `more`:
    further arguments of fastnn.reproduce.reproduce (bench/reproduce_chapter3.py, which runs this
    command with its --out, --rows, --dtype, --threads and --markdown)."""
    from .plotting import MISSING_MATPLOTLIB, matplotlib_available
    from .reproduce import reproduce

    for flag, path in ((markdown_flag, args.markdown), ("--json", args.json)):
        _check_output_path(flag, path)
    if args.figures is not None:
        if os.path.exists(args.figures) and not os.path.isdir(args.figures):
            raise CLIError(f"--figures {args.figures}: exists and is not a directory")
        if not matplotlib_available():
            raise CLIError(f"--figures: {MISSING_MATPLOTLIB}")
    if command is None and sys.argv[1:2] == ["reproduce"]:
        command = " ".join([PROG, *sys.argv[1:]])
    directory, reason = _find_mnist(args.data_dir)  # a bad $FASTNN_DATA is an error here
    if directory is None and args.data_dir is not None:
        raise CLIError(_mnist_not_found(reason, args.data_dir))
    try:
        reproduce(
            quick=args.quick,
            figures=args.figures,
            markdown=args.markdown,
            json_file=args.json,
            seeds=args.seeds,
            data_dir=args.data_dir,
            command=command,
            **more,
        )
    except OSError as e:
        raise CLIError(f"cannot write the results: {e}") from None
    return EXIT_OK


_COMMANDS = {
    "train": cmd_train,
    "tune": cmd_tune,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "export": cmd_export,
    "download": cmd_download,
    "reproduce": cmd_reproduce,
}


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage, 130 interrupted)."""
    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    demo = False
    if not argv:
        demo = True
        from .data import find_mnist

        try:
            found = find_mnist(None)[0] is not None
        except FileNotFoundError:  # a bad $FASTNN_DATA: 'train' reports it
            found = False
        if found:
            argv = ["train", "--epochs", str(DEMO_EPOCHS)]
        else:
            argv = ["train", "--epochs", str(DEMO_EPOCHS_DIGITS), "--lmbda", str(DEMO_LMBDA_DIGITS)]
    elif argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["train", *argv]  # options without a command: train
    try:
        parser = build_parser()
        try:
            parser.command = next((a for a in argv if not a.startswith("-")), None)
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help / --version
            return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        if demo:
            _note(
                args,
                f"no command given: running a short demo, '{PROG} {' '.join(argv)}' (see '{PROG} --help')",
            )
        return _COMMANDS[args.command](args)
    except CLIError as e:
        message = str(e)
        command = getattr(parser, "command", None) if "parser" in locals() else None
        if e.code == EXIT_USAGE and "--help'" not in message and command in _COMMANDS:
            message += f" (see '{PROG} {command} --help')"
        print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
        return e.code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. 'fastnn predict ... | head'
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except MemoryError:
        print(f"{PROG}: error: out of memory", file=sys.stderr, flush=True)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
