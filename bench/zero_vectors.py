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

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _interleave import bound_trainer, chunk_times, fastest_p10, rounds, start

import fastnn
from fastnn import _core

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


def chunk_rates(sizes, X, y, n_rounds):
    """µs per mini-batch of each setting: (fastest, 10th percentile) of `n_rounds` short chunks."""
    trainers = {
        (T, skip): bound_trainer(sizes, X, y, T, _core._set_skip_zero_columns, skip) for T, skip in SETTINGS
    }
    return fastest_p10(chunk_times(trainers, len(X) // 10, n_rounds))


def main(argv=None):
    args, names, Xtr, ytr, report = start("zero_vectors.py", __doc__, CASES, argv, chunks=120)
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
            times = rounds(
                SETTINGS, args.repeats, lambda s, _r, z=sizes, X=X: epoch(z, X, ytr, *s), warm_up=True
            )
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
