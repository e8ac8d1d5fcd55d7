"""The public Network API: construction, parameters, data forms, monitoring, schedules, learning."""

import copy
import inspect
import pickle

import numpy as np
import pytest
from conftest import assert_unchanged, run_python, snapshot

import fastnn
from fastnn import _state
from fastnn.reference import ReferenceNetwork


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    return rng.random((60, 5)), rng.integers(0, 3, 60)


def test_version_and_public_names():
    assert isinstance(fastnn.__version__, str) and fastnn.__version__
    from fastnn.costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
    from fastnn.network import Network

    # the top-level names are the real objects, not look-alikes
    assert fastnn.Network is Network and callable(fastnn.load)
    assert (fastnn.QuadraticCost, fastnn.CrossEntropyCost, fastnn.LogLikelihoodCost) == (
        QuadraticCost,
        CrossEntropyCost,
        LogLikelihoodCost,
    )
    public = {"Network", "QuadraticCost", "CrossEntropyCost", "LogLikelihoodCost", "load"}
    assert public <= set(fastnn.__all__)


def test_shapes_and_default_initialisation():
    net = fastnn.Network([784, 30, 10], seed=1)
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.biases] == [(30,), (10,)]
    assert net.cost is fastnn.CrossEntropyCost and net.output == "sigmoid"
    assert np.std(net.weights[0]) == pytest.approx(1 / np.sqrt(784), rel=0.05)
    assert np.std(net.biases[0]) == pytest.approx(1.0, rel=0.4)
    large = fastnn.Network([784, 30, 10], weight_init="large", seed=1)
    assert np.std(large.weights[0]) == pytest.approx(1.0, rel=0.05)
    relu = fastnn.Network([784, 30, 10], hidden="relu", seed=1)
    assert np.std(relu.weights[0]) == pytest.approx(np.sqrt(2 / 784), rel=0.05)


def test_seed_reproducibility(toy):
    a, b, c = (fastnn.Network([5, 4, 3], seed=s) for s in (7, 7, 8))
    assert np.array_equal(_state.parameters(a), _state.parameters(b)) and not np.array_equal(
        _state.parameters(a), _state.parameters(c)
    )
    a.SGD(toy, 2, 6, 0.5)
    b.SGD(toy, 2, 6, 0.5)
    assert np.array_equal(_state.parameters(a), _state.parameters(b))


@pytest.mark.parametrize(
    "cost,output,want_cost,want_output",
    [
        ("quadratic", None, fastnn.QuadraticCost, "sigmoid"),
        (fastnn.QuadraticCost, "linear", fastnn.QuadraticCost, "linear"),
        ("log-likelihood", None, fastnn.LogLikelihoodCost, "softmax"),
        (fastnn.LogLikelihoodCost, "softmax", fastnn.LogLikelihoodCost, "softmax"),
        ("cross-entropy", "sigmoid", fastnn.CrossEntropyCost, "sigmoid"),
        (None, None, fastnn.CrossEntropyCost, "sigmoid"),
    ],
)
def test_cost_names_and_classes(cost, output, want_cost, want_output):
    """A name or a class gives that class; the output layer defaults to the cost's natural one."""
    net = fastnn.Network([3, 2], **({} if cost is None else {"cost": cost}), output=output)
    assert net.cost is want_cost
    assert net.output == want_output


def test_parameters_are_assignable_and_validated():
    net = fastnn.Network([3, 4, 2], seed=0)
    W = [np.ones((4, 3)), np.full((2, 4), 2.0)]
    net.weights = W
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, W))
    net.biases = [np.zeros((4, 1)), [1.0, 2.0]]  # network2 column vectors and lists
    assert np.array_equal(net.biases[1], [1.0, 2.0])
    before = _state.parameters(net).copy()
    with pytest.raises(ValueError, match=r"weights\[1\]: expected shape \(2, 4\), got \(4, 2\)"):
        net.weights = [np.ones((4, 3)), np.ones((4, 2))]
    with pytest.raises(ValueError, match="expected 2 arrays, got 1"):
        net.biases = [np.zeros(4)]
    with pytest.raises(ValueError, match="NaN"):
        net.weights = [np.ones((4, 3)), np.full((2, 4), np.nan)]
    assert np.array_equal(_state.parameters(net), before)


def test_network2_list_data_equals_arrays(toy):
    X, y = toy
    pairs = [(x.reshape(-1, 1), np.eye(3)[t].reshape(-1, 1)) for x, t in zip(X, y)]  # training form
    eval_pairs = [(x.reshape(-1, 1), int(t)) for x, t in zip(X, y)]  # evaluation form
    a = fastnn.Network([5, 4, 3], seed=3)
    b = fastnn.Network([5, 4, 3], seed=3)
    monitor = dict(monitor_evaluation_accuracy=True, monitor_training_cost=True)
    ra = a.SGD(pairs, 2, 7, 0.5, 0.1, evaluation_data=eval_pairs, **monitor)
    rb = b.SGD((X, y), 2, 7, 0.5, 0.1, evaluation_data=(X, y), **monitor)
    assert np.array_equal(_state.parameters(a), _state.parameters(b))
    assert ra == rb
    assert a.accuracy(eval_pairs) == b.accuracy(X, y)


def test_sgd_returns_network2_lists_and_history(toy):
    X, y = toy
    net = fastnn.Network([5, 6, 3], seed=1)
    ec, ea, tc, ta = net.SGD(
        (X, y),
        3,
        10,
        0.5,
        1.0,
        evaluation_data=(X[:20], y[:20]),
        monitor_evaluation_cost=True,
        monitor_evaluation_accuracy=True,
        monitor_training_cost=True,
        monitor_training_accuracy=True,
        track_loss=True,
    )
    assert len(ec) == len(ea) == len(tc) == len(ta) == 3
    assert all(isinstance(v, int) for v in ea + ta)
    assert all(isinstance(v, float) for v in ec + tc)
    h = net.history
    assert [r.epoch for r in h.records] == [1, 2, 3] and h.stop_reason == "completed"
    assert h.column("training_cost") == tc and h.column("evaluation_accuracy") == ea
    assert all(r.seconds > 0 and r.examples_per_second > 0 and r.eta == 0.5 for r in h.records)
    assert all(r.training_loss > 0 for r in h.records)
    assert tc[-1] == pytest.approx(net.total_cost(X, y, 1.0))
    d = h.to_dict()
    assert fastnn.History.from_dict(d).to_dict() == d
    assert h.best_epoch == int(np.argmax(ea)) + 1


def test_monitoring_matches_the_reference(toy):
    X, y = toy
    net = fastnn.Network([5, 6, 3], seed=2)
    ref = ReferenceNetwork(net.sizes, net.weights, net.biases, net.cost, net.output, net.hidden)
    net.SGD((X, y), 1, 10, 0.5, 2.0, shuffle=False)
    ref.SGD((X, y), 1, 10, 0.5, 2.0)
    assert net.total_cost(X, y, 2.0) == pytest.approx(ref.total_cost(X, y, 2.0), rel=1e-10)
    assert net.accuracy(X, y) == ref.accuracy(X, y)
    assert np.array_equal(net.predict(X), ref.feedforward(X).argmax(axis=1))


def test_defaults_reproduce_plain_sgd_exactly(toy):
    """The chapter-3 keywords at their defaults change nothing."""
    X, y = toy
    a = fastnn.Network([5, 6, 3], seed=4)
    b = fastnn.Network([5, 6, 3], seed=4)
    a.SGD((X, y), 3, 8, 0.5, 1.0)
    keywords = inspect.signature(fastnn.Network.SGD).parameters.values()
    defaults = {p.name: p.default for p in keywords if p.kind is p.KEYWORD_ONLY}
    assert {"regularization", "momentum", "dropout", "early_stopping", "eta_schedule"} <= set(defaults)
    b.SGD((X, y), 3, 8, 0.5, 1.0, **defaults)  # every keyword given, at its default
    assert np.array_equal(_state.parameters(a), _state.parameters(b))


def test_feedforward_in_blocks_equals_one_block():
    rng = np.random.default_rng(3)
    net = fastnn.Network([7, 9, 4], cost="log-likelihood", seed=0)
    X = rng.random((2500, 7))
    full = net.feedforward(X)
    ref = ReferenceNetwork(net.sizes, net.weights, net.biases, net.cost, net.output).feedforward(X)
    np.testing.assert_allclose(full, ref, rtol=1e-12)
    np.testing.assert_allclose(full.sum(axis=1), 1)


def test_float32_is_kept_end_to_end(toy):
    X, y = toy
    net = fastnn.Network([5, 4, 3], dtype="float32", seed=0)
    net.SGD((X, y), 1, 5, 0.5)
    assert _state.parameters(net).dtype == np.float32 and net.feedforward(X).dtype == np.float32
    assert all(w.dtype == np.float32 for w in net.weights)


def test_pickle_round_trip(toy):
    X, y = toy
    net = fastnn.Network([5, 4, 3], cost="log-likelihood", hidden="tanh", seed=0)
    net.SGD((X, y), 2, 5, 0.5, momentum=0.5)
    clone = pickle.loads(pickle.dumps(net))
    assert np.array_equal(clone.feedforward(X), net.feedforward(X))
    clone.weights[0][0, 0] = 123.0  # views alias the clone's own buffer
    assert _state.parameters(clone)[0] == 123.0 and _state.parameters(net)[0] != 123.0
    # training continues identically (generator and velocity travel along)
    twin = copy.deepcopy(net)
    net.SGD((X, y), 1, 5, 0.5, momentum=0.5)
    twin.SGD((X, y), 1, 5, 0.5, momentum=0.5)
    assert np.array_equal(_state.parameters(net), _state.parameters(twin))


def test_regression_with_linear_output():
    rng = np.random.default_rng(1)
    X = rng.random((400, 2))
    y = (X @ np.array([1.5, -2.0]) + 0.3).reshape(-1, 1)
    net = fastnn.Network([2, 10, 1], cost="quadratic", output="linear", seed=0)
    first = net.total_cost(X, y)
    net.SGD((X, y[:, 0]), 200, 10, 0.05)  # 1-D targets for one output
    assert net.total_cost(X, y) < 0.01 * first


# ---- schedules and early stopping ---------------------------------------------------------------


def _plateau_data():
    rng = np.random.default_rng(5)
    X = rng.random((200, 4))
    y = rng.integers(0, 2, 200)  # pure noise: validation never improves long
    return (X[:150], y[:150]), (X[150:], y[150:])


def test_early_stopping_keeps_the_best_parameters():
    train, valid = _plateau_data()
    net = fastnn.Network([4, 8, 2], seed=0)
    snapshots = {}
    net.SGD(
        train,
        100,
        10,
        2.0,
        evaluation_data=valid,
        monitor_evaluation_accuracy=True,
        early_stopping=3,
        callback=lambda r: snapshots.__setitem__(r.epoch, _state.parameters(net).copy()),
    )
    h = net.history
    assert h.stop_reason == "early-stopping"
    assert len(h.records) == h.best_epoch + 3
    accs = h.column("evaluation_accuracy")
    assert accs[h.best_epoch - 1] == max(accs)
    assert h.restored_best and np.array_equal(_state.parameters(net), snapshots[h.best_epoch])
    assert net.accuracy(*valid) == max(accs)


def test_eta_schedule_halves_and_stops_at_the_floor():
    train, valid = _plateau_data()
    net = fastnn.Network([4, 8, 2], seed=0)
    net.SGD(train, 1000, 10, 1.0, evaluation_data=valid, eta_schedule=2, min_eta_ratio=1 / 8)
    h = net.history
    etas = h.column("eta")
    assert h.stop_reason == "eta-floor"
    assert etas[0] == 1.0 and sorted(set(etas), reverse=True) == [1.0, 0.5, 0.25]
    assert all(a >= b for a, b in zip(etas, etas[1:]))


def test_callback_can_stop_training(toy):
    net = fastnn.Network([5, 4, 3], seed=0)
    net.SGD(toy, 10, 5, 0.5, callback=lambda r: r.epoch < 2)
    assert len(net.history.records) == 2 and net.history.stop_reason == "callback"


def test_schedules_need_evaluation_data(toy):
    net = fastnn.Network([5, 4, 3], seed=0)
    with pytest.raises(ValueError, match="evaluation_data"):
        net.SGD(toy, 3, 5, 0.5, early_stopping=2)


def test_progress_bar_runs(toy, capsys):
    """One bar on stderr counting mini-batches over the whole run (60 rows / 5 = 12 a epoch);
    nothing on stdout, and nothing at all with progress=False."""
    net = fastnn.Network([5, 4, 3], seed=0)
    net.SGD(toy, 2, 5, 0.5, progress=True)
    assert len(net.history.records) == 2
    out, err = capsys.readouterr()
    assert out == ""
    last = err.rstrip().split("\r")[-1]
    assert "epoch 2/2" in last and "24/24" in last and "batch/s" in last, last
    assert "epoch 1/2" in err and "/24" in err.split("\r")[1]
    net.SGD(toy, 1, 5, 0.5, progress=False)
    assert capsys.readouterr() == ("", "")


# ---- learning -----------------------------------------------------------------------------------


def test_digits_reaches_90_percent(digits):
    (X, y), (_Xv, _yv), (Xt, yt) = digits
    net = fastnn.Network([64, 30, 10], seed=0)
    net.SGD((X, y), 8, 10, 1.0, lmbda=1.0)
    assert net.accuracy(Xt, yt) / len(Xt) > 0.90


@pytest.mark.slow  # an MNIST training
@pytest.mark.mnist
def test_mnist_reaches_92_percent_in_3_epochs(mnist):
    (X, y), _, (Xt, yt) = mnist
    net = fastnn.Network([784, 30, 10], cost="cross-entropy", seed=1)
    net.SGD((X, y), 3, 10, 0.5)
    assert net.accuracy(Xt, yt) / len(Xt) > 0.92


@pytest.mark.mnist
@pytest.mark.slow
def test_l2_beats_overfitting_on_1000_images(mnist):
    """Chapter 3's overfitting experiment in miniature: 1,000 training images, the same epochs;
    L2 (λ = 0.1) generalises better than no regularization (large N(0, 1) init, as the book's run;
    measured: 77.0 % vs 80.8 % mean over 3 seeds on 5,000 test images)."""
    (X, y), _, (Xt, yt) = mnist
    X, y = X[:1000], y[:1000]
    Xt, yt = Xt[:5000], yt[:5000]
    accs = {}
    for lmbda in (0.0, 0.1):
        runs = []
        for seed in (1, 2):
            net = fastnn.Network([784, 30, 10], cost="cross-entropy", weight_init="large", seed=seed)
            net.SGD((X, y), 150, 10, 0.5, lmbda=lmbda)
            runs.append(net.accuracy(Xt, yt) / len(Xt))
        accs[lmbda] = np.mean(runs)
    assert accs[0.1] > accs[0.0], accs


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_nan_in_training_x_is_found_in_the_compiled_loop_and_changes_nothing(shuffle, momentum):
    """X is checked for NaN/inf inside the first epoch's mini-batch loop; the call is undone."""
    rng = np.random.default_rng(0)
    X, y = rng.random((100, 5)), rng.integers(0, 3, 100)
    X[77, 1] = np.inf
    net = fastnn.Network([5, 4, 3], seed=0)
    net.SGD((X[:50], y[:50]), 1, 10, 0.5, momentum=momentum)  # some history and velocity
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"training_data X: contains NaN or infinity \(row 77\)"):
        net.SGD((X, y), 3, 10, 0.5, shuffle=shuffle, momentum=momentum)
    assert_unchanged(net, before)


def test_import_is_light(tmp_path):
    """`import fastnn` takes scipy's BLAS table without importing scipy.linalg (27 MB, 0.3 s)."""

    code = (
        "import sys, fastnn, numpy as np; assert 'scipy.linalg' not in sys.modules; "
        "n = fastnn.Network([3, 2], seed=0); n.SGD((np.eye(3), np.array([0, 1, 1])), 1, 1, 0.1); "
        "import scipy.linalg; print(scipy.linalg.solve(np.eye(2), np.ones(2)).sum())"
    )
    out = run_python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2.0"


@pytest.mark.slow  # two subprocesses; test_import_is_light is the fast representative
def test_import_and_main_job_work_from_the_repository_root():
    """A developer's in-place build: `python -m fastnn` from the repository root (where ./fastnn
    shadows any installed package) finds the compiled core beside the sources. Skipped when the
    tests run against an installed fastnn (the README's `pytest`)."""
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[1]
    if pathlib.Path(fastnn.__file__).resolve().parent != root / "fastnn":
        pytest.skip("testing an installed fastnn, not an in-place build")
    out = subprocess.run(
        [sys.executable, "-m", "fastnn", "train", "--data", "digits", "--epochs", "1", "-q"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "test: accuracy" in out.stdout


def test_early_stopping_on_the_evaluation_cost_for_regression():
    """stopping_metric="cost": the best epoch is the one with the lowest mean evaluation cost."""
    rng = np.random.default_rng(2)
    X = rng.random((120, 3))
    y = X @ np.array([1.0, -1.0, 0.5]) + rng.normal(0, 0.5, 120)  # noisy: overfits soon
    train, valid = (X[:60], y[:60]), (X[60:], y[60:])
    net = fastnn.Network([3, 40, 1], cost="quadratic", output="linear", seed=0)
    costs = {}

    def remember(rec):
        costs[rec.epoch] = (net.total_cost(*valid), _state.parameters(net).copy())

    net.SGD(
        train,
        500,
        5,
        0.05,
        evaluation_data=valid,
        early_stopping=5,
        stopping_metric="cost",
        callback=remember,
    )
    h = net.history
    assert h.stop_reason == "early-stopping" and len(h.records) == h.best_epoch + 5
    best = min(costs, key=lambda e: costs[e][0])
    assert h.best_epoch == best
    assert h.restored_best and np.array_equal(_state.parameters(net), costs[best][1])
    with pytest.raises(ValueError, match="stopping_metric"):
        net.SGD(train, 1, 5, 0.05, stopping_metric="r2")


def test_assigned_weights_too_large_for_float32_are_refused():
    net = fastnn.Network([3, 2], dtype=np.float32, seed=0)
    before = _state.parameters(net).copy()
    with pytest.raises(ValueError, match=r"weights\[0\]: contains NaN or infinity"):
        net.weights = [np.full((2, 3), 1e40)]
    assert np.array_equal(_state.parameters(net), before)
