"""The estimators' sample_weight / class_weight (through Network.SGD's per-row weight), loss_,
best_loss_, tol and ConvergenceWarning."""

import warnings

import numpy as np
import pytest
from conftest import classification_data, numeric_gradient
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from fastnn import _state
from fastnn.sklearn import NetworkClassifier, NetworkRegressor


def _data(n=24, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


def test_sample_weight_step_is_the_weighted_mean_gradient_by_finite_differences():
    X, y = _data()
    w = np.random.default_rng(1).random(len(y)) * 3
    eta = 1e-3
    clf = NetworkClassifier(
        (3,), epochs=1, batch_size=len(y), shuffle=False, eta=eta, lmbda=0.0, random_state=0
    )
    clf.fit(X, y, sample_weight=w)
    # the initial network of that fit, rebuilt the way _train builds it
    seed = int(check_random_state(0).randint(np.iinfo(np.int32).max))
    net0 = clf._new_network(clf._validated_params(), X.shape[1], 3, seed)
    theta0 = _state.parameters(net0).copy()

    def weighted_mean_cost():
        return sum(wi * net0.total_cost(X[i : i + 1], y[i : i + 1]) for i, wi in enumerate(w)) / w.sum()

    grad = numeric_gradient(weighted_mean_cost, _state.parameters(net0))
    step = _state.parameters(clf.network_) - theta0
    assert np.allclose(step, -eta * grad, rtol=1e-5, atol=1e-12)
    # and it differs from the unweighted step
    plain = NetworkClassifier((3,), epochs=1, batch_size=len(y), shuffle=False, eta=eta, random_state=0).fit(
        X, y
    )
    assert not np.allclose(_state.parameters(plain.network_) - theta0, step, rtol=1e-3)


def test_class_weight_is_sample_weight_per_class():
    X, y = _data(n=60)
    a = NetworkClassifier((5,), epochs=3, random_state=0, class_weight={0: 3.0, 2: 0.5}).fit(X, y)
    w = np.select([y == 0, y == 2], [3.0, 0.5], 1.0)
    b = NetworkClassifier((5,), epochs=3, random_state=0).fit(X, y, sample_weight=w)
    assert np.array_equal(_state.parameters(a.network_), _state.parameters(b.network_))
    counts = np.bincount(y)
    bal = NetworkClassifier((5,), epochs=3, random_state=0, class_weight="balanced").fit(X, y)
    w = (len(y) / (3 * counts))[y]
    ref = NetworkClassifier((5,), epochs=3, random_state=0).fit(X, y, sample_weight=w * 5)
    assert np.allclose(
        _state.parameters(bal.network_), _state.parameters(ref.network_), rtol=1e-12, atol=1e-14
    )
    with pytest.raises(ValueError, match="class_weight: labels \\[7\\]"):
        NetworkClassifier(class_weight={7: 1.0}).fit(X, y)


def test_weights_with_early_stopping_and_regressor():
    X, y = _data(n=80)
    w = np.random.default_rng(2).random(len(y))
    clf = NetworkClassifier((5,), epochs=4, early_stopping=True, random_state=0).fit(X, y, sample_weight=w)
    assert clf.n_iter_ >= 1 and clf.validation_scores_ is not None
    t = X @ np.array([0.3, -0.2, 0.1, 0.5])
    reg = NetworkRegressor((5,), epochs=3, random_state=0).fit(X, t, sample_weight=w)
    unw = NetworkRegressor((5,), epochs=3, random_state=0).fit(X, t)
    assert not np.array_equal(_state.parameters(reg.network_), _state.parameters(unw.network_))
    with pytest.raises(ValueError):
        NetworkRegressor().fit(X, t, sample_weight=-w)


def test_loss_attributes_tol_and_convergence_warning():
    X, y = _data(n=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tol=None (default): no warning
        clf = NetworkClassifier((5,), epochs=5, random_state=0).fit(X, y)
    assert clf.loss_ == clf.loss_curve_[-1] and clf.best_loss_ == min(clf.loss_curve_)
    with pytest.warns(ConvergenceWarning, match="5 epochs ended without convergence"):
        NetworkClassifier((5,), epochs=5, random_state=0, tol=1e-9).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        conv = NetworkClassifier((5,), epochs=500, random_state=0, tol=0.5, n_iter_no_change=2).fit(X, y)
    assert conv.n_iter_ < 500  # stopped on convergence
