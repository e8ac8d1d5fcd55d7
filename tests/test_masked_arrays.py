"""numpy masked arrays are refused (issue #23), as scikit-learn does: their mask would be silently
dropped by np.asarray, training on and scoring the masked values."""

import numpy as np
import pytest

import fastnn
from fastnn import _state


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.random((20, 3))
    y = rng.integers(0, 2, 20)
    return X, y


def _masked(a):
    m = np.zeros(a.shape, dtype=bool)
    m[0] = True
    return np.ma.MaskedArray(a, mask=m)


def test_every_entry_point_refuses_masked_arrays(data):
    X, y = data
    net = fastnn.Network([3, 4, 2], seed=0)
    before = _state.parameters(net).copy()
    calls = {
        "SGD X": lambda: net.SGD((_masked(X), y), 1, 5, 0.5),
        "SGD y": lambda: net.SGD((X, _masked(y)), 1, 5, 0.5),
        "SGD sample_weight": lambda: net.SGD((X, y), 1, 5, 0.5, sample_weight=_masked(np.ones(20))),
        "SGD evaluation_data": lambda: net.SGD((X, y), 1, 5, 0.5, evaluation_data=(_masked(X), y)),
        "predict": lambda: net.predict(_masked(X)),
        "feedforward": lambda: net.feedforward(_masked(X)),
        "accuracy": lambda: net.accuracy(_masked(X), y),
        "total_cost": lambda: net.total_cost(X, _masked(y)),
        "score": lambda: net.score(_masked(X), y),
    }
    for what, call in calls.items():
        with pytest.raises(TypeError, match="masked array") as e:
            call()
        assert "mask" in str(e.value), what
    assert np.array_equal(_state.parameters(net), before)


def test_masked_array_without_a_mask_is_refused_too(data):
    """Even an all-False mask: the type says the caller meant something by it."""
    X, _ = data
    net = fastnn.Network([3, 4, 2], seed=0)
    with pytest.raises(TypeError, match="masked array"):
        net.predict(np.ma.MaskedArray(X))


def test_estimators_refuse_masked_arrays(data):
    from fastnn.sklearn import NetworkClassifier

    X, y = data
    with pytest.raises(TypeError, match="masked array"):
        NetworkClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(_masked(X), y)
