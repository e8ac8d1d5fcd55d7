"""Memory: no growth over 100,000 inference calls, one-batch trainings and refused calls (slow)."""

import gc
import os

import numpy as np
import pytest
from conftest import classification_data

import fastnn
from fastnn import _core, _state

SIZES = [4, 5, 3]


def _data(n=10, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _growth(fn, calls, warmup=2000):
    for _ in range(warmup):
        fn()
    gc.collect()
    start = _rss_bytes()
    for _ in range(calls):
        fn()
    gc.collect()
    return _rss_bytes() - start


LIMIT = 2 * 2**20  # "within a few MB": noise measured ~0; one leaked float per call is ~3 MB
memory_test = pytest.mark.skipif(
    not os.path.exists("/proc/self/statm") or os.environ.get("FASTNN_ASAN") == "1",
    reason="needs /proc/self/statm, and means nothing under ASan (its quarantine keeps freed memory)",
)


@pytest.mark.slow
@memory_test
def test_no_memory_growth_over_100k_inference_calls():
    X, y = _data(8)
    net = fastnn.Network(SIZES, seed=0)
    grown = _growth(lambda: net.feedforward(X), 100_000)
    assert grown < LIMIT, f"feedforward: RSS grew by {grown / 2**20:.1f} MiB"
    lay, params = _state.layout(net), _state.parameters(net)
    t = _core.Targets(lay, y.astype(np.intp), None, 8)
    grown = _growth(lambda: _core.evaluate(lay, params, X, t, want_cost=True, want_correct=True), 100_000)
    assert grown < LIMIT, f"evaluate: RSS grew by {grown / 2**20:.1f} MiB"


@pytest.mark.slow
@memory_test
def test_no_memory_growth_over_100k_one_batch_trainings():
    X, y = _data(8)
    net = fastnn.Network(SIZES, seed=0)
    t = _core.Targets(_state.layout(net), y.astype(np.intp), None, 8)
    trainer = _core.Trainer(_state.layout(net), _state.parameters(net), 8)
    trainer.begin(X, t)
    grown = _growth(lambda: trainer.train(0, 1, 0.01), 100_000)
    assert grown < LIMIT, f"Trainer.train: RSS grew by {grown / 2**20:.1f} MiB"
    # the whole public call: validation, Trainer and History per call (fewer calls: ~100 µs each)
    grown = _growth(lambda: net.SGD((X, y), 1, 8, 0.01, momentum=0.5), 100_000, warmup=1000)
    assert grown < LIMIT, f"SGD: RSS grew by {grown / 2**20:.1f} MiB"
    assert np.all(np.isfinite(_state.parameters(net)))


@pytest.mark.slow
@memory_test
def test_no_memory_growth_over_refused_calls():
    X, y = _data(8)
    X[3, 1] = np.nan
    net = fastnn.Network(SIZES, seed=0)

    def refused():
        try:
            net.SGD((X, y), 1, 8, 0.1)
        except ValueError:
            pass
        try:
            _core.evaluate(_state.layout(net), _state.parameters(net), X[:, :2].copy())
        except ValueError:
            pass

    grown = _growth(refused, 30_000, warmup=1000)
    assert grown < LIMIT, f"refused calls: RSS grew by {grown / 2**20:.1f} MiB"
