"""fastnn download: MNIST's four IDX files, verified by SHA-256."""

from __future__ import annotations

from ._argument_types import _pos_float
from ._arguments import _progress_options
from ._errors import EXIT_OK, PROG, CLIError
from ._parser import _add_options, _Formatter, _opt

NAME = "download"
# the command's one-line help (in 'fastnn --help') and description (in 'fastnn download --help')
HELP = "download MNIST (four IDX files, verified by SHA-256)"
DESCRIPTION = (
    "Download the four MNIST IDX files from public mirrors ({mirrors}), verify their SHA-256 "
    "against the checksums shipped with fastnn and install them atomically. "
    "Files already there and intact are kept; interrupted downloads resume."
)


def add_parser(subparsers):
    """Add 'fastnn download' and its options to `subparsers` (argparse's add_subparsers)."""
    from fastnn.download import MNIST_MIRRORS

    p = subparsers.add_parser(
        NAME,
        help=HELP,
        description=DESCRIPTION.format(mirrors=", ".join(MNIST_MIRRORS)),
        formatter_class=_Formatter,
    )
    _add_options(
        p,
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
    return p


def run(args):
    from fastnn.download import DownloadError, download_mnist

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
