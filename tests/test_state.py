"""fastnn._state, the one home of the training state: a snapshot holds everything training changes,
and restoring it makes the network continue exactly as from the moment it was taken."""

import numpy as np
import pytest
from conftest import classification_data

import fastnn
from fastnn import _state


def _trained(**options):
    X, y = classification_data(40, 4, 3, seed=2)
    net = fastnn.Network([4, 6, 3], seed=3)
    net.SGD((X, y), 2, 5, 0.5, 0.1, momentum=0.5, dropout=0.2, **options)
    return net, (X, y)


def test_snapshot_is_a_copy_of_all_five_parts():
    net, _ = _trained()
    s = _state.snapshot(net)
    assert np.array_equal(s.params, _state.parameters(net)) and s.params is not _state.parameters(net)
    assert np.array_equal(s.velocity, _state.velocity(net)) and s.velocity is not _state.velocity(net)
    assert s.rng == _state.generator(net).bit_generator.state
    assert s.history is net.history and s.run is _state.run_state(net) and s.run is not None
    assert s.same_as(_state.snapshot(net)) is None


def test_restore_then_train_is_bit_identical_to_training_from_the_snapshot():
    net, data = _trained()
    s = _state.snapshot(net)
    net.SGD(data, 2, 5, 0.5, 0.1, momentum=0.5, dropout=0.2)  # what the snapshot must undo
    want = _state.parameters(net).copy(), _state.velocity(net).copy(), net.history
    assert _state.snapshot(net).same_as(s) == "parameters"
    _state.restore(net, s)
    assert _state.snapshot(net).same_as(s) is None
    net.SGD(data, 2, 5, 0.5, 0.1, momentum=0.5, dropout=0.2)
    assert np.array_equal(_state.parameters(net), want[0])
    assert np.array_equal(_state.velocity(net), want[1])
    assert [r.training_loss for r in net.history.records] == [r.training_loss for r in want[2].records]


def test_restore_brings_back_the_run_that_resume_continues():
    net, data = _trained()
    s = _state.snapshot(net)
    net.SGD(data, 1, 5, 0.5, 0.1, momentum=0.5, dropout=0.2, resume=True)
    assert _state.run_state(net)["epoch"] == 3
    _state.restore(net, s)
    assert _state.run_state(net)["epoch"] == 2
    net.SGD(data, 1, 5, 0.5, 0.1, momentum=0.5, dropout=0.2, resume=True)
    assert [r.epoch for r in net.history.records] == [1, 2, 3]


def test_restore_of_a_network_without_velocity_removes_the_one_made_since():
    net = fastnn.Network([4, 6, 3], seed=3)
    s = _state.snapshot(net)
    assert s.velocity is None and s.run is None
    X, y = classification_data(40, 4, 3, seed=2)
    net.SGD((X, y), 1, 5, 0.5, momentum=0.5)
    _state.restore(net, s)
    assert _state.velocity(net) is None and _state.run_state(net) is None and net.history is None
    assert np.array_equal(_state.parameters(net), s.params)


def test_parameters_only_restores_values_and_keeps_the_run():
    net, data = _trained()
    s = _state.snapshot(net)
    net.SGD(data, 1, 5, 0.5, 0.1, momentum=0.5)
    history, rng = net.history, _state.generator(net).bit_generator.state
    _state.restore(net, s, parameters_only=True)
    assert np.array_equal(_state.parameters(net), s.params)
    assert np.array_equal(_state.velocity(net), s.velocity)
    assert net.history is history and _state.generator(net).bit_generator.state == rng


def test_failed_warm_start_fit_restores_the_whole_state():
    """The estimators restore through _state: after a failed fit the reused network is as a
    snapshot before the fit found it (parameters, velocity, generator, history and run)."""
    from fastnn.sklearn import NetworkRegressor

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 3)), rng.random(60)
    reg = NetworkRegressor(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, y)
    before = _state.snapshot(reg.network_)
    with pytest.raises((FloatingPointError, ValueError)):
        reg.set_params(warm_start=True, eta=1e308).fit(X, y * 1e300)
    assert _state.snapshot(reg.network_).same_as(before) is None
