"""`train --plot` (issue #24): network2's cost with the regularization term (whose n is each set's own
size, so the validation curve can rise while the accuracy rises, which reads as overfitting) is drawn
only when asked (`with_penalty=True`, `--plot-penalty`), labelled; the data cost always."""

import pytest
from conftest import classification_data

import fastnn
from fastnn import cli
from fastnn.plotting import plot_history

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def history():
    X, y = classification_data(80)
    net = fastnn.Network([4, 6, 3], seed=0)
    net.SGD(
        (X[:60], y[:60]), 3, 10, 0.5, lmbda=5.0, evaluation_data=(X[60:], y[60:]),
        monitor_evaluation_cost=True, monitor_training_cost=True,
    )  # fmt: skip
    return net.history


def _labels(fig):
    return fig.axes[0].get_legend_handles_labels()[1]


def test_penalty_curves_only_when_asked(history):
    plain = _labels(plot_history(history))
    assert plain == ["training: data cost", "validation: data cost"]
    assert "without the regularization term" in plot_history(history).axes[0].get_title()
    both = _labels(plot_history(history, with_penalty=True))
    assert both == [
        "training: data cost",
        "training: with penalty (network2)",
        "validation: data cost",
        "validation: with penalty (network2)",
    ]
    assert "½(λ/n)Σw², n = each set's size" in plot_history(history, with_penalty=True).axes[0].get_title()


def test_old_history_without_data_cost_says_what_it_draws(history):
    d = history.to_dict()
    for r in d["records"]:
        r.pop("training_data_cost"), r.pop("evaluation_data_cost")
    fig = plot_history(d)
    assert _labels(fig) == ["training: with penalty (network2)", "validation: with penalty (network2)"]
    assert "½(λ/n)Σw²" in fig.axes[0].get_title()


def test_cli_plot_penalty_needs_plot(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["train", "--data", "digits", "--epochs", "1", "--plot-penalty"])
    assert code == 2 and "--plot-penalty is for --plot" in capsys.readouterr().err
