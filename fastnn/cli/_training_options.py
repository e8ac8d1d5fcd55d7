"""The training options 'train' and 'tune' share: their flags, the SGD arguments and history
settings they give, and the options a checkpoint's run is compared on by --resume."""

from __future__ import annotations

from fastnn._vocabulary import COSTS, DTYPES, HIDDEN, OUTPUTS, REGULARIZATIONS, WEIGHT_INITS

from ._argument_types import _cost, _nonneg_int, _number, _pos_int, _sizes, _unit_float
from ._arguments import _add_data_args
from ._errors import PROG
from ._parser import _add_options, _flag, _opt, _Parser

DEFAULT_LMBDA_PER = 10_000  # train's default lambda = n / 10,000: the book's 5.0 for 50,000 images


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
            "loop, results bit-identical for any N; BLAS layers and evaluation keep one thread. "
            "When it pays off: 'One training on several threads' in the performance docs",
            type=_number("n_threads"),
            metavar="N",
        ),
    )
    return data


def _add_tune_train_options(tp):
    """The options of 'train' that 'tune' shares, with eta, lambda, the mini-batch size and momentum
    searched unless given (no default); returns the data group."""
    data = _add_train_options(tp)
    tp.set_defaults(eta=None, lmbda=None, batch=None, momentum=None)  # searched unless given
    return data


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


_TUNE_DESTS = {"mini_batch_size": "batch", "n_threads": "threads"}  # SGD name -> option dest


def _given_options(args):
    """The Network/SGD arguments of the train options given on the command line: fixed in 'tune'."""
    parser = _Parser(prog=PROG)
    _add_tune_train_options(parser)
    defaults = vars(parser.parse_args([]))
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
