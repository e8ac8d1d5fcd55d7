"""Inference on a team of threads (``_core.evaluate(n_threads=T)``, ``Network.n_threads``, the
monitoring passes of ``SGD(n_threads=T)``): X's row blocks shared out among the threads, each block
fed forward whole by the thread that claims it, the blocks' costs summed in block order.

* Outputs, summed costs and counts are bit-for-bit the same for every T (1, 2, 3, 5), both dtypes,
  every cost/output pairing, a deep net, sparse (MNIST-like) and dense rows, a partial last block.
* The first non-finite row is the one reported, whatever thread met it; no thread outlives a call.
* SGD's monitored costs and accuracies are the same for every T.
"""

import sys
import threading

import numpy as np
import pytest
from conftest import cli_main, task_count

import fastnn
from fastnn import _core, _state

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the team is POSIX threads")

PAIRINGS = [
    dict(),
    dict(cost="log-likelihood", output="softmax"),
    dict(cost="quadratic", hidden="tanh"),
    dict(cost="quadratic", output="linear", hidden="relu"),
]


def _rows(n, d, dtype, sparse, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    if sparse:  # most values zero, as MNIST's: the first layer's sparse product takes these blocks
        X[rng.random((n, d)) < 0.8] = 0.0
    return X.astype(dtype)


def _net(sizes, dtype, seed=2, **kw):
    return fastnn.Network(sizes, dtype=dtype, seed=seed, **kw)


def _evaluate(net, X, y, T, block):
    out = np.empty((len(X), net.sizes[-1]), dtype=net.dtype)
    t = _core.Targets(_state.layout(net), *_targets(net, y), len(X))
    got = _core.evaluate(
        _state.layout(net),
        _state.parameters(net),
        X,
        t,
        out=out,
        want_cost=True,
        want_correct=not (net.sizes[-1] == 1 and net.output == "linear"),
        block=block,
        n_threads=T,
    )
    return got, out


def _targets(net, y):
    if net.output == "linear":
        Y = np.zeros((len(y), net.sizes[-1]), dtype=net.dtype)
        Y[np.arange(len(y)), y] = 1.0
        return None, Y
    return np.asarray(y, dtype=np.intp), None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pairing", range(len(PAIRINGS)))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("sizes", [[64, 30, 10], [50, 40, 30, 10], [20, 10]], ids=str)
def test_every_thread_count_gives_the_same_bits(sizes, sparse, pairing, dtype):
    # 1,003 rows in blocks of 64: 16 blocks, the last one partial (43 rows)
    X = _rows(1003, sizes[0], dtype, sparse)
    y = np.random.default_rng(1).integers(0, sizes[-1], len(X))
    net = _net(sizes, dtype, **PAIRINGS[pairing])
    (cost1, correct1), out1 = _evaluate(net, X, y, 1, block=64)
    for T in (2, 3, 5):
        (cost, correct), out = _evaluate(net, X, y, T, block=64)
        assert out.tobytes() == out1.tobytes(), f"n_threads={T}: outputs differ"
        assert cost == cost1 and correct == correct1, (T, cost, cost1, correct, correct1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_network_methods_on_a_team(dtype):
    X = _rows(2600, 64, dtype, sparse=True)  # three of the default blocks of 1,024 rows
    y = np.random.default_rng(1).integers(0, 10, len(X))
    one = _net([64, 30, 10], dtype)
    team = _net([64, 30, 10], dtype)
    team.n_threads = 3
    assert team.feedforward(X).tobytes() == one.feedforward(X).tobytes()
    assert np.array_equal(team.predict(X), one.predict(X))
    assert team.accuracy(X, y) == one.accuracy(X, y)
    assert team.total_cost(X, y, lmbda=2.0) == one.total_cost(X, y, lmbda=2.0)


@pytest.mark.parametrize("T", [2, 3])
def test_the_first_non_finite_row_is_reported_whatever_thread_met_it(T):
    X = _rows(1003, 20, np.float64, sparse=False)
    X[700, 3] = np.nan  # block 10 of 16
    X[130, 5] = np.inf  # block 2: the first bad row
    X[990, 0] = np.nan
    net = _net([20, 10, 4], np.float64)
    for sparse_below in (0.0, 0.9):  # the dense product's check, the sparse product's
        with pytest.raises(ValueError, match=r"X: contains NaN or infinity \(first at row 130\)"):
            _core.evaluate(
                _state.layout(net),
                _state.parameters(net),
                X,
                block=64,
                check="X",
                sparse_below=sparse_below,
                n_threads=T,
            )
    net.n_threads = T  # predict's blocks of 1,024 rows: three of them here
    with pytest.raises(ValueError, match=r"X: contains NaN or infinity \(first at row 130\)"):
        net.predict(np.tile(X, (3, 1)))


def test_a_bad_thread_count_is_refused():
    net = _net([4, 3, 2], np.float64)
    X = np.zeros((5, 4))
    for bad in (0, -1, 1025):
        with pytest.raises(ValueError, match=r"n_threads: expected a value in \[1, 1024\]"):
            _core.evaluate(_state.layout(net), _state.parameters(net), X, n_threads=bad)
    with pytest.raises(ValueError, match="n_threads"):
        net.n_threads = 0


def test_no_thread_outlives_an_inference_call():
    X = _rows(5000, 64, np.float64, sparse=True)
    net = _net([64, 30, 10], np.float64)
    net.n_threads = 4
    net.predict(X)  # warm-up
    before, tasks = threading.active_count(), task_count()
    net.predict(X)
    bad = X.copy()
    bad[4000, 1] = np.nan
    with pytest.raises(ValueError):
        net.predict(bad)
    assert threading.active_count() == before and task_count() == tasks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_monitoring_is_the_same_for_every_thread_count(dtype):
    rng = np.random.default_rng(4)
    X, y = _rows(2300, 64, dtype, sparse=True), rng.integers(0, 10, 2300)
    Xe, ye = _rows(1100, 64, dtype, sparse=True, seed=5), rng.integers(0, 10, 1100)
    runs = []
    for T in (1, 2, 3):
        net = _net([64, 30, 10], dtype)
        lists = net.SGD(
            (X, y),
            2,
            10,
            0.5,
            1.0,
            evaluation_data=(Xe, ye),
            n_threads=T,
            monitor_evaluation_cost=True,
            monitor_evaluation_accuracy=True,
            monitor_training_cost=True,
            monitor_training_accuracy=True,
        )
        runs.append([list(v) for v in lists])
    assert runs[1] == runs[0] and runs[2] == runs[0]


def test_the_estimators_predict_on_their_n_threads():
    pytest.importorskip("sklearn")
    from fastnn.sklearn import NetworkClassifier

    X = _rows(3000, 16, np.float64, sparse=False)
    y = np.random.default_rng(2).integers(0, 3, len(X))
    fits = [NetworkClassifier((20,), epochs=1, n_threads=T, random_state=0).fit(X, y) for T in (1, 3)]
    assert fits[0].network_.n_threads == 1 and fits[1].network_.n_threads == 3
    assert fits[1].predict_proba(X).tobytes() == fits[0].predict_proba(X).tobytes()
    assert np.array_equal(fits[1].predict(X), fits[0].predict(X))
    assert fits[1].score(X, y) == fits[0].score(X, y)


def test_the_cli_predict_and_evaluate_threads(tmp_path, capsys):
    X = _rows(3000, 64, np.float64, sparse=True)  # three blocks of 1,024 rows
    net = _net([64, 30, 10], np.float64)
    net.save(tmp_path / "m.json")
    np.save(tmp_path / "x.npy", X)
    outs = []
    for T in (1, 3):
        code, out, err = cli_main(
            capsys, "predict", tmp_path / "m.json", "--input", tmp_path / "x.npy", "--scores", "--threads", T
        )
        assert code == 0, err
        outs.append(out)
    assert outs[0] == outs[1] and len(outs[0].splitlines()) == 3000
    evals = [
        cli_main(capsys, "evaluate", tmp_path / "m.json", "--data", "digits", "--threads", T) for T in (1, 2)
    ]
    assert evals[0][0] == 0 and evals[0][1] == evals[1][1]
    for bad in ("0", "1025", "two"):
        code, out, err = cli_main(
            capsys, "predict", tmp_path / "m.json", "--input", tmp_path / "x.npy", "--threads", bad
        )
        assert code == 2 and "--threads" in err, err


def test_inference_uses_at_most_one_thread_per_core(monkeypatch):
    from fastnn import _threads, network

    asked = []
    real = _core.evaluate

    def spy(*args, **kwargs):
        asked.append(kwargs.get("n_threads"))
        return real(*args, **kwargs)

    monkeypatch.setattr(network._core, "evaluate", spy)
    net = _net([64, 30, 10], np.float64)
    net.n_threads = 1024
    net.predict(_rows(3000, 64, np.float64, sparse=True))
    assert asked == [_threads.available_cores()]
