"""The BLAS thread policy (fastnn/_threads.py): overlapping calls run with the smallest limit asked
for, whatever their order; the original setting comes back when the last one leaves."""

import threading

import numpy as np
import pytest

import fastnn
from fastnn import _threads

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = threadpool_limits = None


class FakeController:
    """threadpoolctl's interface, on one number: what the BLAS would run with."""

    def __init__(self, threads=8):
        self.threads = threads
        self.calls = 0

    def limit(self, limits, user_api):
        assert user_api == "blas"
        self.calls += 1
        before, self.threads = self.threads, limits
        ctl = self

        class Limiter:
            def restore_original_limits(self):
                ctl.threads = before

        return Limiter()


@pytest.fixture
def policy():
    return _threads.BlasThreadPolicy(FakeController(8))


def test_a_single_call_limits_and_restores(policy):
    with policy.limit(2):
        assert policy.controller.threads == 2 and policy.current == 2
    assert policy.controller.threads == 8 and policy.current is None


@pytest.mark.parametrize("first,second", [(4, 1), (1, 4)])
def test_overlapping_calls_run_with_the_smallest_limit_in_either_order(policy, first, second):
    ctl = policy.controller
    outer = policy.limit(first)
    inner = policy.limit(second)
    outer.__enter__()
    assert ctl.threads == first
    inner.__enter__()
    assert ctl.threads == 1  # not the first caller's limit: the smallest
    inner.__exit__(None, None, None)
    assert ctl.threads == first  # the one still inside gets its own limit back
    outer.__exit__(None, None, None)
    assert ctl.threads == 8 and policy.current is None


def test_calls_that_do_not_end_in_reverse_order(policy):
    ctl = policy.controller
    a, b = policy.limit(1), policy.limit(3)
    a.__enter__()
    b.__enter__()
    assert ctl.threads == 1
    a.__exit__(None, None, None)  # the first one in leaves first
    assert ctl.threads == 3
    b.__exit__(None, None, None)
    assert ctl.threads == 8


def test_no_limit_asked_changes_nothing(policy):
    with policy.limit(None):
        assert policy.controller.threads == 8
    assert policy.controller.calls == 0


def test_an_exception_inside_still_restores(policy):
    with pytest.raises(RuntimeError), policy.limit(2):
        raise RuntimeError
    assert policy.controller.threads == 8 and policy.current is None


def test_many_threads_overlapping_leave_the_original_setting(policy):
    barrier = threading.Barrier(8)
    seen = []

    def run(n):
        barrier.wait()
        for _ in range(200):
            with policy.limit(n):
                seen.append(policy.controller.threads <= n)

    threads = [threading.Thread(target=run, args=(1 + i % 4,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(seen) and len(seen) == 1600
    assert policy.controller.threads == 8 and policy.current is None


def _blas_threads():
    return sorted(i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas")


@pytest.mark.skipif(threadpool_info is None, reason="needs threadpoolctl")
def test_the_rule_with_the_real_blas_and_network_calls():
    X = np.random.default_rng(0).random((200, 5))
    y = np.arange(200) % 3
    net = fastnn.Network([5, 4, 3], seed=0)
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with _threads.blas_limit(2):
            assert set(_blas_threads()) == {2}
            with _threads.blas_limit(1):  # e.g. inference inside a callback
                assert set(_blas_threads()) == {1}
                net.feedforward(X)  # n_threads None -> 1, through the policy
                assert set(_blas_threads()) == {1}
            assert set(_blas_threads()) == {2}  # the outer call's limit again
        net.SGD((X, y), 2, 10, 0.1, n_threads=2)
        assert _blas_threads() == before
    assert _threads.POLICY.current is None
