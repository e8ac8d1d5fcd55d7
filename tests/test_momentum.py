"""Momentum across SGD calls: the velocity carries over (also through momentum=0 calls) and is
reset by re-initialising.
"""

import copy

import numpy as np
from conftest import classification_data

import fastnn
from fastnn import _state


def _data(n=30, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


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
