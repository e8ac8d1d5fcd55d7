"""fastnn evaluate: the accuracy and cost of a saved model."""

from __future__ import annotations

from ._arguments import _INFERENCE_THREADS, _MODEL_HELP, _QUIET, _SPLIT, _add_data_args
from ._data import _data_for_model, _load_model
from ._errors import EXIT_OK, CLIError
from ._output import _note, _pct
from ._parser import _add_options, _flag, _Formatter, _opt

NAME = "evaluate"
# the command's one-line help (in 'fastnn --help') and description (in 'fastnn evaluate --help')
HELP = "print accuracy and cost of a saved model"
DESCRIPTION = "Print the accuracy and cost (unregularized) of a saved model on a split of the data."


def add_parser(subparsers):
    """Add 'fastnn evaluate' and its options to `subparsers` (argparse's add_subparsers)."""
    p = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION, formatter_class=_Formatter)
    e = _add_options(p, _opt("model", _MODEL_HELP))
    _add_data_args(e, auto_help="data set (default: by the model's input size: 784 -> MNIST, 64 -> digits)")
    _add_options(e, _SPLIT, _INFERENCE_THREADS, _flag(_QUIET, "print only 'accuracy cost'"))
    return p


def run(args):
    net = _load_model(args.model)
    net.n_threads = args.threads
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
