"""Hardening round 2 (issue #10): wrong answers and errors that changed state.

weights[l] item assignment, one-output accuracy, one rule for predict and accuracy (argmax of z),
the log-likelihood gradient with soft targets (finite differences for every cost, λ > 0), the data
cost in the history, the callback contract, a failed scikit-learn fit, momentum across SGD calls.
"""

import copy

import numpy as np
import pytest
from conftest import assert_unchanged, classification_data, numeric_gradient, snapshot

import fastnn
from fastnn import _state, reference


def _data(n=30, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


# ------------------------------------------------------------------------------------------------
# weights[l] / biases[l] item assignment (network2 code does it)
# ------------------------------------------------------------------------------------------------
def test_item_assignment_changes_the_network():
    net = fastnn.Network([4, 5, 3], seed=0)
    W = np.arange(20.0).reshape(5, 4) / 20
    net.weights[0] = W
    np.testing.assert_array_equal(net.weights[0], W)
    net.biases[1] = np.ones((3, 1))  # network2's column vector
    np.testing.assert_array_equal(net.biases[1], np.ones(3))
    net.weights[-1] = np.zeros((3, 5), dtype=np.float32)  # converted to the network's dtype
    assert net.weights[1].dtype == np.float64 and not net.weights[1].any()
    np.testing.assert_array_equal(net.feedforward(np.zeros((1, 4))), 1 / (1 + np.exp(-np.ones((1, 3)))))
    net.weights[0:2] = [np.zeros((5, 4)), np.ones((3, 5))]
    assert not net.weights[0].any() and net.weights[1].all()


def test_item_assignment_resets_the_velocity():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 1, 5, 0.1, momentum=0.5)
    assert np.any(_state.velocity(net) != 0)
    net.weights[0] = np.zeros((5, 4))
    assert _state.velocity(net) is None


@pytest.mark.parametrize(
    "name,index,value,exc,match",
    [
        ("weights", 0, np.zeros((4, 5)), ValueError, r"weights\[0\]: expected shape \(5, 4\)"),
        ("weights", 1, np.full((3, 5), np.nan), ValueError, r"weights\[1\].*NaN"),
        ("biases", 0, np.full(5, 1e400), ValueError, r"biases\[0\].*infinity"),
        ("weights", 0, np.full((5, 4), "x"), TypeError, r"weights\[0\]: expected numbers"),
        ("weights", 2, np.zeros((3, 5)), IndexError, r"weights\[2\]"),
        ("weights", "0", np.zeros((5, 4)), TypeError, "integers"),
        ("biases", slice(0, 2), [np.zeros(5)], ValueError, "number of layers is fixed"),
    ],
)
def test_item_assignment_validates_like_the_list_setter(name, index, value, exc, match):
    net = fastnn.Network([4, 5, 3], seed=0)
    before = snapshot(net)
    with pytest.raises(exc, match=match):
        getattr(net, name)[index] = value
    assert_unchanged(net, before)


def test_float32_overflow_in_item_assignment_is_refused():
    net = fastnn.Network([4, 5, 3], seed=0, dtype=np.float32)
    with pytest.raises(ValueError, match="infinity"):
        net.weights[0] = np.full((5, 4), 1e40)


@pytest.mark.parametrize(
    "op",
    [
        lambda l: l.append(np.zeros((3, 5))),
        lambda l: l.insert(0, 1),
        lambda l: l.pop(),
        lambda l: l.__delitem__(0),
        lambda l: l.extend([1]),
        lambda l: l.clear(),
        lambda l: l.remove(l[0]),
        lambda l: l.sort(),
        lambda l: l.reverse(),
        lambda l: l.__iadd__([1]),
        lambda l: l.__imul__(2),
    ],
)
def test_changing_the_number_of_layers_is_refused(op):
    net = fastnn.Network([4, 5, 3], seed=0)
    for lst in (net.weights, net.biases):
        with pytest.raises(TypeError, match="number of layers is fixed"):
            op(lst)
    assert len(net.weights) == len(net.biases) == 2


def test_weights_still_behave_as_a_list_of_views():
    net = fastnn.Network([4, 5, 3], seed=0)
    w = net.weights
    assert isinstance(w, list) and len(w) == 2 and w[0].shape == (5, 4)
    w[0][0, 0] = 7.0  # a view: writes through, as before
    assert net.weights[0][0, 0] == 7.0


# ------------------------------------------------------------------------------------------------
# one output neuron; one rule for predict and accuracy
# ------------------------------------------------------------------------------------------------
def _one_output(output="sigmoid", cost="cross-entropy"):
    net = fastnn.Network([2, 1], cost=cost, output=output, seed=0)
    net.weights = [np.array([[1.0, -1.0]])]
    net.biases = [np.zeros(1)]
    return net


def test_one_sigmoid_output_accuracy_and_predict():
    net = _one_output()
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.9]])  # z = 1, -1, 0, -0.7
    np.testing.assert_array_equal(net.predict(X), [1, 0, 1, 0])
    assert net.accuracy(X, np.array([1, 0, 1, 0])) == 4
    assert net.accuracy(X, np.array([0, 1, 0, 1])) == 0  # no longer always n/n
    assert net.accuracy(X, np.array([0.9, 0.2, 0.5, 0.49])) == 4  # soft targets: y >= 0.5
    assert net.accuracy(X, np.array([[0.9], [0.7], [0.1], [0.0]])) == 2
    ref = reference.ReferenceNetwork([2, 1], net.weights, net.biases)
    assert ref.accuracy(X, np.array([0.9, 0.2, 0.5, 0.49])) == 4


def test_one_sigmoid_output_early_stopping_follows_the_real_accuracy():
    rng = np.random.default_rng(1)
    X = rng.random((200, 2))
    y = (X[:, 0] > X[:, 1]).astype(float)
    net = fastnn.Network([2, 1], seed=3)
    net.weights = [np.array([[-1.0, 1.0]])]  # starts wrong: accuracy well below n
    net.SGD((X, y), 30, 10, 1.0, evaluation_data=(X, y), early_stopping=5, monitor_evaluation_accuracy=True)
    acc = net.history.column("evaluation_accuracy")
    assert acc[0] < 150 and max(acc) > 180
    assert net.history.best_epoch > 1
    assert net.accuracy(X, y) == max(acc)


def test_one_linear_output_has_no_accuracy():
    net = _one_output("linear", "quadratic")
    X, y = np.random.default_rng(0).random((10, 2)), np.random.default_rng(1).random(10)
    for call in (lambda: net.accuracy(X, y), lambda: net.score(X, y)):
        with pytest.raises(ValueError, match='stopping_metric="cost"'):
            call()
    assert not net.predict(X).any()  # the argmax of one column (as the ONNX label)
    before = snapshot(net)
    for kwargs in (
        dict(monitor_evaluation_accuracy=True),
        dict(monitor_training_accuracy=True),
        dict(early_stopping=2),
        dict(eta_schedule=2),
    ):
        with pytest.raises(ValueError, match='stopping_metric="cost"'):
            net.SGD((X, y), 2, 5, 0.1, evaluation_data=(X, y), **kwargs)
        assert_unchanged(net, before)
    net.SGD(
        (X, y),
        3,
        5,
        0.1,
        evaluation_data=(X, y),
        early_stopping=2,
        stopping_metric="cost",
        monitor_evaluation_cost=True,
    )
    assert all(r.evaluation_accuracy is None for r in net.history.records)


def test_predict_and_accuracy_agree_when_sigmoid_outputs_saturate():
    net = fastnn.Network([1, 2], seed=0)
    net.weights = [np.array([[1.0], [1.0]])]
    net.biases = [np.array([39.0, 44.0])]  # z = 40, 45: a = [1.0, 1.0] exactly
    X = np.ones((1, 1))
    a = net.feedforward(X)
    assert a[0, 0] == a[0, 1] == 1.0
    assert net.predict(X)[0] == 1
    assert net.accuracy(X, np.array([1])) == 1 and net.accuracy(X, np.array([0])) == 0
    ref = reference.ReferenceNetwork([1, 2], net.weights, net.biases)
    assert ref.predict(X)[0] == 1 and ref.accuracy(X, np.array([1])) == 1


def test_softmax_predict_uses_z():
    net = fastnn.Network([1, 2], cost="log-likelihood", seed=0)
    net.weights = [np.zeros((2, 1))]
    net.biases = [np.array([1000.0, 1000.0 + 1e-10])]
    assert net.predict(np.zeros((1, 1)))[0] == 1


# ------------------------------------------------------------------------------------------------
# gradients: finite differences for every cost, λ > 0, soft targets (rows not summing to 1)
# ------------------------------------------------------------------------------------------------
GRAD_CASES = [
    ("quadratic", "sigmoid"),
    ("quadratic", "linear"),
    ("cross-entropy", "sigmoid"),
    ("log-likelihood", "softmax"),
]


def _soft_targets(rng, n, k, cost):
    Y = rng.random((n, k))
    if cost == "log-likelihood":
        Y[0] = [1.0] + [1.0] * (k - 1)  # multi-label row, sum k
        Y[1] = 0.3 / k  # sum 0.3
    return Y


@pytest.mark.parametrize("lmbda", [0.0, 0.7])
@pytest.mark.parametrize("cost,output", GRAD_CASES)
def test_core_step_is_the_gradient_of_the_total_cost(cost, output, lmbda):
    """One full-batch SGD step of the core, w_new = w − η∇J, against central finite differences
    of J = total_cost(X, Y, λ) = mean cost + ½(λ/n)Σw², with soft targets."""
    rng = np.random.default_rng(5)
    n, sizes = 7, [3, 4, 3]
    X = rng.random((n, sizes[0]))
    Y = _soft_targets(rng, n, sizes[-1], cost)
    net = fastnn.Network(sizes, cost=cost, output=output, seed=2)
    p0 = _state.parameters(net).copy()
    eta = 1e-3
    net.SGD((X, Y), 1, n, eta, lmbda, shuffle=False)
    grad_core = (p0 - _state.parameters(net)) / eta
    _state.parameters(net)[...] = p0
    fd = numeric_gradient(lambda: net.total_cost(X, Y, lmbda), _state.parameters(net))
    np.testing.assert_allclose(grad_core, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("lmbda", [0.0, 0.7])
@pytest.mark.parametrize("cost,output", GRAD_CASES)
def test_reference_backprop_is_the_gradient_of_the_total_cost(cost, output, lmbda):
    rng = np.random.default_rng(6)
    n, sizes = 6, [3, 5, 4]
    X = rng.random((n, sizes[0]))
    Y = _soft_targets(rng, n, sizes[-1], cost)
    net = fastnn.Network(sizes, cost=cost, output=output, seed=4)
    ref = reference.ReferenceNetwork(sizes, net.weights, net.biases, cost=cost, output=output)
    nabla_b, nabla_w = ref.backprop(X, Y)

    def cost():
        return ref.total_cost(X, Y, lmbda)

    for l in range(len(sizes) - 1):
        want_w = nabla_w[l] / n + (lmbda / n) * ref.weights[l]
        np.testing.assert_allclose(numeric_gradient(cost, ref.weights[l]), want_w, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(
            numeric_gradient(cost, ref.biases[l]), nabla_b[l] / n, rtol=1e-5, atol=1e-7
        )


def test_log_likelihood_soft_targets_core_matches_reference():
    rng = np.random.default_rng(7)
    X = rng.random((20, 4))
    Y = rng.random((20, 3)) * 2  # rows summing to anything in [0, 6]
    Y = np.clip(Y, 0, 1)
    net = fastnn.Network([4, 5, 3], cost="log-likelihood", seed=1)
    ref = reference.ReferenceNetwork(
        [4, 5, 3], net.weights, net.biases, cost="log-likelihood", output="softmax"
    )
    net.SGD((X, Y), 2, 5, 0.3, 0.2, shuffle=False)
    ref.SGD((X, Y), 2, 5, 0.3, 0.2)
    for a, b in zip(net.weights + net.biases, ref.weights + ref.biases):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------------
# the data cost in the history
# ------------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------------
# the callback contract
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("callback", [lambda: None, lambda a, b: None, lambda *, rec: None])
def test_callback_that_cannot_take_the_record_is_refused_before_training(callback):
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 1, 5, 0.5)
    before = snapshot(net)
    with pytest.raises(TypeError, match="callback: must accept one positional argument"):
        net.SGD((X, y), 2, 5, 0.5, callback=callback)
    assert_unchanged(net, before)


class _Counter:
    def __init__(self):
        self.seen = []

    def __call__(self, rec, extra=None):
        self.seen.append(rec.epoch)


@pytest.mark.parametrize("callback", [_Counter(), lambda *args: None, print, lambda rec, extra=1: None])
def test_callbacks_that_take_one_argument_are_accepted(callback, capsys):
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 2, 5, 0.5, callback=callback)
    assert len(net.history.records) == 2


def test_callback_returning_false_stops_cleanly():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 10, 5, 0.5, callback=lambda rec: rec.epoch < 3)
    assert len(net.history.records) == 3 and net.history.stop_reason == "callback"
    net.SGD((X, y), 3, 5, 0.5, callback=lambda rec: 0)  # only False stops
    assert net.history.stop_reason == "completed"


def test_raising_callback_keeps_its_epoch_and_says_callback_error():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    seen = {}

    def boom(rec):
        if rec.epoch == 2:
            seen["params"] = _state.parameters(net).copy()
            raise RuntimeError("user code failed")

    with pytest.raises(RuntimeError, match="user code failed"):
        net.SGD((X, y), 5, 5, 0.5, evaluation_data=(X, y), early_stopping=5, callback=boom)
    assert net.history.stop_reason == "callback-error"
    assert [r.epoch for r in net.history.records] == [1, 2]
    np.testing.assert_array_equal(_state.parameters(net), seen["params"])
    assert "callback-error" in fastnn.history.STOP_REASONS


# ------------------------------------------------------------------------------------------------
# momentum across SGD calls (documented: the velocity carries over)
# ------------------------------------------------------------------------------------------------
def test_momentum_velocity_carries_over_between_calls_even_through_momentum_zero():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 1, 5, 0.5, momentum=0.9, shuffle=False)
    v1 = _state.velocity(net).copy()
    net.SGD((X, y), 1, 5, 0.5, momentum=0.0, shuffle=False)
    np.testing.assert_array_equal(_state.velocity(net), v1)  # not used, not changed

    twin = copy.deepcopy(net)
    fresh = copy.deepcopy(net)
    _state.velocity(fresh)[...] = 0.0
    net.SGD((X, y), 1, 5, 0.5, momentum=0.9, shuffle=False)
    _state.velocity(twin)[...] = v1
    twin.SGD((X, y), 1, 5, 0.5, momentum=0.9, shuffle=False)
    fresh.SGD((X, y), 1, 5, 0.5, momentum=0.9, shuffle=False)
    np.testing.assert_array_equal(_state.parameters(net), _state.parameters(twin))  # continued from v1
    assert not np.array_equal(_state.parameters(net), _state.parameters(fresh))


def test_momentum_velocity_is_reset_by_reinitialising():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 1, 5, 0.5, momentum=0.9)
    net.default_weight_initializer()
    assert _state.velocity(net) is None


# ------------------------------------------------------------------------------------------------
# scikit-learn: a failed fit leaves the estimator as it was
# ------------------------------------------------------------------------------------------------
def test_failed_refit_leaves_the_classifier_consistent():
    from fastnn.sklearn import NetworkClassifier

    rng = np.random.default_rng(0)
    X4, y = rng.random((60, 4)), rng.integers(0, 3, 60)
    X5 = rng.random((60, 5))
    clf = NetworkClassifier(hidden_layer_sizes=(5,), epochs=3, random_state=0).fit(X4, y)
    before = clf.predict_proba(X4)
    net_before = clf.network_
    with pytest.raises((FloatingPointError, ValueError)):
        clf.set_params(eta=1e308).fit(X5, y)
    assert clf.n_features_in_ == 4 and clf.network_ is net_before
    np.testing.assert_array_equal(clf.predict_proba(X4), before)


def test_failed_warm_start_fit_leaves_the_network_untouched():
    from fastnn.sklearn import NetworkRegressor

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 3)), rng.random(60)
    reg = NetworkRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, y)
    params = _state.parameters(reg.network_).copy()
    n_iter = reg.n_iter_
    with pytest.raises((FloatingPointError, ValueError)):
        reg.set_params(warm_start=True, eta=1e308).fit(X, y * 1e300)
    np.testing.assert_array_equal(_state.parameters(reg.network_), params)
    assert reg.n_iter_ == n_iter


def test_failed_first_fit_leaves_the_estimator_unfitted():
    from sklearn.exceptions import NotFittedError

    from fastnn.sklearn import NetworkClassifier

    rng = np.random.default_rng(0)
    clf = NetworkClassifier(eta=1e308, epochs=2, random_state=0)
    with pytest.raises((FloatingPointError, ValueError)):
        clf.fit(rng.random((30, 4)), rng.integers(0, 2, 30))
    assert not hasattr(clf, "n_features_in_")
    with pytest.raises(NotFittedError):
        clf.predict(rng.random((2, 4)))
