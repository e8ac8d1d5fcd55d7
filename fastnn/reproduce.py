"""Chapter 3 of *Neural Networks and Deep Learning*, reproduced: the MNIST results table and the
chapter's figures, redrawn from fastnn runs (``fastnn reproduce``).

    fastnn reproduce [--quick] [--figures DIR] [--markdown FILE] [--json FILE] [--seeds N] [--data-dir D]

The table: every experiment with the book's settings — cross-entropy cost with sigmoid outputs (softmax
+ log-likelihood in its own row), sigmoid hidden neurons, mini-batches of 10, MNIST 50,000 training /
10,000 validation / 10,000 test, λ divided by the training-set size, N(0, 1) weights where the book
called ``net.large_weight_initializer()`` — for seeds 0, 1, 2; the mean and range over the seeds next to
the book's figure. "final" is the accuracy after the last epoch, "peak" the best epoch.

The figures (``--figures DIR``: one PNG and the JSON of its series each; matplotlib needed):
``learning-slowdown``, ``overfitting``, ``regularization``, ``weight-init``, ``training-size``,
``softmax`` — see FIGURES; drawn by the ``draw_*`` functions of :mod:`fastnn.plotting`. Costs are the
data cost (mean cost per example, without the L2 term).

``--quick`` (about half a minute) runs one seed of reduced versions — at most 10,000 training images
(λ scaled to keep λ/n), 2,000 evaluation images, fewer epochs — whose numbers are NOT comparable to the
book's; it checks that everything runs and that every figure shows the chapter's effect. Without MNIST
only the figures that need no data are made (learning-slowdown, softmax).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

#: Figures written by ``--figures DIR`` (file stem -> what it shows); the first two need no data.
FIGURES = {
    "learning-slowdown": "one sigmoid neuron, input 1, target 0: cost per epoch from (w, b) = (0.6, 0.9) "
    "and (2.0, 2.0), quadratic cost (η = 0.15) vs cross-entropy (η = 0.005)",
    "softmax": "softmax outputs as one weighted input varies, and with a growing scale c",
    "overfitting": "[784,30,10], first 1,000 training images, 400 epochs, η = 0.5: training cost, test "
    "accuracy, test cost, training accuracy per epoch",
    "regularization": "the same run with λ = 0.1 beside λ = 0",
    "weight-init": "validation accuracy per epoch, 1/√n_in vs N(0, 1) initialisation, [784,30,10], "
    "η = 0.1, λ = 5.0, 30 epochs",
    "training-size": "test accuracy against the number of training images (100 … 50,000)",
}
NO_DATA_FIGURES = ("learning-slowdown", "softmax")

FULL_TRAIN = 50_000
QUICK_TRAIN = 10_000  # --quick: training images at most (λ scaled by n / 50,000)
QUICK_EVAL = 2_000  # --quick: evaluation images
TRAINING_SIZES = (100, 300, 1_000, 3_000, 10_000, 30_000, 50_000)
QUICK_TRAINING_SIZES = (100, 1_000, 10_000)


@dataclass
class Experiment:
    key: str
    label: str  # row text of the table
    book: str  # the book's figure, as printed in the book
    sizes: tuple
    eta: float
    lmbda: float
    epochs: int
    quick_epochs: int
    evaluate_on: str  # "test" | "validation"
    metric: str  # "final" | "peak" | "epoch1"
    weight_init: str = "large"
    cost: str = "cross-entropy"
    train_size: int | None = None
    book_value: float | None = None  # numeric book figure (%) for the difference column
    compare_with: str | None = None  # row printed together with this one ("a vs b")


_OVERFIT = Experiment(
    "overfit",
    "[784,30,10], first 1,000 training images, 400 epochs, η=0.5, λ=0: peak test accuracy",
    "82.27 %",
    (784, 30, 10),
    0.5,
    0.0,
    400,
    60,
    "test",
    "peak",
    train_size=1000,
    book_value=82.27,
)
_L2_30 = Experiment(
    "l2-30",
    "[784,30,10], large init, η=0.5, λ=5.0, 30 epochs, test accuracy",
    "96.49 %",
    (784, 30, 10),
    0.5,
    5.0,
    30,
    1,
    "test",
    "final",
    book_value=96.49,
)
_INIT_NEW = Experiment(
    "init-new",
    "[784,30,10], η=0.1, λ=5.0: validation accuracy after epoch 1, 1/√n_in init vs large init",
    "≈ 93 % vs < 87 %",
    (784, 30, 10),
    0.1,
    5.0,
    1,
    1,
    "validation",
    "epoch1",
    weight_init="default",
    compare_with="init-large",
)
# The table's rows; a row that is another row with one change is written as that change.
EXPERIMENTS = [
    Experiment(
        "ce30",
        "[784,30,10], large N(0,1) init, η=0.5, 30 epochs, test accuracy",
        "95.49 %",
        (784, 30, 10),
        0.5,
        0.0,
        30,
        1,
        "test",
        "final",
        book_value=95.49,
    ),
    Experiment(
        "ce100",
        "[784,100,10], large init, η=0.5, 30 epochs, test accuracy",
        "96.82 %",
        (784, 100, 10),
        0.5,
        0.0,
        30,
        1,
        "test",
        "final",
        book_value=96.82,
    ),
    _OVERFIT,
    replace(_OVERFIT, key="overfit-l2", label="same with λ=0.1", book="87.1 %", lmbda=0.1, book_value=87.1),
    _L2_30,
    Experiment(
        "l2-100",
        "[784,100,10], large init, η=0.5, λ=5.0, 30 epochs, validation accuracy",
        "97.92 %",
        (784, 100, 10),
        0.5,
        5.0,
        30,
        1,
        "validation",
        "final",
        book_value=97.92,
    ),
    Experiment(
        "l2-100-60",
        "[784,100,10], large init, η=0.1, λ=5.0, 60 epochs, validation accuracy",
        "98.04 %",
        (784, 100, 10),
        0.1,
        5.0,
        60,
        2,
        "validation",
        "final",
        book_value=98.04,
    ),
    _INIT_NEW,
    replace(
        _INIT_NEW,
        key="init-large",
        label="(large init, epoch 1)",
        book="< 87 %",
        weight_init="large",
        compare_with=None,
    ),
    replace(
        _L2_30,
        key="softmax",
        label="softmax + log-likelihood, [784,30,10], 1/√n_in init, η=0.5, λ=5.0, 30 epochs, test accuracy",
        book="(no book figure)",
        weight_init="default",
        cost="log-likelihood",
        book_value=None,
    ),
]
EXPERIMENT_KEYS = tuple(e.key for e in EXPERIMENTS)


@dataclass
class Run:
    key: str
    seed: int
    epochs: int
    n_training: int
    n_evaluation: int
    lmbda: float
    final: float  # accuracy (%) after the last epoch
    peak: float  # best epoch's accuracy (%)
    peak_epoch: int
    seconds: float  # wall time of the SGD call (training + per-epoch monitoring)
    train_seconds: float  # sum of the epochs' training time (EpochRecord.seconds)
    curve: list = field(default_factory=list)  # evaluation accuracy (%) per epoch
    series: dict = field(default_factory=dict)  # every monitored figure per epoch (figure runs)


# --------------------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------------------
class _Reporter:
    """One line per experiment on stderr; a bar over the experiments when stderr is a terminal."""

    def __init__(self, total, stream=None, bar=None):
        self.stream = stream or sys.stderr
        self.total, self.done = total, 0
        self.bar = None
        if bar is None:
            bar = hasattr(self.stream, "isatty") and self.stream.isatty()
        if bar and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="exp", file=self.stream, leave=False, dynamic_ncols=True)

    def line(self, text):
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def step(self, text):
        self.done += 1
        self.line(f"# [{self.done}/{self.total}] {text}")
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _data_cost_tracker(net, data, name, lmbda):
    """Per-epoch data cost (mean cost per example, no L2 term) of `data`, read from the epoch record
    when fastnn records it (``<name>_data_cost``), from the monitored cost when λ = 0 (the same
    number), else computed with ``net.total_cost(X, y)`` after the epoch."""
    X, y = data
    values = []

    def after_epoch(rec):
        value = getattr(rec, f"{name}_data_cost", None)
        if value is None:
            value = getattr(rec, f"{name}_cost") if lmbda == 0 else None
        if value is None:
            value = net.total_cost(X, y)
        values.append(float(value))

    return values, after_epoch


def run_experiment(
    exp: Experiment,
    seed: int,
    data,
    *,
    quick=False,
    dtype=np.float64,
    n_threads=None,
    monitor_all=False,
    epochs=None,
) -> Run:
    """Train one experiment of the table. ``monitor_all``: also record the training and evaluation
    cost (data cost) and the training accuracy per epoch (what the figures draw)."""
    from .network import Network

    (X, y), validation, test = data
    n_full = len(X)
    train_size = exp.train_size or n_full
    if quick:
        train_size = min(train_size, QUICK_TRAIN)
    X, y = X[:train_size], y[:train_size]
    evaluation = test if exp.evaluate_on == "test" else validation
    if quick:
        evaluation = (evaluation[0][:QUICK_EVAL], evaluation[1][:QUICK_EVAL])
    # λ is divided by the training-set size in the update; keep the book's λ/n when --quick trims n.
    lmbda = exp.lmbda * train_size / min(exp.train_size or n_full, n_full)
    epochs = epochs or (exp.quick_epochs if quick else exp.epochs)
    n_eval = len(evaluation[1])
    net = Network(list(exp.sizes), cost=exp.cost, weight_init=exp.weight_init, dtype=dtype, seed=seed)
    callbacks = []
    series = {}
    if monitor_all:
        train_cost, cb1 = _data_cost_tracker(net, (X, y), "training", lmbda)
        eval_cost, cb2 = _data_cost_tracker(net, evaluation, "evaluation", lmbda)
        callbacks = [cb1, cb2]
        series = {"training_cost": train_cost, "evaluation_cost": eval_cost}

    def callback(rec):
        for cb in callbacks:
            cb(rec)

    t0 = time.perf_counter()
    monitor_cost = monitor_all and lmbda == 0
    _, accuracies, _, train_acc = net.SGD(
        (X, y),
        epochs,
        10,
        exp.eta,
        lmbda=lmbda,
        evaluation_data=evaluation,
        monitor_evaluation_accuracy=True,
        monitor_evaluation_cost=monitor_cost,
        monitor_training_cost=monitor_cost,
        monitor_training_accuracy=monitor_all,
        callback=callback if callbacks else None,
        n_threads=n_threads,
    )
    seconds = time.perf_counter() - t0
    curve = [100.0 * a / n_eval for a in accuracies]
    if monitor_all:
        series["evaluation_accuracy"] = curve
        series["training_accuracy"] = [100.0 * a / len(X) for a in train_acc]
    best = int(np.argmax(curve))
    history = net.history
    assert history is not None
    train_seconds = float(sum(r.seconds for r in history.records))
    return Run(
        exp.key,
        seed,
        epochs,
        len(X),
        n_eval,
        lmbda,
        curve[-1],
        curve[best],
        best + 1,
        seconds,
        train_seconds,
        curve,
        series,
    )


def slowdown_series(epochs=300):
    """The single sigmoid neuron of section 3.1 (input 1, target 0): cost per epoch (epoch 0 = start)
    for each start (w, b) and cost. Quadratic: η = 0.15; cross-entropy: η = 0.005 (the book's)."""
    from .network import Network

    out = {}
    X, y = np.array([[1.0]]), np.array([[0.0]])
    for cost, eta in (("quadratic", 0.15), ("cross-entropy", 0.005)):
        for w, b in ((0.6, 0.9), (2.0, 2.0)):
            net = Network([1, 1], cost=cost)
            net.weights, net.biases = [np.array([[w]])], [np.array([b])]
            start_cost, start_out = net.total_cost(X, y), float(net.feedforward(X)[0, 0])
            _, _, costs, _ = net.SGD((X, y), epochs, 1, eta, monitor_training_cost=True)
            out[f"{cost} ({w}, {b})"] = {
                "cost": cost,
                "eta": eta,
                "w0": w,
                "b0": b,
                "epoch": list(range(epochs + 1)),
                "data_cost": [float(start_cost)] + [float(c) for c in costs],
                "output_start": start_out,
                "output_end": float(net.feedforward(X)[0, 0]),
            }
    return out


def softmax_series():
    """Softmax of z = (2.5, −1, 3.2, 0.5) (the book's interactive example) as z₄ sweeps −5 … 5; and
    softmax with a scale c for that z and for one with a tie for the maximum (Problem: c → ∞)."""
    from ._core import softmax

    z0 = np.array([2.5, -1.0, 3.2, 0.5])
    sweep = np.linspace(-5.0, 5.0, 201)
    Z = np.repeat(z0[None, :], len(sweep), axis=0)
    Z[:, 3] = sweep
    A = softmax(Z)
    cs = np.logspace(-2, 2, 161)
    tie = np.array([2.5, -1.0, 3.2, 3.2])
    A_c = np.array([softmax(z0, c=c) for c in cs])
    A_tie = np.array([softmax(tie, c=c) for c in cs])
    return {
        "z": z0.tolist(),
        "z4": sweep.tolist(),
        "a": A.T.tolist(),
        "sum": A.sum(axis=1).tolist(),
        "c": cs.tolist(),
        "a_c": A_c.T.tolist(),
        "sum_c": A_c.sum(axis=1).tolist(),
        "z_tie": tie.tolist(),
        "a_tie": A_tie.T.tolist(),
        "sum_tie": A_tie.sum(axis=1).tolist(),
    }


def training_size_series(data, *, quick=False, dtype=np.float64, n_threads=None, seed=0, report=None):
    """Test accuracy of [784,30,10] (1/√n_in init, η = 0.5, cross-entropy) against the training-set
    size n: as the book, λ = 5.0·n/50,000 and 30·50,000/n epochs (the same number of mini-batch steps
    and weight decay for every n; --quick: 1·50,000/n epochs)."""
    from .network import Network

    (X, y), _, (Xt, yt) = data
    if quick:
        Xt, yt = Xt[:QUICK_EVAL], yt[:QUICK_EVAL]
    sizes = [n for n in (QUICK_TRAINING_SIZES if quick else TRAINING_SIZES) if n <= len(X)]
    budget = 1 if quick else 30
    out = {"n": [], "accuracy": [], "epochs": [], "lmbda": [], "seconds": [], "n_test": len(yt)}
    for n in sizes:
        epochs = max(1, round(budget * FULL_TRAIN / n))
        lmbda = 5.0 * n / FULL_TRAIN
        net = Network([784, 30, 10], seed=seed, dtype=dtype)
        t0 = time.perf_counter()
        net.SGD((X[:n], y[:n]), epochs, 10, 0.5, lmbda=lmbda, n_threads=n_threads)
        acc = 100.0 * net.accuracy(Xt, yt) / len(yt)
        for k, v in (
            ("n", n),
            ("accuracy", acc),
            ("epochs", epochs),
            ("lmbda", lmbda),
            ("seconds", time.perf_counter() - t0),
        ):
            out[k].append(v)
        if report is not None:
            report(
                f"training-size n={n:,}: {epochs} epochs, λ={lmbda:g}: test accuracy {acc:.2f} %, "
                f"{out['seconds'][-1]:.1f} s"
            )
    return out


def weight_init_series(data, *, quick=False, dtype=np.float64, n_threads=None, seed=0, report=None):
    """Validation accuracy per epoch of [784,30,10], η = 0.1, λ = 5.0, 30 epochs, for the 1/√n_in and
    the N(0, 1) initialisation (--quick: 10,000 images, λ = 1.0, 4 epochs, 2,000 validation images)."""
    out = {}
    for key, init in (("default", "default"), ("large", "large")):
        exp = Experiment(
            f"init-{init}", "", "", (784, 30, 10), 0.1, 5.0, 30, 4, "validation", "final", weight_init=init
        )
        r = run_experiment(exp, seed, data, quick=quick, dtype=dtype, n_threads=n_threads)
        out[key] = {
            "epoch": list(range(1, r.epochs + 1)),
            "validation_accuracy": r.curve,
            "n_training": r.n_training,
            "n_validation": r.n_evaluation,
            "lmbda": r.lmbda,
            "seconds": r.seconds,
        }
        if report is not None:
            report(
                f"weight-init {init}: validation accuracy {r.curve[0]:.2f} % after epoch 1, "
                f"{r.final:.2f} % after epoch {r.epochs}, {r.seconds:.1f} s"
            )
    return out


# --------------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------------
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
    """[(experiment, book, fastnn, Δ, peak-or-note, seconds per run, seeds)] for the table."""
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
        reduced = quick and (epochs != exp.epochs or rs[0].n_training != (exp.train_size or FULL_TRAIN))
        values = [_value(r, exp.metric) for r in rs]
        fastnn_text = _summary(values)
        seconds = statistics.fmean(r.seconds for r in rs)
        if exp.metric == "final":
            peak_epochs = ", ".join(str(r.peak_epoch) for r in rs)
            extra = f"{_summary([r.peak for r in rs])} (epoch {peak_epochs})"
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
        if exp.book_value is None:
            diff = "(none)"
        elif reduced:
            diff = "n/a (quick)"
        else:
            diff = f"{statistics.fmean(values) - exp.book_value:+.2f}"
        if reduced:  # the reduction in the note column: the experiment's name stays whole
            quick_note = f"QUICK: {epochs} epoch{'s' if epochs != 1 else ''}, {rs[0].n_training:,} images"
            extra = f"{quick_note}; {extra}" if extra else quick_note
        rows.append((label, exp.book, fastnn_text, diff, extra, f"{seconds:.1f} s", str(len(rs))))
    return rows


#: printed above the table of a --quick run
QUICK_NOTE = (
    "QUICK: reduced runs (at most {train:,} training and {eval:,} evaluation images, a few epochs, one "
    "seed; see the note column): the fastnn column is NOT comparable to the book's, which are full "
    "runs, and Δ is given for full runs only."
)


def commit_text(info):
    """'fastnn 0.2.0 (f68bbd0)', or 'fastnn 0.2.0' when no git checkout says which commit."""
    commit = info.get("commit")
    return f"fastnn {info['fastnn']}" + (f" ({commit})" if commit and commit != "?" else "")


HEADER = (
    "Experiment (book's settings)",
    "Book",
    "fastnn: mean [min–max]",
    "Δ vs book",
    "Peak / note",
    "Time per run",
    "Seeds",
)


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] * len(HEADER)) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def text_table(rows, first_width=56):
    """The table as text; a long experiment name wraps onto more lines (never cut)."""
    import textwrap

    wrapped = [[textwrap.wrap(r[0], first_width) or [""], *r[1:]] for r in rows]
    widths = [
        max(len(HEADER[i]), *(max(map(len, r[0])) if i == 0 else len(r[i]) for r in wrapped))
        if rows
        else len(HEADER[i])
        for i in range(len(HEADER))
    ]
    out = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for name_lines, *rest in wrapped:
        for k, name in enumerate(name_lines):
            cells = [name, *(rest if k == 0 else [""] * len(rest))]
            out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
    return "\n".join(out)


def _loadavg():
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "?"


def machine_info(dtype=np.float64, n_threads=None):
    from ._version import __version__

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
        blas = (
            ", ".join(
                f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
                f"{i.get('num_threads')} threads)"
                for i in info
            )
            or "?"
        )
    except Exception:  # noqa: BLE001 - informational only
        pass
    commit = "?"
    try:
        repo = Path(__file__).resolve().parents[1]
        if (repo / ".git").exists():
            commit = (
                subprocess.run(
                    ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                    check=False,
                ).stdout.strip()
                or "?"
            )
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu": cpu,
        "cores": cores,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "fastnn": __version__,
        "commit": commit,
        "dtype": np.dtype(dtype).name,
        "n_threads": "automatic" if n_threads is None else n_threads,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": _loadavg(),
    }


# --------------------------------------------------------------------------------------------------
# the whole reproduction
# --------------------------------------------------------------------------------------------------
def find_data(data_dir=None):
    """(directory or None, one-line reason) for MNIST: ``data_dir``, else fastnn.data's lookup."""
    from .data import find_mnist

    directory, reason = find_mnist(data_dir)
    lines = [ln.strip() for ln in reason.splitlines() if ln.strip()]
    head = lines[0] if lines else "MNIST not found"
    return directory, head.replace(" Looked in:", "").rstrip(".: ")


def reproduce(
    *,
    quick=False,
    figures=None,
    markdown=None,
    json_file=None,
    seeds=None,
    data_dir=None,
    rows=None,
    dtype=np.float64,
    n_threads=None,
    stream=None,
    bar=None,
    command=None,
    print_markdown=False,
    out=None,
    dpi=100,
):
    """Run the chapter's experiments (and, with ``figures=DIR``, its figures). Returns the payload
    written by ``json_file``: machine, settings, runs, figure series and the table rows.

    ``out``: where the table goes (stdout); ``stream``: the progress lines (stderr)."""
    out = out or sys.stdout
    stream = stream or sys.stderr
    dtype = np.dtype(dtype)
    experiments = EXPERIMENTS if rows is None else [e for e in EXPERIMENTS if e.key in rows]
    n_seeds = seeds if seeds is not None else (1 if quick else 3)
    seed_list = list(range(n_seeds))
    figures = Path(figures) if figures is not None else None
    if figures is not None:
        from .plotting import require_matplotlib

        require_matplotlib()
        figures.mkdir(parents=True, exist_ok=True)

    directory, reason = find_data(data_dir)
    data = None
    if directory is None:
        print(
            f"# {reason}: making only what needs no data ({', '.join(NO_DATA_FIGURES)} figures with "
            f"--figures); to get MNIST: fastnn download mnist, or pass --data-dir DIR / set FASTNN_DATA",
            file=stream,
            flush=True,
        )
    else:
        from .data import load_mnist

        t = time.perf_counter()
        data = load_mnist(directory, dtype=dtype)
        print(f"# {reason}; loaded in {time.perf_counter() - t:.1f} s", file=stream, flush=True)

    # figure runs among the table's experiments: the seed-0 overfitting runs monitor everything
    fig_keys = ("overfit", "overfit-l2") if figures is not None and data is not None else ()
    table_jobs = [(seed, e) for seed in seed_list for e in experiments] if data is not None else []
    extra_jobs = [e for e in EXPERIMENTS if e.key in fig_keys and e not in experiments]
    n_figure_steps = 0
    if figures is not None:
        n_figure_steps = 2 + (
            0 if data is None else 2 + len(QUICK_TRAINING_SIZES if quick else TRAINING_SIZES)
        )
    reporter = _Reporter(len(table_jobs) + len(extra_jobs) + n_figure_steps, stream, bar)
    load_start = _loadavg()
    start = time.perf_counter()
    runs, figure_runs, series = [], {}, {}
    try:
        if figures is not None:
            t = time.perf_counter()
            series["learning-slowdown"] = slowdown_series()
            s = series["learning-slowdown"]
            reporter.step(
                "learning-slowdown: cost after 50 epochs, start → "
                + ", ".join(f"{k}: {v['data_cost'][0]:.3f} → {v['data_cost'][50]:.3f}" for k, v in s.items())
                + f" ({time.perf_counter() - t:.1f} s)"
            )
            series["softmax"] = softmax_series()
            worst = max(np.abs(np.array(series["softmax"][k]) - 1).max() for k in ("sum", "sum_c", "sum_tie"))
            reporter.step(f"softmax: outputs sum to 1 within {worst:.1e}")
        for seed, exp in table_jobs + [(0, e) for e in extra_jobs]:
            monitor = seed == 0 and exp.key in fig_keys
            r = run_experiment(
                exp, seed, data, quick=quick, dtype=dtype, n_threads=n_threads, monitor_all=monitor
            )
            if monitor:
                figure_runs[exp.key] = r
            if exp in experiments:
                runs.append(r)
            reporter.step(
                f"{exp.key} seed {seed}: final {r.final:.2f} %, peak {r.peak:.2f} % "
                f"(epoch {r.peak_epoch}/{r.epochs}), {r.seconds:.1f} s "
                f"(training {r.train_seconds:.1f} s)"
            )
        if figures is not None and data is not None:
            series["weight-init"] = weight_init_series(
                data, quick=quick, dtype=dtype, n_threads=n_threads, report=reporter.step
            )
            series["training-size"] = training_size_series(
                data, quick=quick, dtype=dtype, n_threads=n_threads, report=reporter.step
            )
            for key, name in (("overfit", "overfitting"), ("overfit-l2", "regularization-l2")):
                r = figure_runs[key]
                series[name] = {
                    "epoch": list(range(1, r.epochs + 1)),
                    "n_training": r.n_training,
                    "n_test": r.n_evaluation,
                    "lmbda": r.lmbda,
                    "eta": 0.5,
                    **r.series,
                }
    finally:
        reporter.close()
    elapsed = time.perf_counter() - start

    written = []
    if figures is not None:
        written += _write_figures(figures, series, figure_runs, quick, dpi)
        print(f"# wrote {len(written) // 2} figures (PNG + JSON) to {figures}", file=stream, flush=True)

    table_rows = build_rows(experiments, runs, quick) if runs else []
    info = machine_info(dtype, n_threads)
    if table_rows:
        if quick:
            print(QUICK_NOTE.format(train=QUICK_TRAIN, eval=QUICK_EVAL) + "\n", file=out)
        print(markdown_table(table_rows) if print_markdown else text_table(table_rows), file=out)
        print(
            f"\nTotal {elapsed / 60:.1f} min on {info['cpu']} ({info['cores']} cores), {info['blas']}; "
            f"{commit_text(info)}, {info['dtype']}.",
            file=out,
            flush=True,
        )
    payload = {
        "machine": info,
        "quick": quick,
        "seeds": seed_list,
        "elapsed_seconds": elapsed,
        "data": reason,
        "experiments": [asdict(e) for e in experiments],
        "runs": [asdict(r) for r in runs],
        "table": [dict(zip(HEADER, r)) for r in table_rows],
        "figures": series,
    }
    if markdown is not None:
        from ._output_files import atomic_write_text

        atomic_write_text(
            markdown,
            _report(
                command,
                quick,
                seed_list,
                table_rows,
                info,
                elapsed,
                load_start,
                json_file,
                written,
                reason,
                data is not None,
            ),
        )
        print(f"# wrote {markdown}", file=stream, flush=True)
    if json_file is not None:
        from ._output_files import atomic_write_text

        atomic_write_text(json_file, json.dumps(payload, indent=1, allow_nan=False))
        print(f"# wrote {json_file}", file=stream, flush=True)
    return payload


def _write_figures(directory, series, figure_runs, quick, dpi):
    from ._output_files import atomic_write_text
    from .plotting import (
        draw_overfitting,
        draw_regularization,
        draw_slowdown,
        draw_softmax,
        draw_training_size,
        draw_weight_init,
    )

    written = []

    def put(name, drawer, *args, data=None):
        path = directory / f"{name}.png"
        drawer(
            *args, path, **({"quick": quick} if drawer not in (draw_slowdown, draw_softmax) else {}), dpi=dpi
        )
        atomic_write_text(
            directory / f"{name}.json",
            json.dumps(
                {"figure": name, "what": FIGURES[name], "quick": quick, "series": data},
                indent=1,
                allow_nan=False,
            ),
        )
        written.extend([path, directory / f"{name}.json"])

    put("learning-slowdown", draw_slowdown, series["learning-slowdown"], data=series["learning-slowdown"])
    put("softmax", draw_softmax, series["softmax"], data=series["softmax"])
    if "overfit" in figure_runs:
        put("overfitting", draw_overfitting, figure_runs["overfit"], data=series["overfitting"])
        put(
            "regularization",
            draw_regularization,
            figure_runs["overfit"],
            figure_runs["overfit-l2"],
            data={"lambda=0": series["overfitting"], "lambda=0.1": series["regularization-l2"]},
        )
        put("weight-init", draw_weight_init, series["weight-init"], data=series["weight-init"])
        put("training-size", draw_training_size, series["training-size"], data=series["training-size"])
    return written


def _report(command, quick, seeds, rows, info, elapsed, load_start, json_file, written, reason, has_data):
    mode = "QUICK (reduced runs, one seed: not comparable to the book)" if quick else "full"
    lines = [
        "# Chapter 3 of *Neural Networks and Deep Learning*, reproduced with fastnn",
        "",
        f"`{command or 'fastnn reproduce'}` — {mode}.",
        "",
    ]
    if has_data:
        lines += [
            (
                "Book settings throughout: cross-entropy + sigmoid output (softmax + log-likelihood in the "
                "last row), sigmoid hidden neurons, mini-batch 10, MNIST 50,000 / 10,000 / 10,000, λ divided "
                'by the training-set size, N(0, 1) "large" weights where the book calls '
                "`large_weight_initializer()`. "
                f"Seeds {', '.join(map(str, seeds))} (initialization and shuffling); mean and [min–max] over "
                'them. "Peak / note" gives the best epoch\'s accuracy for rows whose book figure is the '
                "final one. Time per run = wall time of one `SGD` call, including the per-epoch accuracy "
                "evaluation. The book's figures come from single runs, so a difference within the seeds' "
                "range is noise."
            ),
            "",
            *([QUICK_NOTE.format(train=QUICK_TRAIN, eval=QUICK_EVAL), ""] if quick else []),
            markdown_table(rows),
            "",
        ]
    else:
        lines += [f"{reason}: no table (it needs MNIST).", ""]
    if written:
        lines += [
            "Figures: "
            + ", ".join(f"`{p.name}`" for p in written if p.suffix == ".png")
            + " (each with the JSON of its series).",
            "",
        ]
    if json_file:
        lines += [f"Every run's per-epoch figures: `{Path(json_file).name}`.", ""]
    lines += [
        "Machine:",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores available",
        f"- BLAS: {info['blas']}; fastnn threads: {info['n_threads']}",
        (f"- Python {info['python']}, NumPy {info['numpy']}, {commit_text(info)}, {info['dtype']}"),
        (
            f"- {info['date']}; total {elapsed / 60:.1f} min; load average at the start {load_start}, at the "
            f"end {info['load_average']} (1/5/15 min; other work on the machine slows the times, not the "
            "accuracies)"
        ),
        "",
    ]
    return "\n".join(lines)
