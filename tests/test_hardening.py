"""Hardening: every bad input gets a clear error before anything changes; nothing corrupts or leaks.

Sections: shapes, types (conversions and refusals), values and hyper-parameters, "nothing changes on
error", divergence, model files (what tests/test_io.py and tests/test_data.py do not already cover),
the compiled core called directly (run under AddressSanitizer by tests/asan_check.sh), and memory
growth over 100,000 calls (slow).
"""

import gc
import os
import re

import numpy as np
import pytest
from conftest import assert_unchanged, classification_data, snapshot

import fastnn
import fastnn._network_data as network_data
from fastnn import _core, _state

SIZES = [4, 5, 3]


def _data(n=10, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


@pytest.fixture
def trained():
    """A network with history and momentum velocity already in place (so they can be checked)."""
    X, y = _data()
    net = fastnn.Network(SIZES, seed=0)
    net.SGD((X, y), 1, 5, 0.5, momentum=0.5)
    assert np.any(_state.velocity(net) != 0) and len(net.history.records) == 1
    return net


# =================================================================================================
# Shapes
# =================================================================================================
X10, Y10 = _data()

SHAPE_CASES = {
    # name: (call(net), argument named, expected, actual)
    "X-features": (lambda n: n.SGD((X10[:, :3], Y10), 1, 2, 0.1), "training_data X", "(n, 4)", "(10, 3)"),
    "X-1d": (lambda n: n.SGD((X10[0], Y10[:1]), 1, 1, 0.1), "training_data X", "(n, 4)", "(4,)"),
    "X-3d": (lambda n: n.SGD((X10[:, :, None], Y10), 1, 1, 0.1), "training_data X", "(n, 4)", "(10, 4, 1)"),
    "y-length": (lambda n: n.SGD((X10, Y10[:7]), 1, 2, 0.1), "training_data y", "10", "7"),
    "y-width": (
        lambda n: n.SGD((X10, np.zeros((10, 4))), 1, 2, 0.1),
        "training_data y",
        "(10, 3)",
        "(10, 4)",
    ),
    "y-targets-rows": (
        lambda n: n.SGD((X10, np.zeros((9, 3))), 1, 2, 0.1),
        "training_data y",
        "(10, 3)",
        "(9, 3)",
    ),
    "y-3d": (
        lambda n: n.SGD((X10, np.zeros((10, 3, 1))), 1, 2, 0.1),
        "training_data y",
        "(10,)",
        "(10, 3, 1)",
    ),
    "empty": (
        lambda n: n.SGD((np.empty((0, 4)), np.empty(0, int)), 1, 1, 0.1),
        "training_data",
        "at least one",
        "0",
    ),
    "empty-list": (lambda n: n.SGD([], 1, 1, 0.1), "training_data", "at least one", "0"),
    "eval-X": (
        lambda n: n.SGD((X10, Y10), 1, 2, 0.1, evaluation_data=(X10[:, :2], Y10)),
        "evaluation_data X",
        "(n, 4)",
        "(10, 2)",
    ),
    "eval-y": (
        lambda n: n.SGD((X10, Y10), 1, 2, 0.1, evaluation_data=(X10, Y10[:3])),
        "evaluation_data y",
        "10",
        "3",
    ),
    "eval-empty": (
        lambda n: n.SGD((X10, Y10), 1, 2, 0.1, evaluation_data=(np.empty((0, 4)), np.empty(0, int))),
        "evaluation_data",
        "at least one",
        "0",
    ),
    "pairs-width": (
        lambda n: n.SGD([(np.ones((4, 1)), 0), (np.ones((3, 1)), 1)], 1, 1, 0.1),
        "training_data",
        "4",
        "[3, 4]",
    ),
    "feedforward-features": (lambda n: n.feedforward(np.ones((2, 5))), "X", "(n, 4)", "(2, 5)"),
    "feedforward-1d": (lambda n: n.feedforward(np.ones(4)), "X", "(n, 4)", "(4,)"),
    "feedforward-3d": (lambda n: n.feedforward(np.ones((1, 2, 4))), "X", "(n, 4)", "(1, 2, 4)"),
    "predict-features": (lambda n: n.predict(np.ones((2, 3))), "X", "(n, 4)", "(2, 3)"),
    "accuracy-y": (lambda n: n.accuracy(X10, Y10[:4]), "data y", "10", "4"),
    "total_cost-X": (lambda n: n.total_cost(X10[:, :1], Y10), "data X", "(n, 4)", "(10, 1)"),
    "total_cost-empty": (
        lambda n: n.total_cost(np.empty((0, 4)), np.empty(0, int)),
        "data",
        "at least one",
        "0",
    ),
    "weights-count": (lambda n: setattr(n, "weights", [np.zeros((5, 4))]), "weights", "2", "1"),
    "weights-shape": (
        lambda n: setattr(n, "weights", [np.zeros((4, 5)), np.zeros((3, 5))]),
        "weights[0]",
        "(5, 4)",
        "(4, 5)",
    ),
    "weights-second-shape": (
        lambda n: setattr(n, "weights", [np.zeros((5, 4)), np.zeros((3, 4))]),
        "weights[1]",
        "(3, 5)",
        "(3, 4)",
    ),
    "biases-count": (lambda n: setattr(n, "biases", [np.zeros(5)] * 3), "biases", "2", "3"),
    "biases-shape": (
        lambda n: setattr(n, "biases", [np.zeros(5), np.zeros((3, 2))]),
        "biases[1]",
        "(3,)",
        "(3, 2)",
    ),
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_wrong_shapes_name_argument_expected_and_actual(trained, case):
    call, name, expected, actual = SHAPE_CASES[case]
    before = snapshot(trained)
    with pytest.raises(ValueError) as info:
        call(trained)
    msg = str(info.value)
    assert msg.startswith(name + ":") or msg.startswith(name + " "), msg
    assert expected in msg and actual in msg, msg
    assert_unchanged(trained, before)


def test_partially_valid_weight_list_changes_nothing(trained):
    """The second array is bad: the first must not have been written either."""
    before = snapshot(trained)
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        trained.weights = [np.ones((5, 4)), np.ones((2, 5))]
    with pytest.raises(ValueError, match=r"biases\[1\]"):
        trained.biases = [np.ones(5), np.full(3, np.inf)]
    assert_unchanged(trained, before)


def test_two_row_nested_list_X_is_not_taken_for_network2_pairs():
    """Regression (found by tests/test_properties.py): (X, y) with X a nested list of two rows
    looked like a tuple of two network2 (x, y) pairs and was silently read as such."""
    X = [[0.6], [0.2]]
    net = fastnn.Network([1, 1], cost="quadratic", seed=0)
    y = np.array([[0.1], [0.3]])
    want = net.total_cost(np.array(X), y)
    assert net.total_cost(X, y) == want
    pairs = ((np.array([[0.6]]), np.array([[0.1]])), (np.array([[0.2]]), np.array([[0.3]])))
    assert net.total_cost(pairs) == want  # a real tuple of two pairs still works
    a, b = fastnn.Network([1, 2], seed=0), fastnn.Network([1, 2], seed=0)
    a.SGD((X, np.array([0, 1])), 1, 1, 0.5, shuffle=False)
    b.SGD((np.array(X), np.array([0, 1])), 1, 1, 0.5, shuffle=False)
    assert np.array_equal(_state.parameters(a), _state.parameters(b))


def test_inference_on_zero_rows_returns_zero_rows():
    """Documented: inference on an empty (0, d) matrix is not an error; training and costs are."""
    net = fastnn.Network(SIZES, seed=0)
    assert net.feedforward(np.empty((0, 4))).shape == (0, 3)
    assert net.predict(np.empty((0, 4))).shape == (0,)
    assert net.accuracy(np.empty((0, 4)), np.empty(0, int)) == 0


# =================================================================================================
# Types: converted once, or refused
# =================================================================================================
def _variants(X):
    """The same values in every accepted form."""
    yield "list", X.tolist()
    yield "fortran", np.asfortranarray(X)
    yield "strided", np.repeat(X, 2, axis=1)[:, ::2]
    yield "reversed-rows", X[::-1][::-1]
    yield "big-endian", X.astype(">f8")
    yield "float32", X.astype(np.float32)
    yield "longdouble", X.astype(np.longdouble)
    ro = X.copy()
    ro.flags.writeable = False
    yield "read-only", ro
    yield "broadcast", np.broadcast_to(X, X.shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_accepted_forms_of_X_give_the_same_results(dtype):
    X = np.round(X10, 3).astype(np.float32).astype(np.float64)  # exact in float32 too
    net = fastnn.Network(SIZES, dtype=dtype, seed=1)
    want = net.feedforward(X)
    ref = fastnn.Network(SIZES, dtype=dtype, seed=1)
    ref.SGD((X, Y10), 2, 3, 0.5)
    for name, Xv in _variants(X):
        assert np.array_equal(net.feedforward(Xv), want), name
        assert net.feedforward(Xv).dtype == np.dtype(dtype)
        other = fastnn.Network(SIZES, dtype=dtype, seed=1)
        other.SGD((Xv, Y10), 2, 3, 0.5)
        assert np.array_equal(_state.parameters(other), _state.parameters(ref)), name


def test_int_and_bool_features_are_converted():
    net = fastnn.Network(SIZES, seed=0)
    Xi = np.arange(12).reshape(3, 4)
    for X in (Xi, Xi.astype(np.uint8), Xi.astype(np.int16), Xi % 2 == 0):
        assert np.array_equal(net.feedforward(X), net.feedforward(np.asarray(X, dtype=float)))


def test_label_forms_are_converted():
    """int labels of any width, float labels with integral values, bool labels, one-hot rows,
    (n, 1) columns and read-only labels all mean the same thing."""
    X = X10
    y = Y10
    forms = [
        y,
        y.astype(np.uint8),
        y.astype(np.int32),
        y.astype(float),
        y.reshape(-1, 1),
        np.eye(3)[y],
        y.tolist(),
    ]
    ro = y.copy()
    ro.flags.writeable = False
    forms.append(ro)
    results = []
    for yy in forms:
        net = fastnn.Network(SIZES, seed=2)
        net.SGD((X, yy), 1, 3, 0.5)
        results.append(_state.parameters(net))
    for r in results[1:]:
        assert np.array_equal(r, results[0])
    net = fastnn.Network([4, 2], seed=0)
    net.SGD((X, y % 2 == 0), 1, 3, 0.5)  # bool labels: classes 0 and 1
    assert np.all(np.isfinite(_state.parameters(net)))


REFUSED = {
    "object": np.array([[1.0, 2.0, None, 4.0]], dtype=object),
    "str-array": np.array([["1", "2", "3", "4"]]),
    "str": "1234",
    "bytes": b"1234",
    "complex": np.ones((1, 4), dtype=complex),
    "datetime": np.array([["2020-01-01"] * 4], dtype="datetime64[D]"),
    "timedelta": np.ones((1, 4), dtype="timedelta64[s]"),
    "structured": np.zeros(1, dtype=[("a", float), ("b", float), ("c", float), ("d", float)]),
    "None": None,
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_non_numeric_data_is_refused_with_type_error(trained, case):
    bad = REFUSED[case]
    before = snapshot(trained)
    with pytest.raises(TypeError, match=r"^X: expected numeric"):
        trained.feedforward(bad)
    with pytest.raises(TypeError, match=r"^training_data X|^training_data:"):
        trained.SGD((bad, Y10[:1]), 1, 1, 0.1)
    assert_unchanged(trained, before)


@pytest.mark.parametrize(
    "y",
    [np.array(["a"] * 10), np.array([None] * 10, dtype=object), np.ones(10, dtype=complex)],
    ids=["str", "object", "complex"],
)
def test_non_numeric_labels_are_refused(trained, y):
    before = snapshot(trained)
    with pytest.raises(TypeError, match=r"^training_data y: expected numeric"):
        trained.SGD((X10, y), 1, 2, 0.1)
    assert_unchanged(trained, before)


def test_non_numeric_or_missing_parameters_are_refused(trained):
    before = snapshot(trained)
    for bad in (None, 3, "weights"):
        with pytest.raises(TypeError, match=r"^weights: expected a list"):
            trained.weights = bad
    with pytest.raises(TypeError, match=r"^weights\[0\]: expected numbers"):
        trained.weights = [np.full((5, 4), "x"), np.zeros((3, 5))]
    with pytest.raises(TypeError, match=r"^biases\[0\]: expected numbers"):
        trained.biases = [[None] * 5, np.zeros(3)]
    assert_unchanged(trained, before)


def test_ragged_data_is_a_value_error(trained):
    before = snapshot(trained)
    with pytest.raises(ValueError, match=r"^X: could not be converted"):
        trained.feedforward([[1, 2, 3, 4], [1, 2]])
    assert_unchanged(trained, before)


@pytest.mark.parametrize("dtype", [np.int64, np.float16, "U8", object])
def test_network_dtype_must_be_float32_or_float64(dtype):
    with pytest.raises(TypeError, match=r"^dtype: expected float32 or float64"):
        fastnn.Network(SIZES, dtype=dtype)


# =================================================================================================
# Values
# =================================================================================================
def _with(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


VALUE_CASES = {
    # name: (call(net), message regex)
    "X-nan": (
        lambda n: n.SGD((_with(X10, (7, 2), np.nan), Y10), 1, 2, 0.1),
        r"^training_data X: contains NaN or infinity \((first at )?row 7\)",
    ),
    "X-inf": (
        lambda n: n.SGD((_with(X10, (3, 0), -np.inf), Y10), 1, 2, 0.1),
        r"^training_data X: contains NaN or infinity \((first at )?row 3\)",
    ),
    "X-overflows-float32": (
        lambda n: fastnn.Network(SIZES, dtype=np.float32).feedforward(_with(X10, (1, 1), 1e300)),
        r"^X: contains NaN or infinity \(first at row 1\)",
    ),
    "eval-X-nan": (
        lambda n: n.SGD((X10, Y10), 1, 2, 0.1, evaluation_data=(_with(X10, (0, 0), np.nan), Y10)),
        r"^evaluation_data X: contains NaN",
    ),
    "feedforward-nan": (
        lambda n: n.feedforward(_with(X10, (9, 3), np.nan)),
        r"^X: contains NaN or infinity \(first at row 9\)",
    ),
    "y-nan": (
        lambda n: n.SGD((X10, _with(Y10, 4, np.nan)), 1, 2, 0.1),
        r"^training_data y: contains NaN or infinity \(first at index 4\)",
    ),
    "targets-inf": (
        lambda n: n.SGD((X10, _with(np.full((10, 3), 0.5), (2, 1), np.inf)), 1, 2, 0.1),
        r"^training_data y: contains NaN or infinity \(first at row 2\)",
    ),
    "labels-high": (
        lambda n: n.SGD((X10, _with(Y10, 0, 3).astype(int)), 1, 2, 0.1),
        r"^training_data y: expected labels in \[0, 3\), got values in \[0, 3\]",
    ),
    "labels-negative": (
        lambda n: n.SGD((X10, Y10 - 1), 1, 2, 0.1),
        r"^training_data y: expected labels in \[0, 3\), got values in \[-1, 1\]",
    ),
    "labels-non-integral": (
        lambda n: n.SGD((X10, Y10 + 0.5), 1, 2, 0.1),
        r"^training_data y: expected integer class labels",
    ),
    "labels-accuracy": (lambda n: n.accuracy(X10, Y10 + 3), r"^data y: expected labels in \[0, 3\)"),
    "targets-above-1": (
        lambda n: n.SGD((X10, np.full((10, 3), 1.5)), 1, 2, 0.1),
        r"^training_data y: the cross-entropy cost needs targets in \[0, 1\]",
    ),
    "targets-below-0": (
        lambda n: n.SGD((X10, np.full((10, 3), -0.25)), 1, 2, 0.1),
        r"^training_data y: the cross-entropy cost needs targets in \[0, 1\]",
    ),
    "weights-nan": (
        lambda n: setattr(n, "weights", [_with(np.zeros((5, 4)), (1, 1), np.nan), np.zeros((3, 5))]),
        r"^weights\[0\]: contains NaN or infinity",
    ),
    "biases-inf": (
        lambda n: setattr(n, "biases", [np.zeros(5), _with(np.zeros(3), 2, np.inf)]),
        r"^biases\[1\]: contains NaN or infinity",
    ),
}


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_bad_values_are_refused_before_anything_changes(trained, case):
    call, pattern = VALUE_CASES[case]
    before = snapshot(trained)
    with pytest.raises(ValueError, match=pattern):
        call(trained)
    assert_unchanged(trained, before)


def test_quadratic_cost_accepts_targets_outside_unit_interval():
    net = fastnn.Network([4, 3], cost="quadratic", output="linear", seed=0)
    net.SGD((X10, np.full((10, 3), -2.5)), 2, 5, 0.05)
    assert np.all(np.isfinite(_state.parameters(net)))


def test_non_finite_parameters_written_through_the_views_are_caught_by_sgd(trained):
    trained.weights[1][0, 0] = np.nan  # the arrays are views: a user can do this
    before = snapshot(trained)
    with pytest.raises(ValueError, match=r"network parameters .* contains NaN"):
        trained.SGD((X10, Y10), 1, 2, 0.1)
    assert_unchanged(trained, before)


HYPER_CASES = {
    # name: (kwargs for SGD((X10, Y10), **kwargs)), exception, regex with the allowed range)
    "eta-zero": (dict(eta=0.0), ValueError, r"^eta: expected a value in \(0\.0, inf\], got 0\.0"),
    "eta-negative": (dict(eta=-1), ValueError, r"^eta: expected a value in \(0\.0, inf\]"),
    "eta-nan": (dict(eta=float("nan")), ValueError, r"^eta: expected a finite number"),
    "eta-inf": (dict(eta=float("inf")), ValueError, r"^eta: expected a finite number"),
    "eta-string": (dict(eta="0.1"), TypeError, r"^eta: expected a number"),
    "eta-bool": (dict(eta=True), TypeError, r"^eta: expected a number"),
    "lmbda-negative": (dict(lmbda=-0.1), ValueError, r"^lmbda: expected a value in \[0\.0, inf\]"),
    "batch-zero": (
        dict(mini_batch_size=0),
        ValueError,
        r"^mini_batch_size: expected a value in \[1, inf\], got 0",
    ),
    "batch-above-n": (
        dict(mini_batch_size=11),
        ValueError,
        r"^mini_batch_size: expected at most the number of training examples \(10\), "
        r"got 11",
    ),
    "batch-huge": (dict(mini_batch_size=10**30), ValueError, r"^mini_batch_size: expected at most"),
    "batch-float": (dict(mini_batch_size=2.5), TypeError, r"^mini_batch_size: expected an integer"),
    "epochs-negative": (dict(epochs=-1), ValueError, r"^epochs: expected a value in \[0, inf\]"),
    "epochs-nan": (dict(epochs=float("nan")), TypeError, r"^epochs: expected an integer"),
    "dropout-one": (dict(dropout=1.0), ValueError, r"^dropout: expected a value in \[0\.0, 1\.0\)"),
    "dropout-negative": (dict(dropout=-0.1), ValueError, r"^dropout: expected a value in \[0\.0, 1\.0\)"),
    "momentum-one": (dict(momentum=1.0), ValueError, r"^momentum: expected a value in \[0\.0, 1\.0\)"),
    "momentum-negative": (dict(momentum=-0.5), ValueError, r"^momentum: expected a value in \[0\.0"),
    "eta_decay-one": (dict(eta_decay=1.0), ValueError, r"^eta_decay: expected a value in \(0\.0, 1\.0\)"),
    "min_eta_ratio-zero": (dict(min_eta_ratio=0), ValueError, r"^min_eta_ratio: expected a value in \(0"),
    "early_stopping-zero": (
        dict(early_stopping=0),
        ValueError,
        r"^early_stopping: expected a value in \[1, inf\]",
    ),
    "eta_schedule-zero": (dict(eta_schedule=0), ValueError, r"^eta_schedule: expected a value in \[1"),
    "n_threads-zero": (dict(n_threads=0), ValueError, r"^n_threads: expected a value in \[1, 1024\]"),
    "regularization": (dict(regularization="l3"), ValueError, r"^regularization: expected one of 'l2', 'l1'"),
    "callback": (dict(callback=3), TypeError, r"^callback: expected a callable"),
    "early-stopping-without-eval": (dict(early_stopping=2), ValueError, r"^evaluation_data: "),
    "monitor-without-eval": (dict(monitor_evaluation_accuracy=True), ValueError, r"^evaluation_data: "),
}


@pytest.mark.parametrize("case", sorted(HYPER_CASES))
def test_hyper_parameters_out_of_range(trained, case):
    kwargs, exc, pattern = HYPER_CASES[case]
    args = dict(training_data=(X10, Y10), epochs=1, mini_batch_size=2, eta=0.1)
    args.update(kwargs)
    before = snapshot(trained)
    with pytest.raises(exc, match=pattern):
        trained.SGD(**args)
    assert_unchanged(trained, before)


@pytest.mark.parametrize(
    "sizes,exc,pattern",
    [
        ([3], ValueError, r"^sizes: expected at least 2 layers"),
        ([], ValueError, r"^sizes: expected at least 2 layers"),
        ([3, 0, 2], ValueError, r"^sizes: every layer needs at least 1 neuron"),
        ([3, -1], ValueError, r"^sizes: every layer needs at least 1 neuron"),
        ([3, 2.0], TypeError, r"^sizes: expected integers"),
        ([3, True], TypeError, r"^sizes: expected integers"),
        ("32", TypeError, r"^sizes: expected a sequence"),
        (None, TypeError, r"^sizes: expected a sequence"),
        (5, TypeError, r"^sizes: expected a sequence"),
    ],
)
def test_bad_sizes(sizes, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fastnn.Network(sizes)


def test_total_cost_arguments(trained):
    before = snapshot(trained)
    with pytest.raises(ValueError, match=r"^lmbda: expected a value in \[0\.0, inf\]"):
        trained.total_cost(X10, Y10, lmbda=-1)
    with pytest.raises(ValueError, match=r"^regularization:"):
        trained.total_cost(X10, Y10, regularization="l0")
    assert_unchanged(trained, before)


def test_data_is_checked_once_per_call_not_per_batch_or_epoch(monkeypatch):
    """The NaN/inf check is one vectorized pass per array per call, however many epochs and
    mini-batches follow."""
    calls = []
    real = network_data.check_finite

    def counting(arr, name):
        calls.append((name, arr.shape))
        return real(arr, name)

    monkeypatch.setattr(network_data, "check_finite", counting)
    import fastnn.network as network_module

    monkeypatch.setattr(network_module, "check_finite", counting)
    X, y = _data(200)
    counts = []
    for epochs, batch in ((1, 200), (6, 1)):
        calls.clear()
        fastnn.Network(SIZES, seed=0).SGD(
            (X, y), epochs, batch, 0.1, evaluation_data=(X, y), monitor_evaluation_accuracy=True
        )
        counts.append(len(calls))
    assert counts[0] == counts[1] <= 4, calls  # X, eval X, parameters (+ float labels)


# =================================================================================================
# Divergence
# =================================================================================================
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
    np.save(bad, _with(np.zeros((3, 64)), (1, 5), np.nan))
    code = cli.main(["predict", str(model), "--input", str(bad)])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("fastnn: error: --input"), err


# =================================================================================================
# Model files: what tests/test_io.py does not cover already
# =================================================================================================
def test_refused_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.json"
    net = fastnn.Network(SIZES, seed=0)
    net.save(path)
    before = path.read_bytes()
    net.weights[0][0, 0] = np.inf  # only possible by writing into the views
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_load_of_a_directory_or_binary_file_is_a_clear_error(tmp_path):
    with pytest.raises(OSError):
        fastnn.load(tmp_path)
    p = tmp_path / "noise.json"
    p.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match=re.escape(str(p)) + ".*not UTF-8"):
        fastnn.load(p)


# =================================================================================================
# The compiled core, called directly (also run under AddressSanitizer: tests/asan_check.sh)
# =================================================================================================
def _core_setup(dtype=np.float64):
    lay = _core.Layout([3, 4, 2], "sigmoid", "sigmoid", "cross-entropy", dtype)
    params = np.zeros(lay.n_params, dtype=dtype)
    X = np.zeros((6, 3), dtype=dtype)
    y = _core.Targets(lay, np.zeros(6, dtype=np.intp), None, 6)
    return lay, params, X, y


def _other_targets(k, n=6, dtype=np.float64, labels=True):
    lay = _core.Layout([3, k], "sigmoid", "sigmoid", "cross-entropy", dtype)
    if labels:
        return _core.Targets(lay, np.full(n, k - 1, dtype=np.intp), None, n)
    return _core.Targets(lay, None, np.zeros((n, k), dtype=dtype), n)


def _core_cases():
    lay, params, X, y = _core_setup()
    tr = _core.Trainer(lay, params, 2)
    bound = _core.Trainer(lay, params, 2)
    bound.begin(X, y)
    lab = np.zeros(6, dtype=np.intp)
    c = {
        # Layout
        "Layout-sizes-None": lambda: _core.Layout(None, "sigmoid", "sigmoid", "cross-entropy", np.float64),
        "Layout-one-layer": lambda: _core.Layout([3], "sigmoid", "sigmoid", "cross-entropy", np.float64),
        "Layout-zero-neurons": lambda: _core.Layout(
            [3, 0], "sigmoid", "sigmoid", "cross-entropy", np.float64
        ),
        "Layout-activation": lambda: _core.Layout([3, 2], "swish", "sigmoid", "cross-entropy", np.float64),
        "Layout-cost": lambda: _core.Layout([3, 2], "sigmoid", "sigmoid", None, np.float64),
        "Layout-dtype": lambda: _core.Layout([3, 2], "sigmoid", "sigmoid", "cross-entropy", np.int32),
        # Targets
        "Targets-layout-None": lambda: _core.Targets(None, lab, None, 6),
        "Targets-both-None": lambda: _core.Targets(lay, None, None, 6),
        "Targets-both-given": lambda: _core.Targets(lay, lab, np.zeros((6, 2)), 6),
        "Targets-labels-list": lambda: _core.Targets(lay, [0] * 6, None, 6),
        "Targets-labels-int32": lambda: _core.Targets(lay, lab.astype(np.int32), None, 6),
        "Targets-labels-2d": lambda: _core.Targets(lay, lab.reshape(6, 1), None, 6),
        "Targets-labels-strided": lambda: _core.Targets(lay, np.zeros(12, np.intp)[::2], None, 6),
        "Targets-labels-length": lambda: _core.Targets(lay, lab, None, 5),
        "Targets-labels-range": lambda: _core.Targets(lay, np.full(6, 2, np.intp), None, 6),
        "Targets-labels-negative": lambda: _core.Targets(lay, np.full(6, -1, np.intp), None, 6),
        "Targets-n-negative": lambda: _core.Targets(lay, lab, None, -1),
        "Targets-targets-width": lambda: _core.Targets(lay, None, np.zeros((6, 3)), 6),
        "Targets-targets-dtype": lambda: _core.Targets(lay, None, np.zeros((6, 2), np.float32), 6),
        "Targets-targets-fortran": lambda: _core.Targets(lay, None, np.zeros((2, 6)).T, 6),
        # Trainer
        "Trainer-layout-None": lambda: _core.Trainer(None, params, 2),
        "Trainer-params-None": lambda: _core.Trainer(lay, None, 2),
        "Trainer-params-short": lambda: _core.Trainer(lay, params[:-1].copy(), 2),
        "Trainer-params-dtype": lambda: _core.Trainer(lay, params.astype(np.float32), 2),
        "Trainer-params-strided": lambda: _core.Trainer(lay, np.zeros(2 * lay.n_params)[::2], 2),
        "Trainer-params-2d": lambda: _core.Trainer(lay, params.reshape(1, -1), 2),
        "Trainer-batch-zero": lambda: _core.Trainer(lay, params, 0),
        "Trainer-batch-negative": lambda: _core.Trainer(lay, params, -3),
        "Trainer-velocity-short": lambda: _core.Trainer(lay, params, 2, np.zeros(3)),
        "Trainer-velocity-dtype": lambda: _core.Trainer(lay, params, 2, np.zeros(lay.n_params, np.float32)),
        # Trainer.begin: the run's data and settings, checked once
        "begin-X-None": lambda: tr.begin(None, y),
        "begin-X-list": lambda: tr.begin(X.tolist(), y),
        "begin-X-width": lambda: tr.begin(np.zeros((6, 4)), y),
        "begin-X-1d": lambda: tr.begin(np.zeros(18), y),
        "begin-X-dtype": lambda: tr.begin(X.astype(np.float32), y),
        "begin-X-fortran": lambda: tr.begin(np.asfortranarray(np.zeros((6, 3))), y),
        "begin-X-strided": lambda: tr.begin(np.zeros((12, 3))[::2], y),
        "begin-y-None": lambda: tr.begin(X, None),
        "begin-y-array": lambda: tr.begin(X, lab),
        "begin-y-rows": lambda: tr.begin(np.zeros((8, 3)), y),
        "begin-y-other-layout-labels": lambda: tr.begin(X, _other_targets(5)),
        "begin-y-other-layout-targets": lambda: tr.begin(X, _other_targets(1, labels=False)),
        "begin-y-other-dtype": lambda: tr.begin(X, _other_targets(2, dtype=np.float32, labels=False)),
        "begin-perm-dtype": lambda: tr.begin(X, y, np.arange(6, dtype=np.int32)),
        "begin-perm-short": lambda: tr.begin(X, y, np.arange(5, dtype=np.intp)),
        "begin-perm-range": lambda: tr.begin(X, y, np.arange(1, 7, dtype=np.intp)),
        "begin-perm-negative": lambda: tr.begin(X, y, np.arange(6, dtype=np.intp) - 1),
        "begin-perm-strided": lambda: tr.begin(X, y, np.repeat(np.arange(6, dtype=np.intp), 2)[::2]),
        "begin-n_total-zero": lambda: tr.begin(X, y, None, 1.0, 0),
        "begin-regularization": lambda: tr.begin(X, y, None, 1.0, -1, "l3"),
        "begin-momentum-no-velocity": lambda: tr.begin(X, y, None, 0.0, -1, "l2", 0.5),
        "begin-sample_weight-short": lambda: tr.begin(X, y, sample_weight=np.ones(5)),
        # Trainer.train: what a chunk of mini-batches changes
        "train-before-begin": lambda: _core.Trainer(lay, params, 2).train(0, 1, 0.1),
        "train-stop-past-end": lambda: bound.train(0, 4, 0.1),
        "train-start-negative": lambda: bound.train(-1, 1, 0.1),
        "train-start-after-stop": lambda: bound.train(2, 1, 0.1),
        # evaluate
        "evaluate-layout-None": lambda: _core.evaluate(None, params, X),
        "evaluate-params-None": lambda: _core.evaluate(lay, None, X),
        "evaluate-params-short": lambda: _core.evaluate(lay, params[:5].copy(), X),
        "evaluate-params-dtype": lambda: _core.evaluate(lay, params.astype(np.float32), X),
        "evaluate-X-None": lambda: _core.evaluate(lay, params, None),
        "evaluate-X-width": lambda: _core.evaluate(lay, params, np.zeros((6, 2))),
        "evaluate-X-dtype": lambda: _core.evaluate(lay, params, X.astype(np.float32)),
        "evaluate-X-fortran": lambda: _core.evaluate(lay, params, np.zeros((3, 6)).T),
        "evaluate-X-3d": lambda: _core.evaluate(lay, params, np.zeros((6, 3, 1))),
        "evaluate-out-rows": lambda: _core.evaluate(lay, params, X, out=np.zeros((5, 2))),
        "evaluate-out-width": lambda: _core.evaluate(lay, params, X, out=np.zeros((6, 3))),
        "evaluate-out-dtype": lambda: _core.evaluate(lay, params, X, out=np.zeros((6, 2), np.float32)),
        "evaluate-out-strided": lambda: _core.evaluate(lay, params, X, out=np.zeros((6, 4))[:, ::2]),
        "evaluate-y-missing": lambda: _core.evaluate(lay, params, X, None, want_cost=True),
        "evaluate-y-rows": lambda: _core.evaluate(lay, params, X[:4].copy(), y, want_correct=True),
        "evaluate-y-other-layout-labels": lambda: _core.evaluate(
            lay, params, X, _other_targets(7), want_cost=True, want_correct=True
        ),
        "evaluate-y-other-layout-targets": lambda: _core.evaluate(
            lay, params, X, _other_targets(1, labels=False), want_cost=True, want_correct=True
        ),
        "evaluate-y-other-dtype": lambda: _core.evaluate(
            lay, params, X, _other_targets(2, dtype=np.float32, labels=False), want_cost=True
        ),
        "evaluate-block-zero": lambda: _core.evaluate(lay, params, X, block=0),
        # helpers for tests
        "kernel_activate-b-short": lambda: _core.kernel_activate(np.zeros((2, 3)), np.zeros(2), "sigmoid"),
        "kernel_activate-b-None": lambda: _core.kernel_activate(np.zeros((2, 3)), None, "sigmoid"),
        "kernel_activate-z-None": lambda: _core.kernel_activate(None, np.zeros(3), "sigmoid"),
        "kernel_activate-mixed-dtypes": lambda: _core.kernel_activate(
            np.zeros((2, 3)), np.zeros(3, np.float32), "sigmoid"
        ),
        "kernel_activate-name": lambda: _core.kernel_activate(np.zeros((2, 3)), np.zeros(3), "swish"),
        "kernel_exp-None": lambda: _core.kernel_exp(None),
        "kernel_exp-2d": lambda: _core.kernel_exp(np.zeros((2, 2))),
        "kernel_exp-int": lambda: _core.kernel_exp(np.zeros(3, dtype=np.int64)),
        "fill_mask-negative-count": lambda: _core.fill_mask(1, -5, 3, 0.5),
        "fill_mask-dtype": lambda: _core.fill_mask(1, 5, 3, 0.5, np.int64),
        "fill_mask-p-one": lambda: _core.fill_mask(1, 5, 3, 1.0),
        "Trainer-n_threads-zero": lambda: _core.Trainer(lay, params, 2, n_threads=0),
        "Trainer-n_threads-huge": lambda: _core.Trainer(lay, params, 2, n_threads=10**30),
        "parameter_layout-None": lambda: _core.parameter_layout(None),
    }
    return c


CORE_CASES = _core_cases()


@pytest.mark.parametrize("case", sorted(CORE_CASES))
def test_core_entry_points_refuse_wrong_calls(case):
    """Each wrong direct call into the compiled core raises (never reads or writes out of bounds;
    tests/asan_check.sh runs these under AddressSanitizer)."""
    with pytest.raises((TypeError, ValueError, KeyError, OverflowError)):
        CORE_CASES[case]()


def test_core_wrong_calls_leave_buffers_untouched():
    lay, params, X, y = _core_setup()
    params[...] = np.arange(lay.n_params) / 100
    velocity = np.ones(lay.n_params)
    tr = _core.Trainer(lay, params, 2, velocity)
    before = params.copy(), velocity.copy()
    for bad in (
        lambda: tr.train(0, 1, 0.1),  # no run bound yet
        lambda: tr.begin(X, y, np.arange(6, dtype=np.intp)[::-1] * 2),
        lambda: tr.begin(X[:, :2].copy(), y),
        lambda: tr.begin(X, _other_targets(9)),
    ):
        with pytest.raises((TypeError, ValueError)):
            bad()
    tr.begin(X, y, momentum=0.5)
    with pytest.raises(ValueError, match="start/stop"):
        tr.train(0, 9, 0.1)
    assert np.array_equal(params, before[0]) and np.array_equal(velocity, before[1])


def test_core_refused_begin_keeps_the_bound_run():
    """A begin() that fails a check binds nothing: the previous run's data and settings stay."""
    lay, params, X, y = _core_setup()
    twin_params = params.copy()
    tr, twin = _core.Trainer(lay, params, 2), _core.Trainer(lay, twin_params, 2)
    rng = np.random.default_rng(1)
    X[...] = rng.random(X.shape)
    for t in (tr, twin):
        t.begin(X, y, None, 1.0)
    with pytest.raises(ValueError, match="momentum"):
        tr.begin(np.zeros((4, 3)), _core.Targets(lay, np.ones(4, np.intp), None, 4), momentum=0.5)
    assert tr.train(0, 3, 0.5) == twin.train(0, 3, 0.5)
    assert np.array_equal(params, twin_params) and not np.array_equal(params, np.zeros_like(params))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_core_accepts_read_only_inputs(dtype):
    """Inputs the core only reads (X, labels, targets, perm, the parameters in evaluate) may be
    read-only arrays (np.load(mmap_mode='r'), broadcast views, ...)."""
    lay, _params, X, _ = _core_setup(dtype)
    rng = np.random.default_rng(0)
    X = rng.random((6, 3)).astype(dtype)
    labels = np.array([0, 1, 1, 0, 1, 0], dtype=np.intp)
    targets = rng.random((6, 2)).astype(dtype)
    perm = np.array([5, 4, 3, 2, 1, 0], dtype=np.intp)
    for a in (X, labels, targets, perm):
        a.flags.writeable = False
    for y in (_core.Targets(lay, labels, None, 6), _core.Targets(lay, None, targets, 6)):
        p = (rng.standard_normal(lay.n_params)).astype(dtype)
        tr = _core.Trainer(lay, p, 2)
        tr.begin(X, y, perm, 0.1)
        tr.train(0, 3, 0.5)
        assert np.all(np.isfinite(p))
        p.flags.writeable = False
        cost, correct = _core.evaluate(lay, p, X, y, want_cost=True, want_correct=True)
        assert np.isfinite(cost) and 0 <= correct <= 6


# =================================================================================================
# Memory: no growth over 100,000 calls
# =================================================================================================
def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _growth(fn, calls, warmup=2000):
    for _ in range(warmup):
        fn()
    gc.collect()
    start = _rss_bytes()
    for _ in range(calls):
        fn()
    gc.collect()
    return _rss_bytes() - start


LIMIT = 2 * 2**20  # "within a few MB": noise measured ~0; one leaked float per call is ~3 MB
memory_test = pytest.mark.skipif(
    not os.path.exists("/proc/self/statm") or os.environ.get("FASTNN_ASAN") == "1",
    reason="needs /proc/self/statm, and means nothing under ASan (its quarantine keeps freed memory)",
)


@pytest.mark.slow
@memory_test
def test_no_memory_growth_over_100k_inference_calls():
    X, y = _data(8)
    net = fastnn.Network(SIZES, seed=0)
    grown = _growth(lambda: net.feedforward(X), 100_000)
    assert grown < LIMIT, f"feedforward: RSS grew by {grown / 2**20:.1f} MiB"
    lay, params = _state.layout(net), _state.parameters(net)
    t = _core.Targets(lay, y.astype(np.intp), None, 8)
    grown = _growth(lambda: _core.evaluate(lay, params, X, t, want_cost=True, want_correct=True), 100_000)
    assert grown < LIMIT, f"evaluate: RSS grew by {grown / 2**20:.1f} MiB"


@pytest.mark.slow
@memory_test
def test_no_memory_growth_over_100k_one_batch_trainings():
    X, y = _data(8)
    net = fastnn.Network(SIZES, seed=0)
    t = _core.Targets(_state.layout(net), y.astype(np.intp), None, 8)
    trainer = _core.Trainer(_state.layout(net), _state.parameters(net), 8)
    trainer.begin(X, t)
    grown = _growth(lambda: trainer.train(0, 1, 0.01), 100_000)
    assert grown < LIMIT, f"Trainer.train: RSS grew by {grown / 2**20:.1f} MiB"
    # the whole public call: validation, Trainer and History per call (fewer calls: ~100 µs each)
    grown = _growth(lambda: net.SGD((X, y), 1, 8, 0.01, momentum=0.5), 100_000, warmup=1000)
    assert grown < LIMIT, f"SGD: RSS grew by {grown / 2**20:.1f} MiB"
    assert np.all(np.isfinite(_state.parameters(net)))


@pytest.mark.slow
@memory_test
def test_no_memory_growth_over_refused_calls():
    X, y = _data(8)
    X[3, 1] = np.nan
    net = fastnn.Network(SIZES, seed=0)

    def refused():
        try:
            net.SGD((X, y), 1, 8, 0.1)
        except ValueError:
            pass
        try:
            _core.evaluate(_state.layout(net), _state.parameters(net), X[:, :2].copy())
        except ValueError:
            pass

    grown = _growth(refused, 30_000, warmup=1000)
    assert grown < LIMIT, f"refused calls: RSS grew by {grown / 2**20:.1f} MiB"
