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

One module per command, its parser (``add_parser``) next to its handler (``run``): train, tune,
evaluate, predict, export, download, reproduce. Shared: _errors (exit statuses, CLIError), _parser
(the parser class, help formatter, did-you-mean, option tables), _argument_types, _arguments (the
data, output and progress options), _training_options (the training flags of train and tune),
_output (notes, output checks) and _data (data sets and model files). Command modules import the
shared ones, never each other; this module imports the commands. Nothing here imports the compiled
core at import time: the parser is built without it.
"""

from __future__ import annotations

import os
import sys

from . import download, evaluate, export, predict, reproduce, train, tune
from ._errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG, CLIError
from ._output import _note
from ._parser import _case_insensitive, _Parser

DEMO_EPOCHS = 3  # on MNIST (about a second); the 8x8 digits get DEMO_EPOCHS_DIGITS and a
DEMO_EPOCHS_DIGITS = 30  # lambda for their 1,197 images (the book's 5.0 is for 50,000): 97-99 %
DEMO_LMBDA_DIGITS = 0.5

# the commands, in the order of 'fastnn --help': each module's add_parser(subparsers) and run(args)
_COMMANDS = {
    command.NAME: command for command in (train, tune, evaluate, predict, export, download, reproduce)
}


def build_parser() -> _Parser:
    from fastnn._version import __version__

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
    for command in _COMMANDS.values():
        command.add_parser(sub)
    return _case_insensitive(parser)


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage, 130 interrupted)."""
    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    demo = False
    if not argv:
        demo = True
        from fastnn.data import find_mnist

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
        return _COMMANDS[args.command].run(args)
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
