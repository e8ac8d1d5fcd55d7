#!/usr/bin/env python
"""Reproduce the MNIST results of chapter 3 of Nielsen's "Neural Networks and Deep Learning" with fastnn.

    python bench/reproduce_chapter3.py [--quick] [--markdown] [--json FILE] [--out FILE] [--figures DIR]
                                       [--seeds N] [--rows r1,r2,...] [--data-dir DIR] [--dtype float32]
                                       [--threads N]

A thin wrapper around ``fastnn reproduce`` (it runs the same command, fastnn.cli.reproduce's ``run``):
same table, same experiments and settings, same checks of its arguments. Kept here for its extra
options: ``--rows`` (a subset of the experiments), ``--dtype``, ``--threads``, ``--markdown`` (print
the table as markdown) and ``--out FILE`` (the markdown report, what ``fastnn reproduce --markdown
FILE`` writes); and MNIST is also looked for in ``../shared/data/mnist`` next to the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


def find_mnist_dir(data_dir):
    """MNIST in --data-dir, else as fastnn.data.load_mnist looks for it, else next to the repository."""
    from fastnn.data import find_mnist

    if data_dir is not None:
        return find_mnist(data_dir)
    directory, reason = find_mnist(None)
    if directory is not None:
        return directory, reason
    directory, _ = find_mnist(SHARED_MNIST)
    if directory is not None:
        return directory, f"MNIST found in {directory} (next to the repository)"
    return None, reason


def main(argv=None):
    from fastnn.cli import CLIError
    from fastnn.cli.reproduce import run as run_reproduce
    from fastnn.reproduce import EXPERIMENT_KEYS

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="one seed of reduced runs (under a minute)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per experiment (default 3; 1 with --quick)")
    p.add_argument(
        "--rows", default=None, help="comma-separated experiment keys: " + ",".join(EXPERIMENT_KEYS)
    )
    # dest: the names of `fastnn reproduce`'s options, whose command this script runs
    p.add_argument(
        "--markdown", action="store_true", dest="print_markdown", help="print the table as markdown"
    )
    p.add_argument("--json", metavar="FILE", help="write every run (per-epoch accuracies included) as JSON")
    p.add_argument(
        "--out", metavar="FILE", dest="markdown", help="write a markdown report (table + machine) to FILE"
    )
    p.add_argument("--figures", metavar="DIR", help="also write the chapter's figures (PNG + JSON) to DIR")
    p.add_argument("--data-dir", default=None, help="directory with the four MNIST IDX files")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: fastnn's automatic)")
    args = p.parse_args(argv)

    directory, reason = find_mnist_dir(args.data_dir)
    if directory is None:
        print(
            f"reproduce_chapter3: MNIST not found; pass --data-dir DIR or set FASTNN_DATA.\n{reason}",
            file=sys.stderr,
        )
        return 1
    rows = None
    if args.rows:
        rows = [k.strip() for k in args.rows.split(",") if k.strip()]
        unknown = sorted(set(rows) - set(EXPERIMENT_KEYS))
        if unknown:
            p.error(f"unknown --rows {', '.join(unknown)}; choose from {', '.join(EXPERIMENT_KEYS)}")
    if args.seeds is not None and args.seeds < 1:
        p.error("--seeds: expected at least 1")
    command = "python bench/reproduce_chapter3.py " + " ".join(sys.argv[1:] if argv is None else argv)
    args.data_dir = directory
    try:
        return run_reproduce(
            args,
            command=command.strip(),
            markdown_flag="--out",
            rows=rows,
            dtype=args.dtype,
            n_threads=args.threads,
            print_markdown=args.print_markdown,
        )
    except CLIError as e:
        print(f"reproduce_chapter3: {e}", file=sys.stderr)
        return e.code


if __name__ == "__main__":
    sys.exit(main())
