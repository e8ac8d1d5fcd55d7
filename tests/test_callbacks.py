"""The callback contract: one positional argument (the EpochRecord), checked before training;
False stops cleanly; an exception keeps its epoch and says callback-error.
"""

import numpy as np
import pytest
from conftest import assert_unchanged, classification_data, snapshot

import fastnn
from fastnn import _state


def _data(n=30, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


@pytest.mark.parametrize("callback", [lambda: None, lambda a, b: None, lambda *, rec: None])
def test_callback_that_cannot_take_the_record_is_refused_before_training(callback):
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 1, 5, 0.5)
    before = snapshot(net)
    with pytest.raises(TypeError, match="callback: must accept one positional argument"):
        net.SGD((X, y), 2, 5, 0.5, callback=callback)
    assert_unchanged(net, before)


class _Counter:
    def __init__(self):
        self.seen = []

    def __call__(self, rec, extra=None):
        self.seen.append(rec.epoch)


@pytest.mark.parametrize("callback", [_Counter(), lambda *args: None, print, lambda rec, extra=1: None])
def test_callbacks_that_take_one_argument_are_accepted(callback, capsys):
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 2, 5, 0.5, callback=callback)
    assert len(net.history.records) == 2


def test_callback_returning_false_stops_cleanly():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 10, 5, 0.5, callback=lambda rec: rec.epoch < 3)
    assert len(net.history.records) == 3 and net.history.stop_reason == "callback"
    net.SGD((X, y), 3, 5, 0.5, callback=lambda rec: 0)  # only False stops
    assert net.history.stop_reason == "completed"


def test_raising_callback_keeps_its_epoch_and_says_callback_error():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=0)
    seen = {}

    def boom(rec):
        if rec.epoch == 2:
            seen["params"] = _state.parameters(net).copy()
            raise RuntimeError("user code failed")

    with pytest.raises(RuntimeError, match="user code failed"):
        net.SGD((X, y), 5, 5, 0.5, evaluation_data=(X, y), early_stopping=5, callback=boom)
    assert net.history.stop_reason == "callback-error"
    assert [r.epoch for r in net.history.records] == [1, 2]
    np.testing.assert_array_equal(_state.parameters(net), seen["params"])
    assert "callback-error" in fastnn.history.STOP_REASONS
