#!/usr/bin/env python
"""The most a team of two can gain on one mini-batch, measured: each thread of a team that splits
the hidden neurons (DESIGN.md, "One training on a team of threads") runs, every mini-batch, at least
what the network with half the hidden neurons runs on one thread — every input row of the
mini-batch (its zero vectors, its prefetch, its finiteness check), the whole output layer (forward,
BP1, BP2, its update) and half of the first layer's products — plus a barrier. So

    T=2 speed-up  <=  t([784, n, 10] on one thread) / t([784, n/2, 10] on one thread)

on the same cores, whatever the team does; the bound is below 2 by the part of a mini-batch that
does not shrink with the neurons. The cases are bench/threads.py's at mini-batch 10 (with momentum 0.9,
with dropout 0.5). In ONE process, short `Trainer.train` chunks (200 mini-batches of
10, the chunks walking the shuffled rows as an epoch does), the three settings interleaved:

    env -u OPENBLAS_CORETYPE python bench/half_network.py [--rows N] [--chunks N] [--out FILE]

`--rows 50000` (the default) streams X's rows from memory as an epoch does; `--rows 2000` keeps them
in the last-level cache. Read the fastest chunks as the quiet machine and the medians beside the
load average (a shared host's cores change speed for seconds at a time).
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _interleave import bound_trainer, chunk_times, start

CASES = {  # (hidden neurons, Trainer options), as bench/threads.py's cases
    "h30-mb10": (30, {}),
    "h100-mb10": (100, {}),
    "h30-mb10-momentum": (30, {"momentum": 0.9}),
    "h30-mb10-dropout": (30, {"dropout": 0.5}),
}
TARGETS = {"h30-mb10": 1.7, "h100-mb10": 1.8, "h30-mb10-momentum": 1.6, "h30-mb10-dropout": 1.6}


def settings(n: int) -> dict:
    """{setting: (sizes, T)}: the network on one thread, its half network on one thread, the team."""
    return {
        f"T=1 [784,{n},10]": ([784, n, 10], 1),
        f"T=1 [784,{n // 2},10]": ([784, n // 2, 10], 1),
        f"T=2 [784,{n},10]": ([784, n, 10], 2),
    }


def main(argv=None):
    args, names, Xtr, ytr, report = start(
        "half_network.py", __doc__, CASES, argv, chunks=400, rounds_of="chunks"
    )
    say = report.say
    say(
        "| case | dtype | setting | short chunks µs per mini-batch: fastest / p10 / median | "
        "T=1 [784,n,10] / setting (fastest, p10, median) | load |"
    )
    say("|---|---|---|---|---|---|")
    summary = []
    for dtype in args.dtypes.split(","):
        X = np.ascontiguousarray(Xtr, dtype=dtype)
        for name in names:
            n, options = CASES[name]
            s = settings(n)
            trainers = {k: bound_trainer(sizes, X, ytr, T, **options) for k, (sizes, T) in s.items()}
            times = chunk_times(trainers, len(X) // 10, max(args.chunks, 1))
            stats = {k: (min(v), sorted(v)[len(v) // 10], statistics.median(v)) for k, v in times.items()}
            one, half, team = list(s)
            for k in s:
                f, p, m = stats[k]
                r = [a / b for a, b in zip(stats[one], stats[k])]
                say(
                    f"| {name} | {dtype} | {k} | {f:.1f} / {p:.1f} / {m:.1f} | "
                    f"{r[0]:.2f}x, {r[1]:.2f}x, {r[2]:.2f}x | {os.getloadavg()[0]:.1f} |"
                )
            bound = [a / b for a, b in zip(stats[one], stats[half])]
            got = [a / b for a, b in zip(stats[one], stats[team])]
            summary.append(
                f"- {name} {dtype}: bound t(n)/t(n/2) {bound[0]:.2f}x fastest, {bound[2]:.2f}x median; "
                f"the team {got[0]:.2f}x / {got[2]:.2f}x ({got[0] / bound[0]:.0%} / {got[2] / bound[2]:.0%} "
                f"of the bound); issue #26's target {TARGETS[name]}x"
            )
    say()
    for line in summary:
        say(line)
    report.finish(args.out)


if __name__ == "__main__":
    main()
