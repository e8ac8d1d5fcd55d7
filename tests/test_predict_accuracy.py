"""One rule for predict and accuracy (the argmax of zᴸ; one sigmoid output: z ≥ 0), one output
neuron (sigmoid: classes 0/1; linear: no accuracy), saturated outputs.
"""

import numpy as np
import pytest
from conftest import assert_unchanged, snapshot

import fastnn
from fastnn import reference


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
