"""What the commands read: the data sets of --data/--data-dir (MNIST, the digits, a file of one's
own), the training set of 'train' and 'tune', and model files; failures are one-line CLIErrors."""

from __future__ import annotations

import contextlib
import math
import os

from fastnn._vocabulary import check_pairing, problem

from ._argument_types import _is_file_data
from ._errors import EXIT_USAGE, CLIError
from ._output import _fmt_count


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
    from fastnn import data as fdata

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

    from fastnn.data import Dataset
    from fastnn.files import read_labelled

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
    from fastnn import data as fdata

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


def _divisor(X):
    """The scale raw integer data implies: 16 for 0-16 (scikit-learn's digits), 255 for 8-bit
    pixels, 65535 for 16-bit; the maximum otherwise."""
    hi = float(X.max())
    for d in (16, 255, 65535):
        if hi <= d:
            return d
    return hi


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
        from fastnn.data import expand

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
    from fastnn.io import load

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
