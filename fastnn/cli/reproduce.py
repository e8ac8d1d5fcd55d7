"""fastnn reproduce: chapter 3's results table and figures."""

from __future__ import annotations

import os
import sys

from ._argument_types import _pos_int
from ._arguments import _DATA_DIR_HELP
from ._data import _find_mnist, _mnist_not_found
from ._errors import EXIT_OK, PROG, CLIError
from ._output import _check_output_path
from ._parser import _add_options, _flag, _Formatter, _opt

NAME = "reproduce"
# the command's one-line help (in 'fastnn --help') and description (in 'fastnn reproduce --help')
HELP = "reproduce chapter 3's MNIST results table and figures"
DESCRIPTION = (
    "Run the experiments of chapter 3 of 'Neural Networks and Deep "
    "Learning' with the book's settings and print the results table next "
    "to the book's figures; --figures DIR also redraws the chapter's "
    "figures from fastnn runs (PNG + the JSON of their series). Full "
    "settings take minutes; without MNIST only the figures that need no "
    "data are made."
)


def add_parser(subparsers):
    """Add 'fastnn reproduce' and its options to `subparsers` (argparse's add_subparsers)."""
    p = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION, formatter_class=_Formatter)
    _add_options(
        p,
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
    return p


def run(args, *, command=None, markdown_flag="--markdown", **more):
    """`command`: the command line the report quotes (default: this one, when it is `fastnn
    reproduce`); `markdown_flag`: how messages name the option of ``args.markdown``; `more`:
    further arguments of fastnn.reproduce.reproduce (bench/reproduce_chapter3.py, which runs this
    command with its --out, --rows, --dtype, --threads and --markdown)."""
    from fastnn.plotting import MISSING_MATPLOTLIB, matplotlib_available
    from fastnn.reproduce import reproduce

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
