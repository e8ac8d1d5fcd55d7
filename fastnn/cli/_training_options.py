"""The training options 'train' and 'tune' share: their flags, the SGD arguments and history
settings they give, and the options a checkpoint's run is compared on by --resume."""

from __future__ import annotations

from fastnn._vocabulary import (
    COSTS,
    DTYPES,
    FLAGS,
    HIDDEN,
    LEADING,
    OPTIONS,
    OUTPUTS,
    SEARCHED,
    WEIGHT_INITS,
    Interval,
)

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
    _add_training_flags(p.add_argument_group("training"))
    return data


def _add_training_flags(group):
    """The training options' flags, generated from the spec (_vocabulary.FLAGS: flags, help,
    default, metavar, dest; the option's rule or the flag's own as the argparse type)."""
    for name, flag in FLAGS.items():
        keywords = {"dest": flag.dest} if flag.dest else {}
        if flag.negate:
            keywords.update(dest=name, action="store_false")
        else:
            rule = OPTIONS[name].check
            if flag.interval is not None:
                keywords["type"] = _number(flag.interval)
            elif isinstance(rule, Interval):
                keywords["type"] = _number(name)
            else:
                keywords["choices"] = rule
            if flag.default is not None:
                keywords["default"] = flag.default
            if flag.metavar:
                keywords["metavar"] = flag.metavar
        group.add_argument(*flag.flags.split(), help=flag.help or OPTIONS[name].help, **keywords)
    return group


def _add_tune_train_options(tp):
    """The options of 'train' that 'tune' shares, with eta, lambda, the mini-batch size and momentum
    searched unless given (no default); returns the data group."""
    data = _add_train_options(tp)
    # the options tune searches by default (_vocabulary: search=...) are searched unless given
    tp.set_defaults(**{FLAGS[name].dest or name: None for name in SEARCHED})
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
# (--epochs counts up to a total and eta is compared as the run's first eta: both apart)
_RESUME_SETTINGS = tuple(
    (name, "shuffling" if flag.negate and name == "shuffle" else flag.flags.split()[0], flag.dest or name)
    for name, flag in FLAGS.items()
    if OPTIONS[name].setting and name not in ("epochs", "eta")
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


def _flag_values(args, skip=()):
    """The training options set by the spec's flags (_vocabulary.FLAGS), by SGD name."""
    return {name: getattr(args, flag.dest or name) for name, flag in FLAGS.items() if name not in skip}


def _sgd_options(args):
    """SGD keyword arguments from the shared training options (None: not given to 'tune'); the
    leading ones (epochs, mini_batch_size, eta, lmbda) are passed by the commands themselves."""
    return _flag_values(args, skip=LEADING)


#: SGD name -> option dest, for the spec's flags (the network options' dests are their names)
_TUNE_DESTS = {name: flag.dest for name, flag in FLAGS.items() if flag.dest}


def _given_options(args):
    """The Network/SGD arguments of the train options given on the command line: fixed in 'tune'."""
    parser = _Parser(prog=PROG)
    _add_tune_train_options(parser)
    defaults = vars(parser.parse_args([]))
    options = {
        **_flag_values(args, skip=("epochs",)),
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
