"""The exercises and problems of chapter 3 of *Neural Networks and Deep Learning*, one test each.

Every claim is observed in fastnn itself: a training step taken by the compiled core (``SGD``), the
cost it reports (``total_cost``), its outputs (``feedforward``) or the compiled softmax kernel
(``fastnn.softmax``). numpy only builds inputs and compares. docs/chapter3.md links each test to the
book's text.
"""

import numpy as np
import pytest

import fastnn

RTOL = 1e-8  # step-derived gradient vs central finite differences of total_cost (float64)


# --------------------------------------------------------------------------------------------------
# helpers: one SGD step of the compiled core, and finite differences of its total_cost
# --------------------------------------------------------------------------------------------------
def _params(net):
    return [w.copy() for w in net.weights], [b.copy() for b in net.biases]


def sgd_step(net, X, y, eta, lmbda=0.0):
    """One full-batch SGD step; returns (weights, biases) before and after it."""
    before = _params(net)
    net.SGD((X, y), 1, len(X), eta, lmbda=lmbda, shuffle=False)
    return before, _params(net)


def step_gradient(before, after, eta):
    """∂C/∂w, ∂C/∂b read off one plain SGD step: (before − after) / η."""
    return (
        [(w0 - w1) / eta for w0, w1 in zip(before[0], after[0])],
        [(b0 - b1) / eta for b0, b1 in zip(before[1], after[1])],
    )


def fd_gradient(net, X, y, h=1e-3):
    """Finite differences of net.total_cost(X, y) (the mean cost) for every weight and bias, moving
    one parameter at a time through the public weights/biases setters. Five-point stencil: error
    O(h⁴) ~ 1e-12, well above the last-bit noise of the compiled exp divided by h."""
    W, B = _params(net)
    gW = [np.zeros_like(w) for w in W]
    gB = [np.zeros_like(b) for b in B]
    for params, grads, name in ((W, gW, "weights"), (B, gB, "biases")):
        for p, g in zip(params, grads):
            for idx in np.ndindex(p.shape):
                old = p[idx]
                costs = {}
                for k in (-2, -1, 1, 2):
                    p[idx] = old + k * h
                    setattr(net, name, params)
                    costs[k] = net.total_cost(X, y)
                p[idx] = old
                setattr(net, name, params)
                g[idx] = (costs[-2] - 8 * costs[-1] + 8 * costs[1] - costs[2]) / (12 * h)
    net.weights, net.biases = W, B
    return gW, gB


def assert_step_is_gradient(net, X, y, eta=0.5):
    """The compiled SGD step equals −η × (finite differences of total_cost); returns the
    activations before the step, the parameters before and after."""
    gW_fd, gB_fd = fd_gradient(net, X, y)
    a = net.feedforward(X)
    before, after = sgd_step(net, X, y, eta)
    gW, gB = step_gradient(before, after, eta)
    for l, (g, f) in enumerate(zip(gW + gB, gW_fd + gB_fd)):
        np.testing.assert_allclose(g, f, rtol=RTOL, atol=1e-9, err_msg=f"parameter array {l}")
    return a, before, after


def one_hot(labels, n):
    return np.eye(n)[labels]


rng = np.random.default_rng


# --------------------------------------------------------------------------------------------------
# 3.1 The cross-entropy cost function
# --------------------------------------------------------------------------------------------------
def test_sigmoid_prime_is_sigma_times_one_minus_sigma():
    """Exercise (σ'): σ'(z) = σ(z)(1 − σ(z)). One SGD step of a one-neuron quadratic-cost network
    moves the bias by −η(a − y)σ'(z) = −η(a − y)a(1 − a) and the weight by that times x; and
    finite differences of the neuron's output in b give a(1 − a)."""
    eta = 0.15
    for w, b, x, t in [
        (0.6, 0.9, 1.0, 0.0),
        (2.0, 2.0, 1.0, 0.0),
        (-1.3, 0.4, 0.7, 1.0),
        (0.2, -3.0, -2.0, 0.25),
    ]:
        net = fastnn.Network([1, 1], cost="quadratic")
        net.weights, net.biases = [np.array([[w]])], [np.array([b])]
        X, y = np.array([[x]]), np.array([[t]])
        a = net.feedforward(X)[0, 0]
        h = 1e-6
        net.biases = [np.array([b + h])]
        up = net.feedforward(X)[0, 0]
        net.biases = [np.array([b - h])]
        down = net.feedforward(X)[0, 0]
        net.biases = [np.array([b])]
        assert (up - down) / (2 * h) == pytest.approx(a * (1 - a), rel=1e-7)
        (W0, B0), (W1, B1) = sgd_step(net, X, y, eta)
        assert B1[0][0] - B0[0][0] == pytest.approx(-eta * (a - t) * a * (1 - a), rel=1e-12)
        assert W1[0][0, 0] - W0[0][0, 0] == pytest.approx(-eta * (a - t) * a * (1 - a) * x, rel=1e-12)


def test_cross_entropy_roles_of_y_and_a():
    """Exercise (roles of y and a): C = −[y ln a + (1 − y) ln(1 − a)] is the right expression;
    the swapped −[a ln y + (1 − a) ln(1 − y)] is undefined for the targets y ∈ {0, 1} that
    classification uses. fastnn's cross-entropy follows the first form (checked at an unsaturated
    output) and stays finite for y ∈ {0, 1} even when the output saturates to exactly 0 or 1,
    where the swapped form is infinite or NaN."""
    net = fastnn.Network([1, 1], cost="cross-entropy")
    net.weights = [np.array([[1.0]])]
    for z, y in [(0.8473, 0.2), (-1.2, 0.9)]:  # unsaturated: the roles are visible
        net.biases = [np.array([z])]
        a = net.feedforward([[0.0]])[0, 0]
        c = net.total_cost([[0.0]], [[y]])
        assert c == pytest.approx(-(y * np.log(a) + (1 - y) * np.log(1 - a)), rel=1e-12)
        assert c != pytest.approx(-(a * np.log(y) + (1 - a) * np.log(1 - y)), rel=1e-3)
    for z, y, expected in [(800.0, 1.0, 0.0), (800.0, 0.0, 800.0), (-800.0, 0.0, 0.0), (-800.0, 1.0, 800.0)]:
        net.biases = [np.array([z])]
        a = net.feedforward([[0.0]])[0, 0]
        assert a == 1.0 if z > 0 else a < 1e-300  # saturated: 1 exactly, or ~0
        c = net.total_cost([[0.0]], [[y]])
        assert np.isfinite(c) and c == pytest.approx(expected, abs=1e-9)
        with np.errstate(divide="ignore", invalid="ignore"):
            swapped = -(a * np.log(y) + (1 - a) * np.log(1 - y))
        assert not np.isfinite(swapped)


def test_cross_entropy_minimised_at_a_equals_y():
    """Exercise (0 < y < 1): the cross-entropy is still minimised when σ(z) = y, though the
    minimum is then the entropy −[y ln y + (1 − y) ln(1 − y)] > 0, not 0. A single layer of
    sigmoid neurons trained by fastnn on the soft targets 0.1, 0.3, 0.5, 0.9 converges to a = y,
    and moving any output away from y raises fastnn's cost."""
    targets = np.array([[0.1, 0.3, 0.5, 0.9]])
    X = np.array([[1.0]])
    net = fastnn.Network([1, 4], cost="cross-entropy", seed=0)
    net.SGD((X, targets), 300, 1, 1.0, shuffle=False)
    a = net.feedforward(X)
    np.testing.assert_allclose(a, targets, atol=1e-8)
    entropy = -np.sum(targets * np.log(targets) + (1 - targets) * np.log(1 - targets))
    best = net.total_cost(X, targets)
    assert best == pytest.approx(entropy, rel=1e-8) and best > 0
    b = net.biases[0].copy()
    for j in range(4):
        for dz in (-0.05, 0.05):
            moved = b.copy()
            moved[j] += dz
            net.biases = [moved]
            assert net.total_cost(X, targets) > best
    net.biases = [b]


def test_many_layer_cross_entropy_delta_is_a_minus_y():
    """Exercise (many-layer multi-neuron networks): with the cross-entropy cost and sigmoid outputs
    δᴸ = aᴸ − y, so ∂C/∂w and ∂C/∂b carry no σ'(zᴸ) factor. One SGD step of fastnn's compiled core
    on a [4, 5, 3, 2] network equals −η × finite differences of total_cost for every parameter,
    and the last layer's bias step is −η·mean(a − y)."""
    r = rng(3)
    X = r.normal(size=(6, 4))
    labels = np.array([0, 1, 1, 0, 1, 0])
    net = fastnn.Network([4, 5, 3, 2], cost="cross-entropy", seed=3)
    eta = 0.5
    a, before, after = assert_step_is_gradient(net, X, labels, eta)
    step = after[1][-1] - before[1][-1]
    np.testing.assert_allclose(step, -eta * (a - one_hot(labels, 2)).mean(axis=0), rtol=1e-10)


def test_linear_output_quadratic_delta_is_a_minus_y():
    """Problem (linear output neurons): with linear output neurons and the quadratic cost,
    δᴸ = aᴸ − y, so the quadratic cost does not slow learning in the output layer. One SGD step of
    a [4, 5, 3] quadratic + linear network equals −η × finite differences of total_cost, and the
    last layer's bias step is −η·mean(a − y)."""
    r = rng(4)
    X = r.normal(size=(6, 4))
    y = r.normal(size=(6, 3))
    net = fastnn.Network([4, 5, 3], cost="quadratic", output="linear", seed=4)
    eta = 0.2
    a, before, after = assert_step_is_gradient(net, X, y, eta)
    step = after[1][-1] - before[1][-1]
    np.testing.assert_allclose(step, -eta * (a - y).mean(axis=0), rtol=1e-10)


def test_x_j_term_cannot_be_removed():
    """Exercise (the x_j term): ∂C/∂w_j = x_j(σ(z) − y) (eq. 61) — the weight's gradient is
    proportional to its input, so it cannot be made independent of x_j: an input that is 0 in
    every example never teaches its weights. In fastnn, under every cost, one SGD step leaves the
    weights of an always-zero input exactly where the L2 shrink (1 − ηλ/n) puts them (unchanged
    for λ = 0) while the other weights learn; and a single neuron's weight steps are x_j times its
    bias step."""
    r = rng(5)
    X = r.normal(size=(6, 4))
    X[:, 2] = 0.0
    labels = np.array([0, 1, 2, 1, 0, 2])
    cases = [
        ("quadratic", "sigmoid", one_hot(labels, 3)),
        ("quadratic", "linear", r.normal(size=(6, 3))),
        ("cross-entropy", "sigmoid", labels),
        ("log-likelihood", "softmax", labels),
    ]
    eta, n = 0.5, len(X)
    for cost, output, y in cases:
        for lmbda in (0.0, 1.0):
            net = fastnn.Network([4, 5, 3], cost=cost, output=output, seed=5)
            (W0, _), (W1, _) = sgd_step(net, X, y, eta, lmbda)
            shrink = 1 - eta * lmbda / n
            np.testing.assert_allclose(
                W1[0][:, 2],
                shrink * W0[0][:, 2],
                rtol=1e-14,
                atol=0,
                err_msg=f"{cost}+{output}, lambda={lmbda}",
            )
            learned = np.abs(W1[0][:, [0, 1, 3]] - shrink * W0[0][:, [0, 1, 3]])
            assert learned.min() > 1e-8, f"{cost}+{output}: the other inputs' weights must learn"
    x = np.array([[0.5, -2.0, 0.0]])
    net = fastnn.Network([3, 1], cost="cross-entropy", seed=6)
    (W0, B0), (W1, B1) = sgd_step(net, x, [[1.0]], 0.3)
    np.testing.assert_allclose(W1[0][0] - W0[0][0], x[0] * (B1[0][0] - B0[0][0]), rtol=1e-12, atol=1e-300)


# --------------------------------------------------------------------------------------------------
# 3.1.4 Softmax
# --------------------------------------------------------------------------------------------------
def test_softmax_outputs_sum_to_one_sigmoid_outputs_need_not():
    """Exercise (sigmoid outputs need not sum to 1): the softmax outputs of a network form a
    probability distribution (positive, summing to 1, eq. 79); sigmoid outputs are each in (0, 1)
    but their sum can be anything in (0, n)."""
    X = rng(7).normal(size=(50, 5)) * 3
    sig = fastnn.Network([5, 4, 10], cost="cross-entropy", weight_init="large", seed=7).feedforward(X)
    assert np.all((sig > 0) & (sig < 1))
    sums = sig.sum(axis=1)
    assert np.max(np.abs(sums - 1)) > 0.5, sums  # far from 1 ...
    assert np.ptp(sums) > 0.5, sums  # ... and not constant either
    soft = fastnn.Network([5, 4, 10], cost="log-likelihood", weight_init="large", seed=7).feedforward(X)
    assert np.all(soft > 0)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=0, atol=1e-13)


def _softmax_jacobian(z, h=1e-6):
    """J[j, k] = ∂a_j/∂z_k by central differences of the compiled fastnn.softmax."""
    n = len(z)
    J = np.empty((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = h
        J[:, k] = (fastnn.softmax(z + e) - fastnn.softmax(z - e)) / (2 * h)
    return J


def test_softmax_monotonicity():
    """Exercise (monotonicity of softmax): ∂a_j/∂z_k is positive for j = k and negative for j ≠ k,
    so raising z_j raises a_j and lowers every other output. Finite differences of the compiled
    softmax (∂a_j/∂z_k = a_j(δ_jk − a_k)), and a softmax network whose output bias b_j is raised."""
    for z in (rng(8).normal(size=6), np.array([5.0, -3.0, 0.0, 0.0, 12.0])):
        J = _softmax_jacobian(z)
        assert np.all(np.diag(J) > 0)
        assert np.all(J[~np.eye(len(z), dtype=bool)] < 0)
        a = fastnn.softmax(z)
        np.testing.assert_allclose(J, np.diag(a) - np.outer(a, a), rtol=1e-6, atol=1e-10)
    net = fastnn.Network([3, 4], cost="log-likelihood", seed=8)
    X = rng(9).normal(size=(5, 3))
    a0 = net.feedforward(X)
    for j in range(4):
        b = net.biases[0].copy()
        b[j] += 0.1
        moved = fastnn.Network([3, 4], cost="log-likelihood", seed=8)
        moved.biases = [b]
        a1 = moved.feedforward(X)
        assert np.all(a1[:, j] > a0[:, j])
        assert np.all(np.delete(a1 - a0, j, axis=1) < 0)


def test_softmax_non_locality():
    """Exercise (non-locality of softmax): each output a_j depends on ALL the weighted inputs, not
    only z_j (a sigmoid output depends only on its own z_j). Every entry of the compiled softmax's
    finite-difference Jacobian is non-zero; changing one output bias of a softmax network moves
    every output, while in a sigmoid network it moves only its own."""
    J = _softmax_jacobian(rng(10).normal(size=5))
    assert np.all(np.abs(J) > 1e-4)
    X = rng(11).normal(size=(5, 3))
    for cost, every in (("log-likelihood", True), ("cross-entropy", False)):
        net = fastnn.Network([3, 4], cost=cost, seed=11)
        a0 = net.feedforward(X)
        b = net.biases[0].copy()
        b[0] += 0.5
        net.biases = [b]
        changed = np.abs(net.feedforward(X) - a0) > 1e-6
        assert np.all(changed[:, 0])
        assert np.all(changed[:, 1:]) if every else not np.any(changed[:, 1:])


def test_inverting_softmax():
    """Exercise (inverting the softmax layer): a_j = e^{z_j}/Σ_k e^{z_k} gives z_j = ln a_j + C
    with C independent of j (C = ln Σ_k e^{z_k}). For a one-layer softmax network fastnn's outputs
    satisfy ln a_j − z_j = −ln Σ_k e^{z_k} for every j of a row, z = x·Wᵀ + b; so does the
    compiled fastnn.softmax."""
    from scipy.special import logsumexp

    X = rng(12).normal(size=(8, 3))
    net = fastnn.Network([3, 5], cost="log-likelihood", seed=12)
    z = X @ net.weights[0].T + net.biases[0]
    diff = np.log(net.feedforward(X)) - z
    np.testing.assert_allclose(diff, np.broadcast_to(diff[:, :1], diff.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(diff[:, 0], -logsumexp(z, axis=1), rtol=1e-12, atol=1e-12)
    z = rng(13).normal(size=(4, 7)) * 4
    diff = np.log(fastnn.softmax(z)) - z
    assert np.ptp(diff, axis=1).max() < 1e-12


def test_log_likelihood_gradients_equations_81_82():
    """Problem (eqs. 81–82): for softmax outputs with the log-likelihood cost,
    ∂C/∂b_j = a_j − y_j (81) and ∂C/∂w_jk = a_k^{L−1}(a_j − y_j) (82). A one-layer softmax network's
    SGD step moves b by −η·mean(a − y) and W by −η·mean((a − y)ᵀ x); for a [4, 5, 3] network the
    step equals −η × finite differences of total_cost for every parameter."""
    r = rng(14)
    X = r.normal(size=(7, 4))
    labels = np.array([0, 2, 1, 2, 0, 1, 1])
    eta = 0.4
    net = fastnn.Network([4, 3], cost="log-likelihood", seed=14)
    a = net.feedforward(X)
    (W0, B0), (W1, B1) = sgd_step(net, X, labels, eta)
    d = a - one_hot(labels, 3)
    np.testing.assert_allclose(B1[0] - B0[0], -eta * d.mean(axis=0), rtol=1e-10)  # (81)
    np.testing.assert_allclose(W1[0] - W0[0], -eta * d.T @ X / len(X), rtol=1e-10)  # (82)
    net = fastnn.Network([4, 5, 3], cost="log-likelihood", seed=15)
    assert_step_is_gradient(net, X, labels, eta)


def test_softmax_scale_c_tends_to_hard_max():
    """Problem (where does the "softmax" name come from?): a_j = e^{c z_j}/Σ_k e^{c z_k} is a
    probability distribution for every c > 0; as c → ∞ it tends to the one-hot vector of the
    largest z_j (a "hard" max; the softmax is a softened version), and a tie between m maxima gets
    1/m each. Observed through fastnn.softmax(z, c), the compiled output kernel."""
    z = np.array([0.3, 2.0, -1.0, 1.9, 0.0])
    shares = []
    for c in np.logspace(-3, 3, 25):
        a = fastnn.softmax(z, c=c)
        assert a.sum() == pytest.approx(1.0, abs=1e-13) and np.all(a >= 0)
        shares.append(a[1])
    shares = np.array(shares)
    assert np.all(np.diff(shares) >= 0) and np.all(np.diff(shares[shares < 1]) > 0)  # it grows ...
    np.testing.assert_allclose(fastnn.softmax(z, c=1e4), np.eye(5)[1], atol=1e-12)  # ... to 1
    np.testing.assert_allclose(fastnn.softmax(z, c=1e-9), np.full(5, 0.2), rtol=1e-8)  # c → 0
    ties = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -5.0]])
    np.testing.assert_allclose(fastnn.softmax(ties, c=1e4), [[0, 0.5, 0.5, 0], [1 / 3] * 3 + [0]], atol=1e-12)
    # c = 1 is the output layer of a softmax network
    net = fastnn.Network([2, 5], cost="log-likelihood", seed=16)
    X = rng(16).normal(size=(3, 2))
    np.testing.assert_allclose(
        fastnn.softmax(X @ net.weights[0].T + net.biases[0]), net.feedforward(X), rtol=1e-12
    )
    with pytest.raises(ValueError, match="c"):
        fastnn.softmax(z, c=0.0)
