#!/usr/bin/env python
"""Users' own arrays (issue #26): epochs on X 16 bytes off a 64-byte line against aligned X, with
the trainer's copy of each mini-batch's rows to rows on lines (the default) and without it (the
rows read in place, as before), interleaved in ONE process.

    env -u OPENBLAS_CORETYPE python bench/offset_x.py [--quick] [--repeats N] [--threads 1,2] [--out FILE]

Per case and thread count: one untimed warm-up epoch per setting, then N rounds (default 15) of
aligned X, offset X staged and offset X in place, the order reversing every round. Reported per
setting: the median and best epoch (wall time and process CPU time), and the ratios to aligned X:
of the medians, of the bests, and the median of the per-round ratios. Target: offset X staged
within 3 % of aligned X, T=1 and T=2, float64 and float32. On a shared machine read the ratios
beside the load average printed with them: a single ratio's noise at load ~10 is several %.
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
from _interleave import chunk_times, fastest_p10
from _report import Report
from compare import load_data, offset_copy

import fastnn
from fastnn import _core
from fastnn._validation import aligned_copy

CASES = {
    "h30-mb10": dict(sizes=[784, 30, 10], batch=10),
    "h100-mb10": dict(sizes=[784, 100, 10], batch=10),
    "h30-mb100": dict(sizes=[784, 30, 10], batch=100),
}
SETTINGS = ("aligned", "staged", "in place")


def epoch(case, X, y, T, stage):
    before = _core._set_input_staging(stage)
    try:
        net = fastnn.Network(case["sizes"], dtype=X.dtype, seed=0)
        t0, c0 = time.perf_counter(), time.process_time()
        net.SGD((X, y), 1, case["batch"], 0.5, 5.0, n_threads=T)
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        _core._set_input_staging(before)


def settings_data(Xtr, dtype):
    """{setting: (X, stage the rows?)}: aligned X, and X 16 bytes off a line staged or in place."""
    X = aligned_copy(np.asarray(Xtr), dtype, always=True)
    X_off = offset_copy(X)
    assert X.ctypes.data % 64 == 0 and X_off.ctypes.data % 64 == 16
    return {"aligned": (X, True), "staged": (X_off, True), "in place": (X_off, False)}


def runs(args, names, Xtr):
    """(dtype, case name, T, the settings' data) of every row of a table, X made once per dtype."""
    for dtype in args.dtypes.split(","):
        data = settings_data(Xtr, dtype)
        for name in names:
            for T in (int(t) for t in args.threads.split(",")):
                yield dtype, name, T, data


def ratios(wall, cpu, s):
    """s's epochs over aligned X's: medians, bests, the median per-round ratio (CPU medians, bests)."""
    med, per_round = statistics.median, statistics.median(a / b for a, b in zip(wall[s], wall["aligned"]))
    return (
        f"{med(wall[s]) / med(wall['aligned']):.3f}, {min(wall[s]) / min(wall['aligned']):.3f}, "
        f"{per_round:.3f} ({med(cpu[s]) / med(cpu['aligned']):.3f}, {min(cpu[s]) / min(cpu['aligned']):.3f})"
    )


def chunk_rates(case, data, y, T, rounds, chunk=200):
    """µs per mini-batch of short `Trainer.train` chunks (the whole team: no TeamPace) over each
    setting's X, interleaved: {setting: (fastest, 10th percentile)}. The fastest of many short
    chunks shows what the code does on free cores, where whole epochs on a shared host mostly
    show the host. The chunks walk X's shuffled rows (a new start each round), as an epoch does."""
    from fastnn import _state

    trainers = {}
    for s, (X, stage) in data.items():
        before = _core._set_input_staging(stage)
        try:
            net = fastnn.Network(case["sizes"], dtype=X.dtype, seed=0)
            lay = _state.layout(net)
            tr = _core.Trainer(lay, _state.parameters(net).copy(), case["batch"], None, 0.0, 1, n_threads=T)
            perm = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
            tr.begin(X, _core.Targets(lay, np.asarray(y, dtype=np.intp), None, len(X)), perm, lmbda=5.0)
        finally:
            _core._set_input_staging(before)
        assert tr.staged == (stage and X.ctypes.data % 64 != 0)
        trainers[s] = tr
    n_batches = len(data["aligned"][0]) // case["batch"]
    chunk = min(chunk, n_batches // 2)
    return fastest_p10(chunk_times(trainers, n_batches, rounds, chunk, stride=7919 * chunk))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 rows, 3 rounds, one case")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--cases", default="h30-mb10,h100-mb10")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--n-train", type=int, default=None, help="training rows (default 50,000)")
    ap.add_argument("--allow-synthetic", action="store_true")
    ap.add_argument("--out", help="write the markdown table there")
    ap.add_argument(
        "--chunks",
        type=int,
        default=0,
        help="instead of epochs: this many rounds of short chunks per setting",
    )
    args = ap.parse_args(argv)
    n = args.n_train or (10_000 if args.quick else 50_000)
    repeats = 3 if args.quick else args.repeats
    names = args.cases.split(",")[:1] if args.quick else args.cases.split(",")
    (Xtr, ytr), _, _, source = load_data(n, allow_synthetic=args.allow_synthetic)
    Xtr, ytr = Xtr[:n], ytr[:n]
    report = Report("offset_x.py", source, n, repeats)
    say = report.say
    if args.chunks:
        chunks_table(report, names, args, Xtr, ytr)
        report.finish(args.out)
        return
    say(
        "| case | dtype | T | aligned median / best s (CPU s) | staged / aligned: medians, bests, "
        "per-round (CPU medians, bests) | in place / aligned: medians, bests, per-round (CPU medians, "
        "bests) | load |"
    )
    say("|---|---|---|---|---|---|---|")
    for dtype, name, T, data in runs(args, names, Xtr):
        case = CASES[name]
        wall = {s: [] for s in SETTINGS}
        cpu = {s: [] for s in SETTINGS}
        for s in SETTINGS:  # warm-up
            epoch(case, data[s][0], ytr, T, data[s][1])
        for r in range(repeats):
            for s in SETTINGS if r % 2 == 0 else SETTINGS[::-1]:
                w, c = epoch(case, data[s][0], ytr, T, data[s][1])
                wall[s].append(w)
                cpu[s].append(c)

        say(
            f"| {name} | {dtype} | {T} | {statistics.median(wall['aligned']):.4f} / "
            f"{min(wall['aligned']):.4f} ({statistics.median(cpu['aligned']):.4f}) | "
            f"{ratios(wall, cpu, 'staged')} | {ratios(wall, cpu, 'in place')} | "
            f"{os.getloadavg()[0]:.1f} |"
        )
    report.finish(args.out)


def chunks_table(report, names, args, Xtr, ytr):
    say = report.say
    say(
        f"Short chunks of 200 mini-batches over the shuffled X, {args.chunks} rounds per setting, "
        "interleaved: µs per mini-batch, fastest (10th percentile)"
    )
    say()
    say(
        "| case | dtype | T | aligned µs | staged µs | in place µs | staged / aligned: fastest, p10 | "
        "in place / aligned | load |"
    )
    say("|---|---|---|---|---|---|---|---|---|")
    for dtype, name, T, data in runs(args, names, Xtr):
        r = chunk_rates(CASES[name], data, ytr, T, args.chunks)
        a, st, ip = r["aligned"], r["staged"], r["in place"]
        say(
            f"| {name} | {dtype} | {T} | {a[0]:.1f} ({a[1]:.1f}) | {st[0]:.1f} ({st[1]:.1f}) | "
            f"{ip[0]:.1f} ({ip[1]:.1f}) | {st[0] / a[0]:.3f}, {st[1] / a[1]:.3f} | "
            f"{ip[0] / a[0]:.3f}, {ip[1] / a[1]:.3f} | {os.getloadavg()[0]:.1f} |"
        )


if __name__ == "__main__":
    main()
