"""Every bad input gets a clear error naming the argument, expected and actual, before anything
changes: shapes, types (conversions and refusals), values and hyper-parameters.
"""

import numpy as np
import pytest
from conftest import assert_unchanged, classification_data, snapshot

import fastnn
import fastnn._network_data as network_data
from fastnn import _state

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
