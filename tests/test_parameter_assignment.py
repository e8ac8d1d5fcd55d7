"""Assigning one layer, as network2 code does (``net.weights[l] = W``): validated like the list
setter, resets the velocity, and the number of layers stays fixed.
"""

import numpy as np
import pytest
from conftest import assert_unchanged, classification_data, snapshot

import fastnn
from fastnn import _state


def _data(n=30, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


def test_item_assignment_changes_the_network():
    net = fastnn.Network([4, 5, 3], seed=0)
    W = np.arange(20.0).reshape(5, 4) / 20
    net.weights[0] = W
    np.testing.assert_array_equal(net.weights[0], W)
    net.biases[1] = np.ones((3, 1))  # network2's column vector
    np.testing.assert_array_equal(net.biases[1], np.ones(3))
    net.weights[-1] = np.zeros((3, 5), dtype=np.float32)  # converted to the network's dtype
    assert net.weights[1].dtype == np.float64 and not net.weights[1].any()
    np.testing.assert_array_equal(net.feedforward(np.zeros((1, 4))), 1 / (1 + np.exp(-np.ones((1, 3)))))
    net.weights[0:2] = [np.zeros((5, 4)), np.ones((3, 5))]
    assert not net.weights[0].any() and net.weights[1].all()


def test_item_assignment_resets_the_velocity():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 1, 5, 0.1, momentum=0.5)
    assert np.any(_state.velocity(net) != 0)
    net.weights[0] = np.zeros((5, 4))
    assert _state.velocity(net) is None


@pytest.mark.parametrize(
    "name,index,value,exc,match",
    [
        ("weights", 0, np.zeros((4, 5)), ValueError, r"weights\[0\]: expected shape \(5, 4\)"),
        ("weights", 1, np.full((3, 5), np.nan), ValueError, r"weights\[1\].*NaN"),
        ("biases", 0, np.full(5, 1e400), ValueError, r"biases\[0\].*infinity"),
        ("weights", 0, np.full((5, 4), "x"), TypeError, r"weights\[0\]: expected numbers"),
        ("weights", 2, np.zeros((3, 5)), IndexError, r"weights\[2\]"),
        ("weights", "0", np.zeros((5, 4)), TypeError, "integers"),
        ("biases", slice(0, 2), [np.zeros(5)], ValueError, "number of layers is fixed"),
    ],
)
def test_item_assignment_validates_like_the_list_setter(name, index, value, exc, match):
    net = fastnn.Network([4, 5, 3], seed=0)
    before = snapshot(net)
    with pytest.raises(exc, match=match):
        getattr(net, name)[index] = value
    assert_unchanged(net, before)


def test_float32_overflow_in_item_assignment_is_refused():
    net = fastnn.Network([4, 5, 3], seed=0, dtype=np.float32)
    with pytest.raises(ValueError, match="infinity"):
        net.weights[0] = np.full((5, 4), 1e40)


@pytest.mark.parametrize(
    "op",
    [
        lambda l: l.append(np.zeros((3, 5))),
        lambda l: l.insert(0, 1),
        lambda l: l.pop(),
        lambda l: l.__delitem__(0),
        lambda l: l.extend([1]),
        lambda l: l.clear(),
        lambda l: l.remove(l[0]),
        lambda l: l.sort(),
        lambda l: l.reverse(),
        lambda l: l.__iadd__([1]),
        lambda l: l.__imul__(2),
    ],
)
def test_changing_the_number_of_layers_is_refused(op):
    net = fastnn.Network([4, 5, 3], seed=0)
    for lst in (net.weights, net.biases):
        with pytest.raises(TypeError, match="number of layers is fixed"):
            op(lst)
    assert len(net.weights) == len(net.biases) == 2


def test_weights_still_behave_as_a_list_of_views():
    net = fastnn.Network([4, 5, 3], seed=0)
    w = net.weights
    assert isinstance(w, list) and len(w) == 2 and w[0].shape == (5, 4)
    w[0][0, 0] = 7.0  # a view: writes through, as before
    assert net.weights[0][0, 0] == 7.0
