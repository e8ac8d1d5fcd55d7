"""scikit-learn: a failed fit leaves the estimator (and a reused network) as it was."""

import numpy as np
import pytest

from fastnn import _state


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
