"""sample_weight values whose normalisation to mean 1 overflows or underflows are refused (issue
#23): np.full(n, 1e308) trained nothing and reported completion (the sum overflows, every weight
became 0); 1e-320 reported "diverged... try a smaller eta" (n / sum overflows)."""

import numpy as np
import pytest

import fastnn
from fastnn import _state


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.random((20, 3))
    return X, rng.integers(0, 2, 20)


@pytest.mark.parametrize(
    "weights,pattern",
    [
        (np.full(20, 1e308), "overflows"),
        (np.full(20, 1e-320), "underflow"),
        (np.r_[np.full(19, 1e300), 1e-300], "underflow"),  # 1e-600 of the mean: lost
        (np.r_[np.full(19, 1.0), 1e-50], "underflow"),  # 0 in float32
    ],
)
def test_weights_that_do_not_survive_normalisation_are_refused(data, weights, pattern):
    X, y = data
    for dtype in (np.float64, np.float32):
        net = fastnn.Network([3, 4, 2], seed=0, dtype=dtype)
        before = _state.parameters(net).copy()
        if dtype == np.float64 and weights[-1] == 1e-50:
            net.SGD((X, y), 1, 5, 0.5, sample_weight=weights)  # representable in float64
            continue
        with pytest.raises(ValueError, match=rf"sample_weight: .*{pattern}"):
            net.SGD((X, y), 1, 5, 0.5, sample_weight=weights)
        assert np.array_equal(_state.parameters(net), before)


def test_large_but_safe_weights_train_as_equal_weights(data):
    X, y = data
    a = fastnn.Network([3, 4, 2], seed=0)
    b = fastnn.Network([3, 4, 2], seed=0)
    a.SGD((X, y), 2, 5, 0.5, sample_weight=np.full(20, 1e300))
    b.SGD((X, y), 2, 5, 0.5, sample_weight=np.full(20, 1.0))
    assert np.allclose(_state.parameters(a), _state.parameters(b))
    assert not np.array_equal(
        _state.parameters(a), _state.parameters(fastnn.Network([3, 4, 2], seed=0))
    )  # it trained


def test_zero_weights_stay_allowed(data):
    X, y = data
    w = np.ones(20)
    w[:5] = 0
    fastnn.Network([3, 4, 2], seed=0).SGD((X, y), 1, 5, 0.5, sample_weight=w)
