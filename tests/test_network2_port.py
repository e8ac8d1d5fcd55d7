"""network2 drop-in: the book's own usage (mnist_loader-style pairs, network2's cost classes,
accuracy/total_cost with convert, save/load) gives the same numbers as fastnn's array API; cost
classes of one's own run through the reference epoch step; verbose; seed=None from np.random."""

import warnings

import network2_standin as network2  # tests/ is on sys.path (pytest rootdir-less modules)
import numpy as np
import pytest

import fastnn
from fastnn import _state
from fastnn.costs import ReferenceCostWarning, UserCost


@pytest.fixture(scope="module")
def book_data(request):
    """mnist_loader.load_data_wrapper()-style lists (2,000 / 500 / 500 MNIST images when MNIST is
    there, else the 8x8 digits): training y one-hot (10, 1) columns, validation/test y ints."""
    try:
        ds = request.getfixturevalue("mnist")
        (X, y), (Xv, yv), (Xt, yt) = ((a[:n], b[:n]) for (a, b), n in zip(ds, (2000, 500, 500)))
    except pytest.skip.Exception:
        ds = request.getfixturevalue("digits")
        (X, y), (Xv, yv), (Xt, yt) = ds
    d = X.shape[1]
    training_data = list(zip([x.reshape(d, 1) for x in X], [network2.vectorized_result(k) for k in y]))
    validation_data = list(zip([x.reshape(d, 1) for x in Xv], yv))
    test_data = list(zip([x.reshape(d, 1) for x in Xt], yt))
    return training_data, validation_data, test_data, (X, y), (Xv, yv), (Xt, yt)


def test_book_usage_gives_the_array_api_numbers(book_data, tmp_path):
    training_data, validation_data, test_data, (X, y), (Xv, yv), (Xt, yt) = book_data
    d = X.shape[1]
    np.random.seed(1)  # network2's habit: seeds fastnn too (seed=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # network2's CrossEntropyCost matches: no warning
        net = fastnn.Network([d, 30, 10], cost=network2.CrossEntropyCost)
    assert net.cost is fastnn.CrossEntropyCost and net.output == "sigmoid"
    monitor_all = dict(
        monitor_evaluation_cost=True,
        monitor_evaluation_accuracy=True,
        monitor_training_cost=True,
        monitor_training_accuracy=True,
    )
    lists = net.SGD(training_data, 3, 10, 0.5, lmbda=5.0, evaluation_data=validation_data, **monitor_all)

    np.random.seed(1)
    arr = fastnn.Network([d, 30, 10], cost="cross-entropy")
    assert arr.seed == net.seed
    want = arr.SGD((X, y), 3, 10, 0.5, lmbda=5.0, evaluation_data=(Xv, yv), **monitor_all)
    assert lists == want  # bit for bit
    assert np.array_equal(_state.parameters(net), _state.parameters(arr))

    # network2's signatures, with network2's (opposite) meanings of convert
    assert net.accuracy(training_data, convert=True) == arr.accuracy(X, y) == lists[3][-1]
    assert net.accuracy(validation_data) == arr.accuracy(Xv, yv) == lists[1][-1]
    assert net.accuracy(test_data, False) == arr.accuracy(Xt, yt)
    assert net.total_cost(training_data, 5.0) == pytest.approx(lists[2][-1], rel=1e-12)
    assert net.total_cost(validation_data, 5.0, convert=True) == pytest.approx(lists[0][-1], rel=1e-12)
    assert net.total_cost(validation_data, 5.0, True) == pytest.approx(arr.total_cost(Xv, yv, 5.0), rel=1e-12)
    assert net.total_cost(zip(Xv.reshape(-1, d, 1), yv), 5.0, True) == pytest.approx(lists[0][-1])
    col = net.feedforward(test_data[0][0])  # one column in, one column out
    assert col.shape == (10, 1)
    assert np.allclose(col[:, 0], arr.feedforward(Xt[:1])[0])

    # save / load; network2's own load (an independent implementation) agrees
    path = tmp_path / "net.json"
    net.save(path)
    back = fastnn.load(path)
    assert back.accuracy(test_data) == net.accuracy(test_data)
    theirs = network2.load(path)
    assert theirs.accuracy(test_data) == net.accuracy(test_data)
    assert theirs.accuracy(training_data[:300], convert=True) == net.accuracy(training_data[:300], True)
    assert theirs.total_cost(validation_data, 5.0, convert=True) == pytest.approx(
        net.total_cost(validation_data, 5.0, convert=True), rel=1e-9
    )
    assert theirs.total_cost(training_data[:300], 5.0) == pytest.approx(
        net.total_cost(training_data[:300], 5.0), rel=1e-9
    )


def test_convert_that_contradicts_the_data_is_an_error():
    net = fastnn.Network([4, 3, 10], seed=0)
    ints = [(np.ones((4, 1)), 3)]
    vectors = [(np.ones((4, 1)), network2.vectorized_result(3))]
    with pytest.raises(ValueError, match=r"accuracy\(\.\.\., convert=True\) reads y as vectors"):
        net.accuracy(ints, convert=True)
    with pytest.raises(ValueError, match=r"convert=False"):
        net.total_cost(ints, 0.0, convert=False)
    with pytest.raises(ValueError, match=r"convert=True"):
        net.accuracy(vectors, False)
    with pytest.raises(TypeError, match="convert"):
        net.accuracy(np.ones((1, 4)), np.array([3]), convert=True)
    with pytest.raises(TypeError, match="two values for lmbda"):
        net.total_cost(vectors, 1.0, 2.0)
    assert net.total_cost(vectors, 1.0, False) == net.total_cost(np.ones((1, 4)), [3], 1.0)


def test_network2_quadratic_cost_runs_in_the_core():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = fastnn.Network([4, 3, 2], cost=network2.QuadraticCost, seed=0)
    assert net.cost is fastnn.QuadraticCost and net.output == "sigmoid"


class DoubledCrossEntropy:
    """2 × the cross-entropy: training at η equals cross-entropy at 2η (λ = 0)."""

    @staticmethod
    def fn(a, y):
        return 2 * np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        return 2 * (a - y)


class PerExampleDoubledCrossEntropy:
    """The same cost written for one column at a time only (float() of a 1x1 product)."""

    @staticmethod
    def fn(a, y):
        return (2 * (-np.dot(y.T, np.log(a)) - np.dot((1 - y).T, np.log(1 - a)))).item()

    @staticmethod
    def delta(z, a, y):
        assert a.shape[1] == 1
        return 2 * (a - y)


@pytest.mark.parametrize("cls", [DoubledCrossEntropy, PerExampleDoubledCrossEntropy])
def test_own_cost_class_runs_through_the_reference_step(cls, digits):
    (X, y), (Xv, yv), _ = digits
    X, y = X[:300], y[:300]
    with pytest.warns(ReferenceCostWarning, match=r"reference epoch step.*slower"):
        net = fastnn.Network([64, 20, 10], cost=cls, seed=3)
    assert isinstance(net.cost, UserCost)
    assert net.cost.vectorized == (cls is DoubledCrossEntropy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one-time warning
        fastnn.Network([64, 20, 10], cost=cls, seed=3)
    core = fastnn.Network([64, 20, 10], cost="cross-entropy", seed=3)
    records = []
    w = np.random.default_rng(0).random(len(X))
    run = dict(
        epochs=4,
        mini_batch_size=10,
        evaluation_data=(Xv, yv),
        monitor_evaluation_cost=True,
        monitor_evaluation_accuracy=True,
        early_stopping=10,
        momentum=0.3,
        sample_weight=w,
        track_loss=True,
    )
    got = net.SGD((X, y), eta=0.25, callback=records.append, **run)  # twice the cost: half the eta
    want = core.SGD((X, y), eta=0.5, **run)
    assert net.history.records[0].training_loss == pytest.approx(
        2 * core.history.records[0].training_loss, rel=1e-9
    )
    assert np.allclose(_state.parameters(net), _state.parameters(core), rtol=1e-9, atol=1e-12)
    assert got[1] == want[1]
    assert np.allclose(got[0], 2 * np.array(want[0]), rtol=1e-9)
    assert [r.epoch for r in records] == [1, 2, 3, 4]
    assert net.history.best_epoch == core.history.best_epoch and 1 <= net.history.best_epoch <= 4
    assert net.total_cost(Xv, yv) == pytest.approx(2 * core.total_cost(Xv, yv), rel=1e-9)


def test_a_name_match_alone_is_not_enough():
    class CrossEntropyCost:  # the book's exercise: modify the class
        @staticmethod
        def fn(a, y):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

        @staticmethod
        def delta(z, a, y):
            return (a - y) * 1.5

    with pytest.warns(ReferenceCostWarning):
        net = fastnn.Network([4, 3, 2], cost=CrossEntropyCost, seed=0)
    assert isinstance(net.cost, UserCost)
    with pytest.raises(ValueError, match="cannot save"):
        net.save("/tmp/never-written.json")


def _digits_run(digits, epochs, **options):
    """A [64, 10, 10] network (seed 0) after `epochs` of SGD on the digits (mini-batch 10, eta 0.5),
    monitoring its accuracy on their validation split; returns it and that split's labels."""
    (X, y), (Xv, yv), _ = digits
    net = fastnn.Network([64, 10, 10], seed=0)
    net.SGD((X, y), epochs, 10, 0.5, evaluation_data=(Xv, yv), monitor_evaluation_accuracy=True, **options)
    return net, yv


def test_verbose_prints_network2_lines(digits, capsys):
    net, yv = _digits_run(digits, 2, monitor_training_cost=True, verbose=True)
    out = capsys.readouterr().out.splitlines()
    acc = net.history.records[1].evaluation_accuracy
    assert out[0] == "Epoch 0 training complete"
    assert out[1].startswith("Cost on training data: ")
    assert out[2].startswith("Accuracy on evaluation data: ") and out[2].endswith(f" / {len(yv)}")
    assert out[4] == "Epoch 1 training complete"
    assert out[6] == f"Accuracy on evaluation data: {acc} / {len(yv)}"


def test_seed_none_follows_numpy_global_generator(digits):
    (X, y), _, _ = digits
    runs = []
    for _ in range(2):
        np.random.seed(7)
        net = fastnn.Network([64, 10, 10])
        net.SGD((X[:200], y[:200]), 2, 10, 0.5)
        runs.append(_state.parameters(net).copy())
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(
        _state.parameters(fastnn.Network([64, 10, 10])), _state.parameters(fastnn.Network([64, 10, 10]))
    )


def test_one_progress_bar_per_run_with_loss_and_accuracy(digits, monkeypatch):
    import tqdm.auto

    bars = []
    real = tqdm.auto.tqdm

    class Counting(real):
        def __init__(self, *a, **k):
            bars.append(k)
            super().__init__(*a, **k)

    monkeypatch.setattr(tqdm.auto, "tqdm", Counting)
    import io as _io

    buf = _io.StringIO()
    monkeypatch.setattr("sys.stderr", buf)
    net, _ = _digits_run(digits, 3, track_loss=True, progress=True)
    assert len(bars) == 1 and bars[0]["leave"] is True and bars[0]["total"] == 3 * 120
    last = buf.getvalue().rstrip().split("\r")[-1]
    assert "epoch 3/3" in last and "loss=" in last and "val acc=" in last and "360/360" in last
    assert net.history.records[0].evaluation_seconds > 0
