"""The training step is the gradient of the total cost: finite differences for every cost, λ > 0,
soft targets (rows not summing to 1), for the compiled core and the reference.
"""

import numpy as np
import pytest
from conftest import numeric_gradient

import fastnn
from fastnn import _state, reference

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
