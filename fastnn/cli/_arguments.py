"""Argument groups and options that several commands share: the data options, the output group
(--save/--json/--plot) and the progress options. The training options are in _training_options."""

from __future__ import annotations

from fastnn._vocabulary import Interval

from ._argument_types import _data_arg, _number
from ._parser import _add_options, _flag, _opt

_DATA_DIR_HELP = "directory holding the four MNIST IDX files"
_MODEL_HELP = "model file written by 'fastnn train --save', Network.save or network2"
_SPLIT = _opt("--split", choices=("test", "validation", "training"), default="test")
_QUIET = "-q --quiet"
# evaluate / predict: the model's inference on a team (Network.n_threads)
_INFERENCE_THREADS = _opt(
    "--threads",
    "threads that run the model on the data (default: 1): its blocks of 1,024 rows shared out among "
    "them, the same output for any N",
    type=_number(Interval(1, 1024, integer=True)),  # _threads.MAX_THREADS
    default=1,
    metavar="N",
)


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
