"""Interleaved measurement for the one-process benchmark scripts (bench/offset_x.py,
bench/zero_vectors.py, bench/team_balance.py, bench/half_network.py): every setting measured once
per round, the order rotating from round to round, so that a slow spell of a shared host falls on
all of them."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Hashable, Sequence

import numpy as np

import fastnn
from fastnn import _core, _state


def rounds(keys: Sequence[Hashable], n: int, measure: Callable, warm_up: bool = False) -> dict:
    """{key: [measure(key, r) for each round r]}; with warm_up, one untimed call per key first."""
    if warm_up:
        for k in keys:
            measure(k, -1)
    out = {k: [] for k in keys}
    for r in range(n):
        for k in list(keys[r % len(keys) :]) + list(keys[: r % len(keys)]):
            out[k].append(measure(k, r))
    return out


def chunk_times(trainers: dict, n_batches: int, n: int, chunk: int = 200, stride: int = 613) -> dict:
    """µs per mini-batch of `n` short `Trainer.train` chunks of each trainer (round r starts at
    mini-batch r·stride mod (n_batches − chunk): the chunks walk the shuffled rows as an epoch does)."""

    chunk = min(chunk, n_batches)  # (fewer rows than a chunk: the whole set each time)

    def measure(k, r):
        start = (r * stride) % max(1, n_batches - chunk)
        t0 = time.perf_counter()
        trainers[k].train(start, start + chunk, 0.01)
        return (time.perf_counter() - t0) / chunk * 1e6

    return rounds(list(trainers), n, measure)


def fastest_p10(times: dict) -> dict:
    """{key: (fastest, 10th percentile)} of each list of times."""
    return {k: (min(v), sorted(v)[len(v) // 10]) for k, v in times.items()}


def bound_trainer(
    sizes,
    X,
    y,
    T,
    switch: Callable[[bool], bool] | None = None,
    on: bool = True,
    batch: int = 10,
    momentum: float = 0.0,
    dropout: float = 0.0,
):
    """A `_core.Trainer` for a fresh `Network(sizes, seed=0)` on T threads, bound to (X, y) in a
    seeded shuffle (λ = 5; momentum and dropout as given), built while `switch(on)` holds (a
    `_core._set_…` toggle, put back)."""
    before = switch(on) if switch else None
    try:
        net = fastnn.Network(sizes, dtype=X.dtype, seed=0)
        lay = _state.layout(net)
        params = _state.parameters(net).copy()
        velocity = np.zeros_like(params) if momentum else None
        tr = _core.Trainer(lay, params, batch, velocity, dropout, 1, n_threads=T)
    finally:
        if switch:
            switch(before)
    perm = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
    targets = _core.Targets(lay, np.asarray(y, dtype=np.intp), None, len(X))
    tr.begin(X, targets, perm, lmbda=5.0, momentum=momentum)
    return tr


def start(script: str, doc: str, cases: dict, argv=None, chunks: int = 150, rounds_of: str = "repeats"):
    """The command line shared by the MNIST mini-batch-10 A/B scripts, their data and report:
    (args, case names, X, y, Report); the report's header counts the rounds of `rounds_of`."""
    from _report import Report
    from compare import load_data

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--chunks", type=int, default=chunks, help="short chunks per setting (0: none)")
    ap.add_argument("--cases", default="all")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--allow-synthetic", action="store_true")
    ap.add_argument("--out", help="write the markdown table there")
    args = ap.parse_args(argv)
    names = list(cases) if args.cases == "all" else args.cases.split(",")
    (X, y), _, _, source = load_data(args.rows, allow_synthetic=args.allow_synthetic)
    X, y = X[: args.rows], y[: args.rows]
    return args, names, X, y, Report(script, source, len(X), getattr(args, rounds_of))
