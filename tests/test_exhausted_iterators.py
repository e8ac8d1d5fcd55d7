"""network2 code under Python 3 (issue #24): ``zip`` is a one-pass iterator, so a second use of
``validation_data = zip(...)`` gets nothing. fastnn says the iterator looks exhausted and to wrap
it in list(...), instead of 0 from ``accuracy`` and "expected at least one example, got 0"."""

import numpy as np
import pytest
from conftest import classification_data

import fastnn


def _pairs(X, y):
    return zip([x.reshape(-1, 1) for x in X], [int(v) for v in y])


def test_exhausted_zip_is_named():
    X, y = classification_data(20)
    net = fastnn.Network([4, 5, 3], seed=0)
    data = _pairs(X, y)
    first = net.accuracy(data)  # reads the zip
    assert 0 <= first <= 20
    with pytest.raises(
        ValueError, match=r"zip object gave no \(x, y\) pairs: it looks exhausted.*list\(\.\.\.\)"
    ):
        net.accuracy(data)
    with pytest.raises(ValueError, match="looks exhausted"):
        net.total_cost(data, 0.0)
    training = _pairs(X, y)
    net.SGD(training, 1, 5, 0.5)
    with pytest.raises(ValueError, match=r"training_data: the zip object .* looks exhausted"):
        net.SGD(training, 1, 5, 0.5)
    with pytest.raises(ValueError, match=r"evaluation_data: the generator object .* looks exhausted"):
        net.SGD(list(_pairs(X, y)), 1, 5, 0.5, evaluation_data=(p for p in ()))


def test_empty_list_is_not_an_iterator_error():
    net = fastnn.Network([4, 5, 3], seed=0)
    assert net.accuracy([]) == 0
    with pytest.raises(ValueError, match="expected at least one example, got 0"):
        net.SGD([], 1, 5, 0.5)
    assert np.isfinite(net.total_cost(list(_pairs(*classification_data(5))), 0.0))
