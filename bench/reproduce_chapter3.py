#!/usr/bin/env python
"""Reproduce the MNIST figures of chapter 3 of Nielsen's "Neural Networks and Deep Learning" with fastnn.

    python bench/reproduce_chapter3.py [--quick] [--markdown] [--json FILE] [--out FILE]
                                       [--seeds N] [--rows r1,r2,...] [--data-dir DIR] [--dtype float32]

Every experiment uses the book's settings: cross-entropy cost with sigmoid output neurons (except the
softmax row), sigmoid hidden neurons, mini-batches of 10, MNIST split 50,000 training / 10,000 validation /
10,000 test, λ divided by the training-set size, and -- where the book called
``net.large_weight_initializer()`` -- N(0, 1) weights. Each experiment runs with seeds 0, 1, 2 (``--seeds``)
and the table gives the mean and the range (min-max) over the seeds, next to the book's figure.

"final" is the accuracy after the last epoch (what the book quotes for its 30/60-epoch runs), "peak" the best
epoch (what it quotes for the 1,000-image overfitting runs). Only the accuracy is monitored (evaluation cost
and training figures are not computed), so evaluation stays cheap.

``--quick`` runs a reduced version in a few minutes: one seed, 5 epochs instead of 30, 10 instead of 60,
100 instead of 400 (its figures are NOT comparable to the book's; it checks that everything runs).

MNIST is looked for in ``--data-dir``, then as ``fastnn.data.load_mnist`` does ($FASTNN_DATA, ~/.fastnn/mnist),
then in ``../shared/data/mnist`` next to the repository.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


@dataclass
class Experiment:
    key: str
    label: str              # row text of the table
    book: str               # the book's figure, as printed in the book
    sizes: tuple
    eta: float
    lmbda: float
    epochs: int
    quick_epochs: int
    evaluate_on: str        # "test" | "validation"
    metric: str             # "final" | "peak" | "epoch1"
    weight_init: str = "large"
    cost: str = "cross-entropy"
    train_size: int | None = None
    book_value: float | None = None   # numeric book figure (%) for the difference column
    compare_with: str | None = None   # row printed together with this one ("a vs b")


EXPERIMENTS = [
    Experiment("ce30", "[784,30,10], large N(0,1) init, η=0.5, 30 epochs, test accuracy",
               "95.49 %", (784, 30, 10), 0.5, 0.0, 30, 5, "test", "final", book_value=95.49),
    Experiment("ce100", "[784,100,10], large init, η=0.5, 30 epochs, test accuracy",
               "96.82 %", (784, 100, 10), 0.5, 0.0, 30, 5, "test", "final", book_value=96.82),
    Experiment("overfit", "[784,30,10], first 1,000 training images, 400 epochs, η=0.5, λ=0: "
               "peak test accuracy", "82.27 %", (784, 30, 10), 0.5, 0.0, 400, 100, "test", "peak",
               train_size=1000, book_value=82.27),
    Experiment("overfit-l2", "same with λ=0.1", "87.1 %", (784, 30, 10), 0.5, 0.1, 400, 100, "test",
               "peak", train_size=1000, book_value=87.1),
    Experiment("l2-30", "[784,30,10], large init, η=0.5, λ=5.0, 30 epochs, test accuracy", "96.49 %",
               (784, 30, 10), 0.5, 5.0, 30, 5, "test", "final", book_value=96.49),
    Experiment("l2-100", "[784,100,10], large init, η=0.5, λ=5.0, 30 epochs, validation accuracy",
               "97.92 %", (784, 100, 10), 0.5, 5.0, 30, 5, "validation", "final", book_value=97.92),
    Experiment("l2-100-60", "[784,100,10], large init, η=0.1, λ=5.0, 60 epochs, validation accuracy",
               "98.04 %", (784, 100, 10), 0.1, 5.0, 60, 10, "validation", "final", book_value=98.04),
    Experiment("init-new", "[784,30,10], η=0.1, λ=5.0: validation accuracy after epoch 1, "
               "1/√n_in init vs large init", "≈ 93 % vs < 87 %", (784, 30, 10), 0.1, 5.0, 1, 1,
               "validation", "epoch1", weight_init="default", compare_with="init-large"),
    Experiment("init-large", "(large init, epoch 1)", "< 87 %", (784, 30, 10), 0.1, 5.0, 1, 1,
               "validation", "epoch1", weight_init="large"),
    Experiment("softmax", "softmax + log-likelihood, [784,30,10], 1/√n_in init, η=0.5, λ=5.0, "
               "30 epochs, test accuracy", "(no book figure)", (784, 30, 10), 0.5, 5.0, 30, 5, "test",
               "final", weight_init="default", cost="log-likelihood"),
]


@dataclass
class Run:
    key: str
    seed: int
    epochs: int
    final: float            # accuracy (%) after the last epoch
    peak: float             # best epoch's accuracy (%)
    peak_epoch: int
    seconds: float          # wall time of the SGD call (training + per-epoch accuracy)
    train_seconds: float    # sum of the epochs' training time (EpochRecord.seconds)
    curve: list = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
def find_mnist_dir(data_dir):
    from fastnn.data import find_mnist

    if data_dir is not None:
        directory, reason = find_mnist(data_dir)
        return directory, reason
    directory, reason = find_mnist(None)
    if directory is not None:
        return directory, reason
    directory, reason2 = find_mnist(SHARED_MNIST)
    if directory is not None:
        return directory, f"MNIST found in {directory} (next to the repository)"
    return None, reason


def run_experiment(exp: Experiment, seed: int, epochs: int, data, dtype, n_threads) -> Run:
    import fastnn

    (X, y), validation, test = data
    if exp.train_size is not None:
        X, y = X[:exp.train_size], y[:exp.train_size]
    evaluation = test if exp.evaluate_on == "test" else validation
    n_eval = len(evaluation[1])
    net = fastnn.Network(list(exp.sizes), cost=exp.cost, weight_init=exp.weight_init, dtype=dtype, seed=seed)
    t0 = time.perf_counter()
    _, accuracies, _, _ = net.SGD((X, y), epochs, 10, exp.eta, lmbda=exp.lmbda, evaluation_data=evaluation,
                                  monitor_evaluation_accuracy=True, n_threads=n_threads)
    seconds = time.perf_counter() - t0
    curve = [100.0 * a / n_eval for a in accuracies]
    best = int(np.argmax(curve))
    return Run(exp.key, seed, epochs, curve[-1], curve[best], best + 1, seconds,
               sum(r.seconds for r in net.history.records), curve)


def _value(run: Run, metric: str) -> float:
    return run.peak if metric == "peak" else run.final  # epoch1: a 1-epoch run's final


def _summary(values):
    if not values:
        return "—"
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.2f} %"
    return f"{mean:.2f} % [{min(values):.2f}–{max(values):.2f}]"


def build_rows(experiments, runs, quick):
    """[(experiment, book, fastnn, peak-or-note, seconds per run)] for the table."""
    by_key = {}
    for r in runs:
        by_key.setdefault(r.key, []).append(r)
    exp_by_key = {e.key: e for e in experiments}
    rows = []
    skip = {e.compare_with for e in experiments if e.compare_with and e.compare_with in by_key}
    for exp in experiments:
        if exp.key in skip or exp.key not in by_key:
            continue
        rs = by_key[exp.key]
        epochs = rs[0].epochs
        label = exp.label
        if quick and epochs != exp.epochs:
            label += f" — QUICK: {epochs} epochs"
        values = [_value(r, exp.metric) for r in rs]
        fastnn_text = _summary(values)
        seconds = statistics.fmean(r.seconds for r in rs)
        if exp.metric == "final":
            extra = _summary([r.peak for r in rs]) + " (epoch " + ", ".join(str(r.peak_epoch) for r in rs) + ")"
        elif exp.metric == "peak":
            extra = "peak at epoch " + ", ".join(str(r.peak_epoch) for r in rs)
        else:
            extra = ""
        if exp.compare_with and exp.compare_with in by_key:
            other = exp_by_key[exp.compare_with]
            ors = by_key[other.key]
            fastnn_text = f"{_summary(values)} vs {_summary([_value(r, other.metric) for r in ors])}"
            seconds = statistics.fmean(r.seconds for r in rs) + statistics.fmean(r.seconds for r in ors)
            extra = "both runs: 1 epoch"
        diff = ""
        if exp.book_value is not None and not (quick and epochs != exp.epochs):
            diff = f"{statistics.fmean(values) - exp.book_value:+.2f}"
        rows.append((label, exp.book, fastnn_text, diff, extra, f"{seconds:.1f} s",
                     str(len(rs))))
    return rows


HEADER = ("Experiment (book's settings)", "Book", "fastnn: mean [min–max]", "Δ vs book", "Peak / note",
          "Time per run", "Seeds")


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * len(HEADER)) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def text_table(rows):
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in rows)) if rows else len(HEADER[i])
              for i in range(len(HEADER))]
    widths[0] = min(widths[0], 70)
    out = []
    for row in [HEADER] + rows:
        cells = []
        for i, c in enumerate(row):
            if i == 0 and len(c) > widths[0]:
                c = c[: widths[0] - 1] + "…"
            cells.append(c.ljust(widths[i]))
        out.append("  ".join(cells).rstrip())
        if row is HEADER:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def machine_info(dtype, n_threads):
    import fastnn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    blas = "?"
    try:
        from threadpoolctl import threadpool_info

        info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
                         f"{i.get('num_threads')} threads)" for i in info) or "?"
    except Exception:  # noqa: BLE001 - informational only
        pass
    commit = "?"
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu": cpu, "cores": cores, "python": platform.python_version(), "numpy": np.__version__,
        "blas": blas, "fastnn": fastnn.__version__, "commit": commit, "dtype": np.dtype(dtype).name,
        "n_threads": "automatic" if n_threads is None else n_threads,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": _loadavg(),
    }


def _loadavg():
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "?"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one seed and fewer epochs (a few minutes)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per experiment (default 3; 1 with --quick)")
    p.add_argument("--rows", default=None, help="comma-separated experiment keys: "
                   + ",".join(e.key for e in EXPERIMENTS))
    p.add_argument("--markdown", action="store_true", help="print the table as markdown")
    p.add_argument("--json", metavar="FILE", help="write every run (per-epoch accuracies included) as JSON")
    p.add_argument("--out", metavar="FILE", help="write a markdown report (table + machine) to FILE")
    p.add_argument("--data-dir", default=None, help="directory with the four MNIST IDX files")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: fastnn's automatic)")
    args = p.parse_args(argv)

    from fastnn.data import load_mnist

    directory, reason = find_mnist_dir(args.data_dir)
    if directory is None:
        print(f"reproduce_chapter3: MNIST not found; pass --data-dir DIR or set FASTNN_DATA.\n{reason}",
              file=sys.stderr)
        return 1
    dtype = np.dtype(args.dtype)
    experiments = EXPERIMENTS
    if args.rows:
        wanted = [k.strip() for k in args.rows.split(",") if k.strip()]
        unknown = sorted(set(wanted) - {e.key for e in EXPERIMENTS})
        if unknown:
            p.error(f"unknown --rows {', '.join(unknown)}; choose from {', '.join(e.key for e in EXPERIMENTS)}")
        experiments = [e for e in EXPERIMENTS if e.key in wanted]
    n_seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    seeds = list(range(n_seeds))

    t_load = time.perf_counter()
    data = load_mnist(directory, dtype=dtype)
    print(f"# {reason.splitlines()[0]}; loaded in {time.perf_counter() - t_load:.1f} s", file=sys.stderr)

    load_start = _loadavg()
    runs = []
    total = len(experiments) * len(seeds)
    start = time.perf_counter()
    i = 0
    for seed in seeds:          # seed-major: a partial run still covers every row
        for exp in experiments:
            i += 1
            epochs = exp.quick_epochs if args.quick else exp.epochs
            r = run_experiment(exp, seed, epochs, data, dtype, args.threads)
            runs.append(r)
            print(f"# [{i}/{total}] {exp.key} seed {seed}: final {r.final:.2f} %, peak {r.peak:.2f} % "
                  f"(epoch {r.peak_epoch}/{epochs}), {r.seconds:.1f} s "
                  f"(training {r.train_seconds:.1f} s)", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - start

    rows = build_rows(experiments, runs, args.quick)
    info = machine_info(dtype, args.threads)
    table = markdown_table(rows) if args.markdown else text_table(rows)
    print(table)
    print(f"\nTotal {elapsed / 60:.1f} min on {info['cpu']} ({info['cores']} cores), {info['blas']}; "
          f"fastnn {info['fastnn']} ({info['commit']}), {info['dtype']}.")

    if args.out:
        mode = "QUICK (reduced epochs, one seed: not comparable to the book)" if args.quick else "full"
        report = [
            "# Chapter 3 of *Neural Networks and Deep Learning*, reproduced with fastnn",
            "",
            f"`python bench/reproduce_chapter3.py {' '.join(sys.argv[1:] if argv is None else argv)}` — {mode}.",
            "",
            "Book settings throughout: cross-entropy + sigmoid output (softmax + log-likelihood in the last row), "
            "sigmoid hidden neurons, mini-batch 10, MNIST 50,000 / 10,000 / 10,000, λ divided by the "
            "training-set size, N(0, 1) \"large\" weights where the book calls `large_weight_initializer()`. "
            f"Seeds {', '.join(map(str, seeds))} (initialization and shuffling); mean and [min–max] over them. "
            "\"Peak / note\" gives the best epoch's accuracy for rows whose book figure is the final one. "
            "Time per run = wall time of one `SGD` call, including the per-epoch accuracy evaluation. "
            "The book's figures come from single runs, so a difference within the seeds' range is noise.",
            "",
            markdown_table(rows),
            "",
            "Machine:",
            "",
            f"- CPU: {info['cpu']}, {info['cores']} cores available (`nproc`)",
            f"- BLAS: {info['blas']}; fastnn threads: {info['n_threads']}",
            f"- Python {info['python']}, NumPy {info['numpy']}, fastnn {info['fastnn']} (commit {info['commit']}), "
            f"{info['dtype']}",
            f"- {info['date']}; total {elapsed / 60:.1f} min for {len(runs)} runs; load average at the start "
            f"{load_start}, at the end {info['load_average']} (1/5/15 min; other work on the machine slows "
            "the times, not the accuracies)",
            "",
        ]
        if args.json:
            at = report.index("Machine:")
            report[at:at] = [f"Every run's per-epoch accuracies: `{Path(args.json).name}`.", ""]
        Path(args.out).write_text("\n".join(report), encoding="utf-8")
        print(f"# wrote {args.out}", file=sys.stderr)
    if args.json:
        payload = {"machine": info, "quick": args.quick, "seeds": seeds, "elapsed_seconds": elapsed,
                   "experiments": [asdict(e) for e in experiments], "runs": [asdict(r) for r in runs]}
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
        print(f"# wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
