#!/usr/bin/env python
"""A first layer on fastnn's own kernels with and without its zero input vectors left out (issue
#29's zero columns, DESIGN.md "Zero input columns"): MNIST mini-batches of 10, in ONE process,
skip on and off interleaved, T=1 and T=2.

    env -u OPENBLAS_CORETYPE python bench/zero_vectors.py [--repeats N] [--chunks N] [--out FILE]

Per case and dtype: N rounds (default 7) of one epoch (`Network.SGD`) per setting, the starting
setting rotating; then short chunks (`Trainer.train`, 200 mini-batches each; the fastest and the
10th percentile show what the code does when the host lets it). Both settings give the same bits
(tests/test_zero_vectors.py); what differs is the time.
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
SETTINGS = [(1, False), (1, True), (2, False), (2, True)]  # (threads, skip)


def epoch(sizes, X, y, T, skip):
    before = _core._set_skip_zero_columns(skip)
    try:
        net = fastnn.Network(sizes, dtype=X.dtype, seed=0)
        t0 = time.perf_counter()
        net.SGD((X, y), 1, 10, 0.5, 5.0, n_threads=T)
        return time.perf_counter() - t0
    finally:
        _core._set_skip_zero_columns(before)


def chunk_rates(sizes, X, y, rounds, chunk=200):
    """µs per mini-batch of each setting: (fastest, 10th percentile) of `rounds` short chunks."""
    trainers = {}
    for T, skip in SETTINGS:
        before = _core._set_skip_zero_columns(skip)
        try:
            net = fastnn.Network(sizes, dtype=X.dtype, seed=0)
            lay = _state.layout(net)
            tr = _core.Trainer(lay, _state.parameters(net).copy(), 10, None, 0.0, 1, n_threads=T)
        finally:
            _core._set_skip_zero_columns(before)
        perm = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
        tr.begin(X, _core.Targets(lay, y.astype(np.intp), None, len(X)), perm, lmbda=5.0, momentum=0.0)
        trainers[(T, skip)] = tr
    n_batches = len(X) // 10
    times = {s: [] for s in SETTINGS}
    for r in range(rounds):
        start = (r * 613) % (n_batches - chunk)
        for s in SETTINGS[r % 4 :] + SETTINGS[: r % 4]:
            t0 = time.perf_counter()
            trainers[s].train(start, start + chunk, 0.01)
            times[s].append((time.perf_counter() - t0) / chunk * 1e6)
    return {s: (min(v), sorted(v)[len(v) // 10]) for s, v in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--chunks", type=int, default=120, help="short chunks per setting (0: none)")
    ap.add_argument("--cases", default="all")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--allow-synthetic", action="store_true")
    ap.add_argument("--out", help="write the markdown table there")
    args = ap.parse_args(argv)
    names = list(CASES) if args.cases == "all" else args.cases.split(",")
    (Xtr, ytr), _, _, source = load_data(args.rows, allow_synthetic=args.allow_synthetic)
    Xtr, ytr = Xtr[: args.rows], ytr[: args.rows]
    report = Report("zero_vectors.py", source, len(Xtr), args.repeats)
    say = report.say
    say(
        "| case | dtype | T | whole rows: epoch best / median s | zero vectors left out: best / median s "
        "| speed-up (median, best) | short chunks µs, whole / left out: fastest (p10) "
        "| speed-up fastest (p10) | load |"
    )
    say("|---|---|---|---|---|---|---|---|---|")
    for dtype in args.dtypes.split(","):
        X = np.ascontiguousarray(Xtr, dtype=dtype)
        for name in names:
            sizes = CASES[name]
            times = {s: [] for s in SETTINGS}
            for s in SETTINGS:  # warm-up
                epoch(sizes, X, ytr, *s)
            for r in range(args.repeats):
                for s in SETTINGS[r % 4 :] + SETTINGS[: r % 4]:
                    times[s].append(epoch(sizes, X, ytr, *s))
            chunks = chunk_rates(sizes, X, ytr, args.chunks) if args.chunks else None
            for T in (1, 2):
                off, on = times[(T, False)], times[(T, True)]
                mo, mn = statistics.median(off), statistics.median(on)
                row = (
                    f"| {name} | {dtype} | {T} | {min(off):.3f} / {mo:.3f} | {min(on):.3f} / {mn:.3f} | "
                    f"{mo / mn:.2f}x, {min(off) / min(on):.2f}x | "
                )
                if chunks:
                    (fo, po), (fn, pn) = chunks[(T, False)], chunks[(T, True)]
                    row += f"{fo:.1f} ({po:.1f}) / {fn:.1f} ({pn:.1f}) | {fo / fn:.2f}x ({po / pn:.2f}x) | "
                else:
                    row += "– | – | "
                say(row + f"{os.getloadavg()[0]:.1f} |")
    report.finish(args.out)


if __name__ == "__main__":
    main()
