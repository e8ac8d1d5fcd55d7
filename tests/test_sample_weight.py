"""Per-row weights (SGD's sample_weight): against the reference, finite differences and bad input."""

import numpy as np
import pytest
from conftest import assert_unchanged, numeric_gradient, rel_err, snapshot, twin

import fastnn
from fastnn import _state
from fastnn.costs import VALID_PAIRINGS

TOL = {np.float64: 1e-10, np.float32: 1e-4}


def problem(rng, n, n_in, n_out, labels=True):
    X = rng.random((n, n_in))
    y = rng.integers(0, n_out, n) if labels else rng.random((n, n_out))
    w = rng.random(n) * 3
    w[rng.integers(0, n)] = 0.0  # a zero weight is allowed
    return X, y, w


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cost,output", VALID_PAIRINGS)
@pytest.mark.parametrize("shuffle", [False, True])
def test_weighted_training_matches_reference(cost, output, dtype, shuffle, seeded):
    """Row i's weight follows row i through the permutation; last mini-batch shorter."""
    rng = np.random.default_rng(3)
    sizes = [5, 7, 3]
    X, y, w = problem(rng, 23, 5, 3, labels=output != "linear")
    net = fastnn.Network(sizes, cost=cost, output=output, dtype=dtype, seed=1)
    ref = twin(net)
    perms = seeded(net, len(X), 3)[1] if shuffle else None
    net.SGD((X, y), 3, 4, 0.4, 0.3, shuffle=shuffle, sample_weight=w)
    ref.SGD((X, y), 3, 4, 0.4, 0.3, perms=perms, sample_weight=w)
    assert rel_err(net.weights + net.biases, ref.weights + ref.biases) < TOL[dtype]


@pytest.mark.parametrize("options", [dict(momentum=0.8), dict(regularization="l1"), dict(dropout=0.3)])
def test_weighted_training_with_momentum_l1_dropout(options, seeded):
    rng = np.random.default_rng(4)
    X, y, w = problem(rng, 31, 6, 4)
    net = fastnn.Network([6, 9, 5, 4], seed=2)
    ref = twin(net)
    seed, perms = seeded(net, len(X), 2)
    stream = None
    if options.get("dropout"):
        from fastnn._core import MaskStream

        stream = MaskStream(seed, options["dropout"])
    net.SGD((X, y), 2, 5, 0.5, 0.2, sample_weight=w, **options)
    ref_opts = {k: v for k, v in options.items() if k != "dropout"}
    ref.SGD((X, y), 2, 5, 0.5, 0.2, perms=perms, mask_stream=stream, sample_weight=w, **ref_opts)
    assert rel_err(net.weights + net.biases, ref.weights + ref.biases) < 1e-10


def test_unit_weights_change_nothing_and_scale_does_not_matter():
    rng = np.random.default_rng(5)
    X, y, _ = problem(rng, 20, 4, 3)
    nets = [fastnn.Network([4, 6, 3], seed=7) for _ in range(3)]
    nets[0].SGD((X, y), 2, 3, 0.5, 0.1)
    nets[1].SGD((X, y), 2, 3, 0.5, 0.1, sample_weight=np.ones(20))
    nets[2].SGD((X, y), 2, 3, 0.5, 0.1, sample_weight=np.full(20, 7.5))
    for net in nets[1:]:
        assert rel_err(net.weights + net.biases, nets[0].weights + nets[0].biases) < 1e-13


def test_integer_weights_equal_repeated_rows_full_batch():
    """Weight 2 on a row = that row twice (full batch, no penalty, same normalised mean)."""
    rng = np.random.default_rng(6)
    X, y, _ = problem(rng, 9, 4, 3)
    w = np.array([1, 2, 1, 1, 3, 1, 1, 2, 1])
    a = fastnn.Network([4, 5, 3], seed=1)
    b = fastnn.Network([4, 5, 3], seed=1)
    a.SGD((X, y), 1, 9, 0.5, shuffle=False, sample_weight=w)
    rows = np.repeat(np.arange(9), w)
    b.SGD((X[rows], y[rows]), 1, len(rows), 0.5, shuffle=False)
    assert rel_err(a.weights + a.biases, b.weights + b.biases) < 1e-12


@pytest.mark.parametrize("cost,output", VALID_PAIRINGS)
def test_weighted_step_is_gradient_of_weighted_mean_cost(cost, output):
    """One full-batch step (η = 1, λ = 0) moves the parameters by −∇ Σ w_i C_i / Σ w_i;
    compared with central differences of the weighted mean of per-row costs."""
    rng = np.random.default_rng(8)
    X, y, w = problem(rng, 8, 4, 3, labels=output != "linear")
    net = fastnn.Network([4, 5, 3], cost=cost, output=output, seed=3)
    before = _state.parameters(net).copy()

    def weighted_cost():
        per_row = [net.total_cost(X[i : i + 1], y[i : i + 1]) for i in range(len(X))]
        return float(np.dot(w, per_row) / w.sum())

    grad = numeric_gradient(weighted_cost, _state.parameters(net))
    net.SGD((X, y), 1, len(X), 1.0, shuffle=False, sample_weight=w)
    np.testing.assert_allclose(before - _state.parameters(net), grad, rtol=1e-5, atol=1e-8)


def test_track_loss_is_the_weighted_mean():
    rng = np.random.default_rng(9)
    X, y, w = problem(rng, 12, 4, 3)
    net = fastnn.Network([4, 5, 3], seed=3)
    probe = fastnn.Network([4, 5, 3], seed=3)
    per_row = np.array([probe.total_cost(X[i : i + 1], y[i : i + 1]) for i in range(12)])
    net.SGD((X, y), 1, 12, 1e-12, shuffle=False, sample_weight=w, track_loss=True)
    want = np.dot(w, per_row) / w.sum()
    assert net.history.records[0].training_loss == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.ones(5), r"sample_weight: expected shape \(12,\)"),
        (np.ones((12, 1)), r"sample_weight: expected shape \(12,\)"),
        (np.r_[np.ones(11), np.nan], "sample_weight: contains NaN or infinity"),
        (np.r_[np.ones(11), np.inf], "sample_weight: contains NaN or infinity"),
        (np.r_[np.ones(11), -1.0], "sample_weight: expected weights >= 0"),
        (np.zeros(12), "sample_weight: expected at least one positive weight"),
        (np.array(["a"] * 12), "sample_weight"),
    ],
)
def test_bad_sample_weight_is_refused_before_any_change(bad, match):
    rng = np.random.default_rng(10)
    X, y, _ = problem(rng, 12, 4, 3)
    net = fastnn.Network([4, 5, 3], seed=3)
    before = snapshot(net)
    with pytest.raises((ValueError, TypeError), match=match):
        net.SGD((X, y), 1, 4, 0.5, sample_weight=bad)
    assert_unchanged(net, before)
    assert net.history is None
