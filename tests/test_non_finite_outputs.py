"""A network whose output overflows (float32 inputs too large, parameters that blow up) gives a
non-finite output: never counted as a correct prediction (it used to count as class 0). accuracy,
score, predict and `fastnn evaluate/predict` raise/print an error naming how many rows (#23)."""

import numpy as np
import pytest

import fastnn
from fastnn import _state, cli


@pytest.fixture
def overflowing():
    net = fastnn.Network([2, 3, 2], dtype="float32", seed=0, hidden="relu")
    net.weights = [np.full((3, 2), 1e20), np.array([[1e20, 1e20, 1e20], [-1e20, 1e20, -1e20]])]
    X = np.array([[1e-30, 1e-30], [1e30, 1e30], [0.0, 0.0], [3e38, 3e38]], dtype=np.float32)
    return net, X, np.array([0, 0, 1, 0])


def test_non_finite_rows_are_never_counted_correct(overflowing):
    net, X, y = overflowing
    for call in (lambda: net.accuracy(X, y), lambda: net.score(X, y), lambda: net.predict(X)):
        with pytest.raises(ValueError, match=r"2 of 4 rows give a non-finite output .*first: row 1"):
            call()
    ok = [0, 2]
    assert net.accuracy(X[ok], y[ok]) == int(np.sum(net.predict(X[ok]) == y[ok]))
    assert np.isnan(net.feedforward(X)[1]).any()  # feedforward shows the values as they are


def test_finite_results_unchanged_across_blocks():
    """The count is the compiled core's rule, over blocks of rows (here several blocks)."""
    rng = np.random.default_rng(0)
    net = fastnn.Network([5, 7, 3], seed=1)
    X = rng.random((9000, 5))
    y = rng.integers(0, 3, 9000)
    lay, t = _state.layout(net), fastnn._core.Targets(_state.layout(net), y.astype(np.intp), None, len(y))
    _, core_count = fastnn._core.evaluate(
        lay, _state.parameters(net), np.ascontiguousarray(X), t, want_correct=True
    )
    assert net.accuracy(X, y) == int(core_count) == int(np.sum(net.predict(X) == y))
    onehot = np.eye(3)[y]
    assert net.accuracy(X, onehot) == int(core_count)


def test_cli_evaluate_and_predict_print_one_line(overflowing, tmp_path, capsys):
    net, X, y = overflowing
    net.save(tmp_path / "m.json")
    np.savez(tmp_path / "d.npz", X=X, y=y)
    for argv in (
        ["evaluate", str(tmp_path / "m.json"), "--data", str(tmp_path / "d.npz")],
        ["predict", str(tmp_path / "m.json"), "--input", str(tmp_path / "d.npz"), "--key", "X"],
    ):
        code = cli.main(argv)
        err = capsys.readouterr().err
        assert code == 1 and "non-finite output" in err and len(err.strip().splitlines()) == 1, err
