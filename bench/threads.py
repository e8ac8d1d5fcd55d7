#!/usr/bin/env python
"""One training on a team of threads: epochs of T=1 and T=2 interleaved in ONE process, the ceiling
of two concurrent T=1 trainings measured in the same run, and users' unaligned X (16 bytes off a
64-byte line) against aligned X.

    env -u OPENBLAS_CORETYPE python bench/threads.py [--quick] [--repeats N] [--out FILE]

Per case: one untimed warm-up epoch per setting, then N rounds (default 7); in each round T=1 and
T=2 (and the offset-X runs) train one epoch each, the starting setting alternating. Reported: best
and median seconds per epoch, and the T=2 speed-up from the medians and from the bests.

The ceiling: two T=1 trainings of the same case at once, in two Python threads (the core releases
the GIL): if the machine gives this process two cores, their rate is ~2x one training's; on a
machine shared with other work it is lower, and no team can beat it. Read every figure beside the
load average printed with it: on a loaded machine T=2 can be slower than T=1 (the team's barriers
wait for a thread that has no core).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import Report
from compare import load_data

import fastnn

CASES = {
    "h30-mb10": dict(sizes=[784, 30, 10], batch=10),
    "h100-mb10": dict(sizes=[784, 100, 10], batch=10),
    "h100-mb100": dict(sizes=[784, 100, 10], batch=100),
    "h800-mb100": dict(sizes=[784, 800, 10], batch=100),  # the first layer on the packed product
    "h30-mb10-momentum": dict(sizes=[784, 30, 10], batch=10, momentum=0.9),
    "h30-mb10-dropout": dict(sizes=[784, 30, 10], batch=10, dropout=0.5),
}


def offset(X):
    """X's copy whose rows start 16 bytes after a 64-byte line (as users' arrays often do)."""
    buf = np.empty(X.size * X.itemsize + 128, dtype=np.uint8)
    start = (-buf.ctypes.data) % 64 + 16
    out = buf[start : start + X.size * X.itemsize].view(X.dtype).reshape(X.shape)
    out[...] = X
    return out


def epoch(case, X, y, T, seed=0):
    net = fastnn.Network(case["sizes"], dtype=X.dtype, seed=seed)
    opts = {k: v for k, v in case.items() if k in ("momentum", "dropout")}
    t0 = time.perf_counter()
    net.SGD((X, y), 1, case["batch"], 0.5, 5.0, n_threads=T, **opts)
    return time.perf_counter() - t0


def chunk_rates(case, X, y, rounds, chunk=200):
    """Microseconds per mini-batch of T=1 and of T=2 (the whole team: `Trainer.train(threads=)`),
    as the fastest and the 10th-percentile of `rounds` short chunks each, interleaved: on a shared
    VM whose second core comes and goes, the fastest chunks show what the code does on two free
    cores, where whole epochs mostly show the host."""
    from fastnn import _core, _state

    trainers = {}
    for T in (1, 2):
        net = fastnn.Network(case["sizes"], dtype=X.dtype, seed=0)
        lay = _state.layout(net)
        mom = case.get("momentum", 0.0)
        vel = np.zeros_like(_state.parameters(net)) if mom else None
        tr = _core.Trainer(
            lay, _state.parameters(net).copy(), case["batch"], vel, case.get("dropout", 0.0), 1, n_threads=T
        )
        perm = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
        tr.begin(X, _core.Targets(lay, y.astype(np.intp), None, len(X)), perm, lmbda=5.0, momentum=mom)
        trainers[T] = tr
    n_batches = len(X) // case["batch"]
    chunk = min(chunk, n_batches // 2)
    times = {1: [], 2: []}
    for r in range(rounds):
        for T in (1, 2) if r % 2 else (2, 1):
            start = (r * chunk) % (n_batches - chunk)
            t0 = time.perf_counter()
            trainers[T].train(start, start + chunk, 0.01)
            times[T].append((time.perf_counter() - t0) / chunk * 1e6)
    return {T: (min(v), sorted(v)[len(v) // 10]) for T, v in times.items()}, trainers[2].threads


def cli_run(threads, epochs, data_dir, dtype):
    """One `fastnn train` in a child process: (summed epoch seconds, the command's wall seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        cmd = [sys.executable, "-m", "fastnn", "train", "--epochs", str(epochs), "--threads", str(threads)]
        cmd += ["--dtype", dtype, "-q", "--json", str(out)] + (["--data-dir", data_dir] if data_dir else [])
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        records = json.loads(out.read_text(encoding="utf-8"))["records"]
    return sum(r["seconds"] for r in records), wall


def cli_rows(report, rounds, epochs, dtypes):
    """The CLI's main job, `fastnn train` (MNIST, [784,30,10], mini-batch 10, 30 epochs, monitoring
    on), with --threads 1 and 2 alternating: the epochs' summed seconds and the whole command's."""
    data_dir = os.environ.get("FASTNN_DATA")
    report.say()
    report.say(
        f"`fastnn train --epochs {epochs} --threads T` (child processes, {rounds} rounds alternating): "
        "medians (bests) of the epochs' summed seconds and of the whole command's seconds"
    )
    report.say()
    report.say(
        "| dtype | T=1 epochs s | T=2 epochs s | epochs T=1/T=2 | T=1 command s | T=2 command s | "
        "command T=1/T=2 | load |"
    )
    report.say("|---|---|---|---|---|---|---|---|")
    for dtype in dtypes:
        runs = {1: [], 2: []}
        for r in range(rounds):
            for T in (1, 2) if r % 2 == 0 else (2, 1):
                runs[T].append(cli_run(T, epochs, data_dir, dtype))
        ep = {T: [e for e, _ in v] for T, v in runs.items()}
        wall = {T: [w for _, w in v] for T, v in runs.items()}
        me = {T: statistics.median(v) for T, v in ep.items()}
        mw = {T: statistics.median(v) for T, v in wall.items()}
        report.say(
            f"| {dtype} | {me[1]:.2f} ({min(ep[1]):.2f}) | {me[2]:.2f} ({min(ep[2]):.2f}) | "
            f"{me[1] / me[2]:.2f}x ({min(ep[1]) / min(ep[2]):.2f}x) | {mw[1]:.2f} ({min(wall[1]):.2f}) | "
            f"{mw[2]:.2f} ({min(wall[2]):.2f}) | {mw[1] / mw[2]:.2f}x ({min(wall[1]) / min(wall[2]):.2f}x) | "
            f"{os.getloadavg()[0]:.1f} |"
        )


def concurrent_pair(case, X, y):
    """Seconds for two T=1 epochs run at once in two threads."""
    out = [None, None]

    def run(i):
        out[i] = epoch(case, X, y, 1, seed=i)

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def inference_rows(report, X, y, rounds):
    """Inference on a team (`_core.evaluate(n_threads=T)`, what SGD's monitoring passes and
    `Network.n_threads` use): seconds of one pass over X (cost and accuracy, as monitoring does),
    T=1 and T=2 interleaved, for the chapter's [784,30,10] and [784,100,10]."""
    from fastnn import _core, _state

    report.say()
    report.say(
        f"Inference on a team: one monitoring pass (summed cost and count correct) over {len(X):,} rows, "
        f"T=1 and T=2 interleaved, {rounds} rounds: best / median ms"
    )
    report.say()
    report.say("| net | dtype | T=1 ms | T=2 ms | T=2 speed-up (median, best) | load |")
    report.say("|---|---|---|---|---|---|")
    for dtype in ("float64", "float32"):
        Xd = np.ascontiguousarray(X, dtype=dtype)
        for sizes in ([784, 30, 10], [784, 100, 10]):
            net = fastnn.Network(sizes, dtype=dtype, seed=0)
            lay, P = _state.layout(net), _state.parameters(net)
            t = _core.Targets(lay, np.asarray(y, dtype=np.intp), None, len(Xd))
            times = {1: [], 2: []}
            for r in range(rounds + 1):
                for T in (1, 2) if r % 2 else (2, 1):
                    t0 = time.perf_counter()
                    _core.evaluate(lay, P, Xd, t, want_cost=True, want_correct=True, n_threads=T)
                    if r:  # (round 0: warm-up)
                        times[T].append(time.perf_counter() - t0)
            b = {T: min(v) * 1e3 for T, v in times.items()}
            m = {T: statistics.median(v) * 1e3 for T, v in times.items()}
            report.say(
                f"| {sizes} | {dtype} | {b[1]:.1f} / {m[1]:.1f} | {b[2]:.1f} / {m[2]:.1f} | "
                f"{m[1] / m[2]:.2f}x, {b[1] / b[2]:.2f}x | {os.getloadavg()[0]:.1f} |"
            )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 rows, 3 rounds, two cases")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--cases", default="all")
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--allow-synthetic", action="store_true")
    ap.add_argument("--out", help="write the markdown table there")
    ap.add_argument("--chunks", type=int, default=200, help="short chunks per setting (0: none)")
    ap.add_argument("--cli-rounds", type=int, default=0, help="rounds of `fastnn train` T=1/T=2 (0: none)")
    ap.add_argument("--cli-epochs", type=int, default=30)
    ap.add_argument("--only-cli", action="store_true", help="only the `fastnn train` rounds")
    ap.add_argument("--inference-rounds", type=int, default=7, help="rounds of inference T=1/T=2 (0: none)")
    ap.add_argument("--only-inference", action="store_true", help="only the inference rounds")
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else 50_000
    repeats = 3 if args.quick else args.repeats
    names = list(CASES) if args.cases == "all" else args.cases.split(",")
    if args.quick and args.cases == "all":
        names = names[:2]
    (Xtr, ytr), _, _, source = load_data(n, allow_synthetic=args.allow_synthetic)
    Xtr, ytr = Xtr[:n], ytr[:n]
    report = Report("threads.py", source, n, repeats)
    say = report.say
    say(
        "| case | dtype | T=1 best / median s | T=2 best / median s | T=2 speed-up (median, best) | "
        "two concurrent T=1: rate vs one | offset X / aligned, T=1 | offset X / aligned, T=2 | "
        "short chunks: T=1 / T=2 µs per mini-batch, fastest (p10) | T=2 speed-up, fastest (p10) | load |"
    )
    say("|---|---|---|---|---|---|---|---|---|---|---|")
    for dtype in [] if args.only_cli or args.only_inference else args.dtypes.split(","):
        X = np.ascontiguousarray(Xtr, dtype=dtype)
        X_off = offset(X)
        assert X_off.ctypes.data % 64 == 16
        for name in names:
            case = CASES[name]
            times = {k: [] for k in ("1", "2", "1off", "2off")}
            settings = [("1", X, 1), ("2", X, 2), ("1off", X_off, 1), ("2off", X_off, 2)]
            for _key, data, T in settings:  # warm-up
                epoch(case, data, ytr, T)
            for r in range(repeats):
                order = settings if r % 2 == 0 else settings[::-1]
                for key, data, T in order:
                    times[key].append(epoch(case, data, ytr, T))
            pair = min(concurrent_pair(case, X, ytr) for _ in range(max(2, repeats // 3)))
            chunks, team = chunk_rates(case, X, ytr, args.chunks) if args.chunks else ({}, None)
            if chunks:
                (f1, p1), (f2, p2) = chunks[1], chunks[2]
                chunk_cols = f"{f1:.1f} ({p1:.1f}) / {f2:.1f} ({p2:.1f}) | {f1 / f2:.2f}x ({p1 / p2:.2f}x)"
                if team == 1:
                    chunk_cols += " (team clamped to 1)"
            else:
                chunk_cols = "– | –"
            med = {k: statistics.median(v) for k, v in times.items()}
            best = {k: min(v) for k, v in times.items()}
            say(
                f"| {name} | {dtype} | {best['1']:.3f} / {med['1']:.3f} | {best['2']:.3f} / {med['2']:.3f} | "
                f"{med['1'] / med['2']:.2f}x, {best['1'] / best['2']:.2f}x | "
                f"{2 * best['1'] / pair:.2f}x | {med['1off'] / med['1']:.3f} | "
                f"{med['2off'] / med['2']:.3f} | {chunk_cols} | "
                f"{os.getloadavg()[0]:.1f} |"
            )
    if args.inference_rounds and not args.only_cli:
        inference_rows(report, Xtr, ytr, 3 if args.quick else args.inference_rounds)
    if args.cli_rounds and not args.only_inference:
        cli_rows(report, args.cli_rounds, args.cli_epochs, args.dtypes.split(","))
    report.finish(args.out)


if __name__ == "__main__":
    main()
