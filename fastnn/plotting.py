"""Learning curves as a PNG: cost and accuracy per epoch, training and evaluation data; and the
figures of chapter 3 that ``fastnn reproduce --figures`` draws (the ``draw_*`` functions, called by
fastnn/reproduce.py with its runs).

Needs matplotlib (``pip install 'fastnn[plot]'``). Uses the Agg canvas directly (no pyplot, no global
backend switch), so it works headless and does not disturb an interactive session.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._typing import PathLike
    from .history import History

__all__ = ["MISSING_MATPLOTLIB", "matplotlib_available", "plot_history", "require_matplotlib"]

MISSING_MATPLOTLIB = (
    "plotting needs matplotlib, which is not installed; install it with: pip install 'fastnn[plot]'"
)


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib() -> None:
    """Raise ``ImportError`` with an installation hint if matplotlib is missing."""
    if not matplotlib_available():
        raise ImportError(MISSING_MATPLOTLIB)


def _get(record, name):
    if isinstance(record, dict):
        return record.get(name)
    return getattr(record, name, None)


def _records(history):
    """A list of per-epoch records (objects or dicts) from a History, its to_dict(), or a list."""
    if isinstance(history, dict):
        return list(history.get("records") or [])
    records = getattr(history, "records", None)
    if records is not None:
        return list(records)
    return list(history)


def _percent(count, n):
    if count is None or not n:
        return None
    return 100.0 * count / n


def _series(records, key, percent_of=None):
    xs, ys = [], []
    for r in records:
        v = _get(r, key)
        if percent_of is not None:
            v = _percent(v, _get(r, percent_of))
        if v is not None:
            xs.append(_get(r, "epoch"))
            ys.append(v)
    return xs, ys


def plot_history(
    history: History,
    path: PathLike | None = None,
    *,
    title: str | None = None,
    evaluation_label: str = "validation",
    dpi: int = 100,
    with_penalty: bool = False,
) -> Any:
    """The learning curves: a matplotlib Figure with two panels, cost per epoch and accuracy (%)
    per epoch; written to ``path`` when given (PNG, or SVG/PDF by the suffix), atomically.

    Series that were not monitored (``None``) are left out; when training cost was not monitored but
    the training loss was tracked, the loss is drawn instead. The Figure displays itself in a
    notebook; it is made without pyplot, so no window opens and no global backend changes.

    Parameters
    ----------
    history : History, dict or list of EpochRecord
        A :class:`~fastnn.History` (``net.history``; ``net.history.plot()`` is a shortcut), its
        ``to_dict()``, or a list of ``EpochRecord`` (or dicts).
    path : str or os.PathLike, optional
        The file to write (PNG, or SVG/PDF by the suffix), atomically; None: nothing written.
    title : str, optional
    evaluation_label : str, default "validation"
        Name of the evaluation data in the legend.
    dpi : int, default 100
    with_penalty : bool, default False
        Also draw network2's cost with the regularization term ½(λ/n)Σw² (dashed). Off by default:
        that term uses each set's own n, so the evaluation curve carries a larger penalty and can
        rise while the accuracy rises, which reads as overfitting when it is not. (A history with
        no data cost, from an older fastnn, is drawn with the term and says so in its legend.)

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ._output_files import atomic_write_bytes

    records = _records(history)
    fig = Figure(figsize=(10, 4), dpi=dpi)
    FigureCanvasAgg(fig)
    ax_cost, ax_acc = fig.subplots(1, 2)

    # Solid: the data cost (mean per-example cost, no regularization term), comparable between the
    # two sets. Dashed: network2's cost with the term ½(λ/n)Σw², whose n is each set's own size
    # (so the evaluation curve carries a larger penalty: it is not a sign of overfitting).
    drawn_cost = 0
    drawn_penalty_only = False  # an old history: network2's cost alone
    colors = {}
    for key, label in (("training", "training"), ("evaluation", evaluation_label)):
        xs, ys = _series(records, f"{key}_data_cost")
        if ys:
            (line,) = ax_cost.plot(xs, ys, marker=".", label=f"{label}: data cost")
            colors[key] = line.get_color()
            drawn_cost += 1
        xs2, ys2 = _series(records, f"{key}_cost")
        if ys2 and (not ys or (with_penalty and any(a != b for a, b in zip(ys, ys2)))):
            ax_cost.plot(
                xs2,
                ys2,
                linestyle="--" if ys else "-",
                marker=".",
                color=colors.get(key),
                label=f"{label}: with penalty (network2)",
            )
            drawn_cost += 1
            drawn_penalty_only = drawn_penalty_only or not ys
        if key == "training" and not ys and not ys2:
            xs, ys = _series(records, "training_loss")
            if ys:
                ax_cost.plot(xs, ys, marker=".", label="training (mean loss during the epoch)")
                drawn_cost += 1
    ax_cost.set_title(
        "cost per example (dashed: + ½(λ/n)Σw², n = each set's size)"
        if with_penalty or drawn_penalty_only
        else "cost per example, without the regularization term"
    )
    ax_cost.set_xlabel("epoch")

    drawn_acc = 0
    for key, n_key, label in (
        ("training_accuracy", "n_training", "training"),
        ("evaluation_accuracy", "n_evaluation", evaluation_label),
    ):
        xs, ys = _series(records, key, n_key)
        if ys:
            ax_acc.plot(xs, ys, marker=".", label=label)
            drawn_acc += 1
    ax_acc.set_title("accuracy (%)")
    ax_acc.set_xlabel("epoch")

    for ax, drawn in ((ax_cost, drawn_cost), (ax_acc, drawn_acc)):
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "not monitored", ha="center", va="center", transform=ax.transAxes)
        if records:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    fig.tight_layout()

    if path is not None:
        suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
        buf = io.BytesIO()
        fig.savefig(buf, format=suffix if suffix in ("svg", "pdf") else "png")
        atomic_write_bytes(path, buf.getvalue())
    return fig


# --------------------------------------------------------------------------------------------------
# the figures of chapter 3 (fastnn reproduce --figures; the runs and series are fastnn/reproduce.py's)
# --------------------------------------------------------------------------------------------------
def _figure(ncols, width_per=5.0, height=3.8, dpi=100):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_per * ncols, height), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, axes


def _one_panel(dpi):
    """A figure of one wide panel: (fig, ax)."""
    fig, axes = _figure(1, width_per=7.0, height=4.2, dpi=dpi)
    return fig, axes[0]


def _save(fig, path, title=None, quick=False, ax=None, **font):
    """Title the figure (or its panel `ax`), marked " — QUICK" for reduced runs, and write the PNG
    atomically."""
    from ._output_files import atomic_write_bytes

    if title is not None:
        (fig.suptitle if ax is None else ax.set_title)(title + (" — QUICK" if quick else ""), **font)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())


def _book_line(ax, value, text, color="gray"):
    ax.axhline(value, color=color, linestyle="--", linewidth=1, label=text)


def draw_slowdown(series, path, dpi=100):
    fig, axes = _figure(2, dpi=dpi)
    for ax, cost in zip(axes, ("quadratic", "cross-entropy")):
        for s in series.values():
            if s["cost"] == cost:
                ax.plot(
                    s["epoch"],
                    s["data_cost"],
                    label=f"start (w, b) = ({s['w0']}, {s['b0']}), a = {s['output_start']:.2f}",
                )
        eta = next(s["eta"] for s in series.values() if s["cost"] == cost)
        ax.set_title(f"{cost} cost, η = {eta}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cost")
        ax.set_ylim(bottom=0)
        if cost == "quadratic":  # between the curves, where neither passes
            ax.legend(fontsize=8, loc="center", bbox_to_anchor=(0.43, 0.42))
        else:
            ax.legend(fontsize=8)
    _save(fig, path, "Learning slowdown (§3.1): one sigmoid neuron, input 1, target 0, 300 epochs")


def draw_softmax(series, path, dpi=100):
    fig, axes = _figure(3, width_per=4.4, dpi=dpi)
    ax = axes[0]
    z = series["z"]
    for j, a in enumerate(series["a"]):
        ax.plot(series["z4"], a, label=f"a{j + 1}" + (" (its own z varies)" if j == 3 else ""))
    ax.plot(series["z4"], series["sum"], "k:", label="a1 + … + a4")
    ax.set_title(f"softmax, z = ({z[0]}, {z[1]}, {z[2]}, z4)", fontsize=10)
    ax.set_xlabel("z4")
    ax.set_ylabel("output activation")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(0.0, 0.47), ncol=2)
    for ax, key, zkey, what in (
        (axes[1], "a_c", "z", "distinct maximum"),
        (axes[2], "a_tie", "z_tie", "tie for the maximum"),
    ):
        zz = series[zkey]
        for j, a in enumerate(series[key]):
            tied = [k for k in range(j) if zz[k] == zz[j]]
            if tied:  # drawn dashed over its twin, which it would hide
                ax.plot(
                    series["c"],
                    a,
                    linestyle=(0, (4, 3)),
                    linewidth=2,
                    label=f"a{j + 1} (z{j + 1} = {zz[j]}, = a{tied[0] + 1})",
                )
            else:
                ax.plot(
                    series["c"],
                    a,
                    linewidth=2.5 if zz.count(zz[j]) > 1 else 1.5,
                    label=f"a{j + 1} (z{j + 1} = {zz[j]})",
                )
        ax.plot(series["c"], series["sum" + key[1:]], "k:", label="sum")
        ax.set_xscale("log")
        ax.set_xlabel("scale c")
        ax.set_ylabel("output activation")
        ax.set_title(f"e^(c·zj) / Σk e^(c·zk): {what}", fontsize=10)
        ax.legend(fontsize=8)
    axes[2].axhline(0.5, color="gray", linestyle="--", linewidth=1)
    _save(
        fig,
        path,
        "Softmax (§3.1.4): monotonic, non-local, sums to 1; c → ∞ gives the maximum (1/2 each on a tie)",
    )


def draw_overfitting(run, path, quick=False, dpi=100):
    import numpy as np

    s = run.series
    epochs = list(range(1, len(s["evaluation_accuracy"]) + 1))
    fig, axes = _figure(4, width_per=3.6, height=3.6, dpi=dpi)
    panels = (
        (axes[0], "training_cost", "cost on the training data", "data cost"),
        (axes[1], "evaluation_accuracy", "accuracy (%) on the test data", "accuracy (%)"),
        (axes[2], "evaluation_cost", "cost on the test data", "data cost"),
        (axes[3], "training_accuracy", "accuracy (%) on the training data", "accuracy (%)"),
    )
    for ax, key, title, ylabel in panels:
        ax.plot(epochs, s[key], label="fastnn")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    _book_line(axes[1], 82.27, "book: 82.27 % (peak)")
    best = int(np.argmin(s["evaluation_cost"]))
    axes[2].axvline(best + 1, color="gray", linestyle=":", label=f"minimum: epoch {best + 1}")
    for ax in axes:
        ax.legend(fontsize=8)
    title = (
        f"Overfitting (§3.2): [784,30,10], large init, first {run.n_training:,} training images, "
        f"{run.epochs} epochs, η = 0.5, λ = 0, {run.n_evaluation:,} test images"
    )
    _save(fig, path, title, quick, fontsize=11)


def draw_regularization(run0, run1, path, quick=False, dpi=100):
    fig, axes = _figure(3, width_per=4.4, dpi=dpi)
    for run, lmbda, color in ((run0, 0.0, "tab:blue"), (run1, 0.1, "tab:orange")):
        s = run.series
        epochs = list(range(1, len(s["evaluation_accuracy"]) + 1))
        axes[0].plot(epochs, s["evaluation_accuracy"], color=color, label=f"test, λ = {lmbda}")
        axes[0].plot(
            epochs,
            s["training_accuracy"],
            color=color,
            linestyle="-.",
            linewidth=1,
            label=f"training, λ = {lmbda}",
        )
        axes[1].plot(epochs, s["evaluation_cost"], color=color, label=f"test, λ = {lmbda}")
        axes[2].plot(epochs, s["training_cost"], color=color, label=f"training, λ = {lmbda}")
    _book_line(axes[0], 82.27, "book: 82.27 % (λ = 0, peak)", "tab:blue")
    _book_line(axes[0], 87.1, "book: 87.1 % (λ = 0.1)", "tab:orange")
    axes[0].set_ylim(60, 101)
    for ax, title, ylabel in (
        (axes[0], "accuracy (%)", "accuracy (%)"),
        (axes[1], "cost on the test data", "data cost (no L2 term)"),
        (axes[2], "cost on the training data", "data cost (no L2 term)"),
    ):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        if ax is axes[0]:  # below the test curves, clear of them after the first epochs
            ax.legend(fontsize=7, loc="lower right", ncol=2)
        else:
            ax.legend(fontsize=8)
    title = (
        f"L2 regularization (§3.2.1): the overfitting run with λ = 0.1 beside λ = 0 "
        f"({run0.n_training:,} images, {run0.epochs} epochs, η = 0.5)"
    )
    _save(fig, path, title, quick, fontsize=11)


def draw_weight_init(series, path, quick=False, dpi=100):
    fig, ax = _one_panel(dpi)
    for key, label in (("default", "weights N(0, 1/n_in) (1/√n_in)"), ("large", "weights N(0, 1)")):
        s = series[key]
        ax.plot(s["epoch"], s["validation_accuracy"], marker=".", label=label)
    ax.plot([1], [93.0], "k^", label="book, epoch 1: ≈ 93 % (1/√n_in)")
    ax.plot([1], [87.0], "kv", label="book, epoch 1: < 87 % (N(0, 1))")
    s = series["default"]
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%)")
    ax.legend(fontsize=8)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    title = (
        f"Weight initialization (§3.3): [784,30,10], η = 0.1, λ = {s['lmbda']:g},\n"
        f"{s['n_training']:,} images, {len(s['epoch'])} epochs"
    )
    _save(fig, path, title, quick, ax, fontsize=10)


def draw_training_size(series, path, quick=False, dpi=100):
    fig, ax = _one_panel(dpi)
    from matplotlib.ticker import FuncFormatter

    ax.plot(series["n"], series["accuracy"], marker="o", label="fastnn, 1/√n_in init")
    ax.plot([50_000], [96.49], "k^", label="book: 96.49 % at 50,000 (large init, λ = 5.0, 30 epochs)")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("training images (log scale)")
    ax.set_ylabel(f"test accuracy (%, {series['n_test']:,} images)")
    ax.legend(fontsize=8, loc="lower right")
    title = "More training data (§3.2.2): [784,30,10], η = 0.5,\nλ = 5.0·n/50,000, " + (
        "50,000/n" if quick else "30·50,000/n"
    )
    _save(fig, path, title + " epochs (the same number of steps)", quick, ax, fontsize=10)
