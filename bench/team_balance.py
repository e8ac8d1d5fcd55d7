#!/usr/bin/env python
"""A team sharing its work by measured speed (DESIGN.md, "shares by measured speed") against equal
shares and against one thread, in ONE process: whole epochs (`Network.SGD`, TeamPace as in any
training) and short chunks (`Trainer.train`, 200 mini-batches, the team whole), interleaved.

    env -u OPENBLAS_CORETYPE python bench/team_balance.py [--repeats N] [--chunks N] [--out FILE]

On a machine whose cores are all free the shares stay equal and the two team settings measure the
same; where another process slows one core down for a while, equal shares make every mini-batch
wait for it. Read the figures beside the load average, and the spread (median against mean).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _interleave import bound_trainer, chunk_times, rounds, start

import fastnn
from fastnn import _core

CASES = {"h30-mb10": [784, 30, 10], "h100-mb10": [784, 100, 10]}
SETTINGS = [("T=1", 1, True), ("T=2 equal", 2, False), ("T=2 by speed", 2, True)]


def _with_balance(on, make):
    before = _core._set_team_balance(on)
    try:
        return make()
    finally:
        _core._set_team_balance(before)


def epoch(sizes, X, y, T, balance):
    net = fastnn.Network(sizes, dtype=X.dtype, seed=0)
    t0 = time.perf_counter()
    _with_balance(balance, lambda: net.SGD((X, y), 1, 10, 0.5, 5.0, n_threads=T))
    return time.perf_counter() - t0


def chunk_rates(sizes, X, y, n_rounds):
    """µs per mini-batch of each setting, `n_rounds` short chunks each (interleaved)."""
    trainers = {
        name: bound_trainer(sizes, X, y, T, _core._set_team_balance, balance) for name, T, balance in SETTINGS
    }
    return chunk_times(trainers, len(X) // 10, n_rounds)


def main(argv=None):
    args, names, Xtr, ytr, report = start("team_balance.py", __doc__, CASES, argv, chunks=150)
    say = report.say
    say(
        "| case | dtype | setting | epoch s: best / median / mean | vs T=1 (median) | short chunks µs: "
        "fastest / median / mean | vs T=1 (median, mean) | load |"
    )
    say("|---|---|---|---|---|---|---|---|")
    for dtype in args.dtypes.split(","):
        X = np.ascontiguousarray(Xtr, dtype=dtype)
        for name in names:
            sizes = CASES[name]
            setting = {s: (T, bal) for s, T, bal in SETTINGS}
            ep = rounds(
                list(setting),
                args.repeats,
                lambda s, _r, z=sizes, X=X, setting=setting: epoch(z, X, ytr, *setting[s]),
                warm_up=True,
            )
            ch = chunk_rates(sizes, X, ytr, args.chunks) if args.chunks else None
            e1 = statistics.median(ep["T=1"])
            c1 = (statistics.median(ch["T=1"]), statistics.fmean(ch["T=1"])) if ch else None
            for s, *_ in SETTINGS:
                v = ep[s]
                row = (
                    f"| {name} | {dtype} | {s} | {min(v):.3f} / {statistics.median(v):.3f} / "
                    f"{statistics.fmean(v):.3f} | {e1 / statistics.median(v):.2f}x | "
                )
                if ch:
                    c = ch[s]
                    cm, ca = statistics.median(c), statistics.fmean(c)
                    row += f"{min(c):.1f} / {cm:.1f} / {ca:.1f} | {c1[0] / cm:.2f}x, {c1[1] / ca:.2f}x | "
                else:
                    row += "– | – | "
                say(row + f"{os.getloadavg()[0]:.1f} |")
    report.finish(args.out)


if __name__ == "__main__":
    main()
