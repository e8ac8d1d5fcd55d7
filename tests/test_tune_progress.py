"""`fastnn tune` says what it is doing (issue #24): -v prints a line per epoch of every trial, and
--plot's figures name the objective (validation accuracy in percent, as printed), keep the log
axes' tick labels apart and let no matplotlib warning through."""

import re
import warnings

import pytest

from fastnn import cli

pytest.importorskip("optuna")
pytestmark = pytest.mark.usefixtures("no_mnist")


def test_verbose_prints_every_epoch(capsys):
    code = cli.main(
        ["tune", "--data", "digits", "--trials", "2", "--epochs", "3", "--seed", "1", "-v", "--no-progress"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = re.findall(r"^  trial +(\d+)  epoch +(\d+) +[\d.]+ %  eta [\d.]+", out, re.M)
    assert [(int(t), int(e)) for t, e in lines] == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)] or len(
        lines
    ) >= 4
    code = cli.main(
        ["tune", "--data", "digits", "--trials", "1", "--epochs", "2", "--seed", "1", "--no-progress"]
    )
    out, _ = capsys.readouterr()
    assert code == 0 and "  epoch " not in out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_plots_name_the_objective_and_leak_no_warning(tmp_path, capsys, seed):
    pytest.importorskip("matplotlib")
    import fastnn.tune as ft

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        code = cli.main(
            ["tune", "--data", "digits", "--trials", "6", "--epochs", "2", "--seed", "1", "-q",
             "--no-progress", "--space", "mini_batch_size=20,20", "--plot", str(tmp_path / "p")]
        )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [
        "history.png",
        "importances.png",
        "slice.png",
    ]

    # the axes themselves, through a small study
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(
        lambda t: (
            t.suggest_float("eta", 1e-3, 10, log=True) * 0 + t.suggest_int("width", 14, 93, log=True) / 100
        ),
        n_trials=8,
    )
    from matplotlib.figure import Figure

    captured = {}
    real_savefig = Figure.savefig

    def spy(fig, *a, **k):
        captured.setdefault("figs", []).append(fig)
        return real_savefig(fig, *a, **k)

    Figure.savefig = spy
    try:
        (tmp_path / "q").mkdir()
        ft.plot_study(study, tmp_path / "q", metric="accuracy")
    finally:
        Figure.savefig = real_savefig
    history, _importances, sl = captured["figs"]
    ax = history.axes[0]
    assert ax.get_ylabel() == "validation accuracy" and ax.yaxis.get_major_formatter()(0.5, 0) == "50%"
    assert "validation accuracy" in [t.get_text() for t in ax.get_legend().get_texts()]
    width_ax = next(a for a in sl.axes if a.get_xlabel() == "width")
    sl.canvas.draw()
    labels = [t.get_text() for t in width_ax.get_xticklabels() if t.get_text()]
    assert labels and len(labels) <= 4, labels  # labelled, not crowded
    eta_ax = next(a for a in sl.axes if a.get_xlabel() == "eta")
    lo, hi = sorted(eta_ax.get_xlim())
    inside = [t for t in eta_ax.get_xticklabels() if t.get_text() and lo <= t.get_position()[0] <= hi]
    assert 2 <= len(inside) <= 4, [t.get_text() for t in inside]
