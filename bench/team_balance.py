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

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report
from compare import load_data

import fastnn
from fastnn import _core, _state

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


def chunk_times(sizes, X, y, rounds, chunk=200):
    """µs per mini-batch of each setting, `rounds` short chunks each (interleaved)."""
    trainers = {}
    for name, T, balance in SETTINGS:
        net = fastnn.Network(sizes, dtype=X.dtype, seed=0)
        lay = _state.layout(net)
        params = _state.parameters(net).copy()
        tr = _with_balance(
            balance, lambda lay=lay, p=params, T=T: _core.Trainer(lay, p, 10, None, 0.0, 1, n_threads=T)
        )
        perm = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
        tr.begin(X, _core.Targets(lay, y.astype(np.intp), None, len(X)), perm, lmbda=5.0, momentum=0.0)
        trainers[name] = tr
    n_batches = len(X) // 10
    times = {name: [] for name, *_ in SETTINGS}
    for r in range(rounds):
        start = (r * 613) % (n_batches - chunk)
        for name, *_ in SETTINGS[r % 3 :] + SETTINGS[: r % 3]:
            t0 = time.perf_counter()
            trainers[name].train(start, start + chunk, 0.01)
            times[name].append((time.perf_counter() - t0) / chunk * 1e6)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--chunks", type=int, default=150, help="short chunks per setting (0: none)")
    ap.add_argument("--cases", default="all")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--allow-synthetic", action="store_true")
    ap.add_argument("--out", help="write the markdown table there")
    args = ap.parse_args(argv)
    names = list(CASES) if args.cases == "all" else args.cases.split(",")
    (Xtr, ytr), _, _, source = load_data(args.rows, allow_synthetic=args.allow_synthetic)
    Xtr, ytr = Xtr[: args.rows], ytr[: args.rows]
    report = Report("team_balance.py", source, len(Xtr), args.repeats)
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
            ep = {s: [] for s, *_ in SETTINGS}
            for _s, T, bal in SETTINGS:  # warm-up
                epoch(sizes, X, ytr, T, bal)
            for r in range(args.repeats):
                for s, T, bal in SETTINGS[r % 3 :] + SETTINGS[: r % 3]:
                    ep[s].append(epoch(sizes, X, ytr, T, bal))
            ch = chunk_times(sizes, X, ytr, args.chunks) if args.chunks else None
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
