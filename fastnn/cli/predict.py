"""fastnn predict: the predicted label of each example."""

from __future__ import annotations

import sys

from ._argument_types import _pos_float, _pos_int
from ._arguments import _INFERENCE_THREADS, _QUIET, _SPLIT, _add_data_args
from ._data import _data_for_model, _divisor, _load_model, _reading
from ._errors import EXIT_OK, EXIT_USAGE, PROG, CLIError
from ._output import _note
from ._parser import _add_options, _flag, _Formatter, _opt

NAME = "predict"
# the command's one-line help (in 'fastnn --help') and description (in 'fastnn predict --help')
HELP = "print the predicted label of each example"
DESCRIPTION = (
    "Print one predicted label per line, for the rows of --input "
    "(.npy, or .csv/.txt with comma/space separated values) or of a "
    "split of the data."
)


def add_parser(subparsers):
    """Add 'fastnn predict' and its options to `subparsers` (argparse's add_subparsers)."""
    p = subparsers.add_parser(NAME, help=HELP, description=DESCRIPTION, formatter_class=_Formatter)
    pr = _add_options(
        p,
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
        _INFERENCE_THREADS,
        _flag("--scores", "also print the output activations"),
        _flag(_QUIET, "no note on stderr about the data used"),
    )
    return p


def _read_input(path, n_inputs, dtype, key=None, label_column=None, remembered=None):
    """--input: .npy, .npz (one array, or --key), CSV/text with or without a header row, or '-'
    (stdin); a CSV with one extra (label) column has it dropped: --label-column, else the one the
    model was trained with, else one named label/y/target/class, else the last."""
    import numpy as np

    from fastnn.files import read_features

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


def run(args):

    net = _load_model(args.model)
    net.n_threads = args.threads
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
