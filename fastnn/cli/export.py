"""fastnn export: a saved model as ONNX."""

from __future__ import annotations

import os
import sys

from fastnn._vocabulary import DTYPES

from ._argument_types import _pos_int
from ._arguments import _MODEL_HELP, _QUIET
from ._data import _load_model
from ._errors import EXIT_OK, EXIT_USAGE, CLIError
from ._output import _note
from ._parser import _add_options, _flag, _Formatter, _opt

NAME = "export"
# the command's one-line help (in 'fastnn --help') and description (in 'fastnn export --help')
HELP = "write a saved model as ONNX (for ONNX Runtime and others)"
DESCRIPTION = (
    "Write a saved model as an ONNX file: input X (N, n_inputs), outputs "
    "probabilities (softmax output layer), activations (sigmoid: each in (0, 1), rows do not "
    "sum to 1) or output (linear), and label (the predicted output index, as 'fastnn "
    "predict'; a model's classes are in the metadata). Needs the onnx package: "
    'pip install "fastnn[onnx]".'
)


def add_parser(subparsers):
    """Add 'fastnn export' and its options to `subparsers` (argparse's add_subparsers)."""
    p = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION, formatter_class=_Formatter)
    _add_options(
        p,
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
    return p


def run(args):
    from fastnn.export import to_onnx

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
    from fastnn.export import ACTIVATIONS_NAME

    first = ACTIVATIONS_NAME[net.output]
    _note(
        args,
        f"wrote {where}: input X (N, {net.sizes[0]}) {args.dtype or net.dtype.name}, outputs {first} "
        f"(N, {net.sizes[-1]}) and label (N,)",
        sys.stderr,
    )
    return EXIT_OK
