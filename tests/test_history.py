"""The history's costs: network2's (with the regularization term) next to the data cost without it."""

import numpy as np
import pytest
from conftest import classification_data

import fastnn


def _data(n=30, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


def test_history_records_the_data_cost_next_to_network2s_cost():
    X, y = _data(n=40)
    Xe, ye = _data(n=10, seed=1)
    lmbda = 0.5
    net = fastnn.Network([4, 5, 3], seed=0)
    ec, _ea, tc, _ta = net.SGD(
        (X, y),
        2,
        5,
        0.5,
        lmbda,
        evaluation_data=(Xe, ye),
        monitor_evaluation_cost=True,
        monitor_training_cost=True,
    )
    rec = net.history.records[-1]
    sq = sum(float(np.sum(w * w)) for w in net.weights)
    assert rec.training_data_cost == pytest.approx(net.total_cost(X, y))
    assert rec.evaluation_data_cost == pytest.approx(net.total_cost(Xe, ye))
    assert rec.training_cost == pytest.approx(rec.training_data_cost + 0.5 * lmbda / 40 * sq)
    assert rec.evaluation_cost == pytest.approx(rec.evaluation_data_cost + 0.5 * lmbda / 10 * sq)
    assert tc[-1] == rec.training_cost and ec[-1] == rec.evaluation_cost  # network2's lists
    d = net.history.to_dict()["records"][-1]
    assert d["training_data_cost"] == rec.training_data_cost
    assert fastnn.History.from_dict(net.history.to_dict()).records[-1] == rec


def test_data_cost_is_none_when_not_monitored():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 1, 5, 0.5, evaluation_data=(X, y), monitor_evaluation_accuracy=True)
    rec = net.history.records[0]
    assert rec.training_data_cost is None and rec.evaluation_data_cost is None


def test_cli_epoch_lines_label_both_costs(capsys):
    from fastnn.cli.train import _cost_text

    assert _cost_text(0.3, 0.5) == " cost 0.3000 (with penalty 0.5000)"
    assert _cost_text(0.3, 0.3) == " cost 0.3000"
    assert _cost_text(None, 0.5) == " cost 0.5000"
