"""Divergence: the training stops with the epoch and advice, keeping the last finite epoch's
parameters (the initial ones in the first epoch); the command line reports it in one line.
"""

import re

import numpy as np
import pytest

import fastnn
from fastnn import _state


def _diverging(**kwargs):
    rng = np.random.default_rng(3)
    X = rng.random((40, 4))
    y = rng.random((40, 2)) * 10
    net = fastnn.Network([4, 6, 2], cost="quadratic", output="linear", hidden="relu", seed=4)
    ends = [_state.parameters(net).copy()]

    def remember(rec):
        ends.append(_state.parameters(net).copy())

    with pytest.raises(FloatingPointError) as info:
        net.SGD((X, y), 50, 4, 1e6, callback=remember, **kwargs)
    return net, ends, str(info.value), (X, y)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"monitor_training_cost": True},
        {"track_loss": True},
        {"momentum": 0.9},
        {"shuffle": False, "lmbda": 1.0},
    ],
    ids=["plain", "monitor-cost", "track-loss", "momentum", "l2"],
)
def test_divergence_stops_with_epoch_and_advice_and_keeps_last_finite_epoch(kwargs):
    net, ends, msg, (X, y) = _diverging(**kwargs)
    m = re.search(r"diverged in epoch (\d+)", msg)
    assert m, msg
    epoch = int(m.group(1))
    assert "smaller eta" in msg and "eta=1e+06" in msg
    assert f"reset to the end of epoch {epoch - 1}" in msg
    assert len(net.history.records) == epoch - 1 == len(ends) - 1
    assert np.array_equal(_state.parameters(net), ends[-1])  # the last finite epoch, exactly
    assert np.all(np.isfinite(_state.parameters(net)))
    if _state.velocity(net) is not None:
        assert np.all(np.isfinite(_state.velocity(net)))
    net.SGD((X, y), 2, 4, 1e-4)  # and training can go on
    assert np.all(np.isfinite(_state.parameters(net)))


def test_divergence_in_the_first_epoch_restores_the_initial_parameters():
    net = fastnn.Network([2, 1], cost="quadratic", output="linear", seed=0)
    initial = _state.parameters(net).copy()
    rng = np.random.default_rng(0)
    X = rng.random((40, 2)) * 1e3
    with pytest.raises(FloatingPointError, match=r"epoch 1 .*smaller eta"):
        net.SGD((X, rng.random((40, 1))), 3, 1, 1e10)
    assert net.history.records == []
    assert np.array_equal(_state.parameters(net), initial)


def test_cli_reports_divergence_and_bad_input_in_one_line(tmp_path, capsys):
    from fastnn import cli

    model = tmp_path / "m.json"
    code = cli.main(
        [
            "train",
            "--data",
            "digits",
            "--cost",
            "quadratic",
            "--output",
            "linear",
            "--eta",
            "1e6",
            "--epochs",
            "2",
            "--train-size",
            "300",
            "-q",
            "--save",
            str(model),
        ]
    )
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILURE
    assert "Traceback" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("fastnn: error:")]
    assert len(line) == 1 and "diverged in epoch" in line[0] and "smaller eta" in line[0], err
    assert not model.exists()
    # a NaN in the input of `predict` is refused, naming the option
    fastnn.Network([64, 10], seed=0).save(model)
    bad = tmp_path / "bad.npy"
    X = np.zeros((3, 64))
    X[1, 5] = np.nan
    np.save(bad, X)
    code = cli.main(["predict", str(model), "--input", str(bad)])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("fastnn: error: --input"), err
