"""Learning curves as a PNG: cost and accuracy per epoch, training and evaluation data.

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
