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


@pytest.mark.skipif(threadpool_limits is None, reason="threadpoolctl is not installed")
def test_the_regularized_cost_does_not_run_on_blas_threads():
    """total_cost's ½(λ/n)Σw² (the training cost monitored every epoch) is the same number whatever
    BLAS's thread count: it is not a threaded BLAS call (np.vdot's ddot ran on two threads from
    10,000 weights, woke BLAS's idle workers to spin on the cores a training team runs on, and
    rounded differently with one thread than with two)."""
    rng = np.random.default_rng(3)
    X = rng.random((40, 784))
    y = np.arange(40) % 10
    costs = []
    for seed in range(5):
        net = fastnn.Network([784, 30, 10], seed=seed)  # W¹: 23,520 weights
        for limit in (1, 2):
            with threadpool_limits(limits=limit, user_api="blas"):
                costs.append((seed, limit, net.total_cost(X, y, lmbda=5.0)))
    for (s1, _, c1), (s2, _, c2) in zip(costs[::2], costs[1::2]):
        assert s1 == s2 and c1 == c2, (s1, c1, c2)


# ---- one bad call must not poison the policy (hardening issue #23) -----------------------------
class FailingController(FakeController):
    """A controller whose limit() raises for some values (as ctypes did for 10**30)."""

    def __init__(self, threads=8, bad=(7,)):
        super().__init__(threads)
        self.bad = set(bad)

    def limit(self, limits, user_api):
        if limits in self.bad:
            raise OverflowError("cannot apply")
        return super().limit(limits, user_api)


@pytest.mark.parametrize("bad", [0, -1, 1025, 10**30, 2**63, 1.5, float("nan"), float("inf"), "2", True])
def test_a_bad_limit_is_refused_before_anything_is_counted(policy, bad):
    with pytest.raises((ValueError, TypeError), match=r"^n_threads: expected"):
        with policy.limit(bad):
            pass
    assert policy.controller.calls == 0 and policy.current is None and not policy._active
    with policy.limit(2):  # the policy still works
        assert policy.controller.threads == 2
    assert policy.controller.threads == 8


def test_a_limit_that_fails_to_apply_leaves_nothing_behind():
    policy = _threads.BlasThreadPolicy(FailingController(8, bad={7}))
    with pytest.raises(OverflowError):
        with policy.limit(7):
            pass
    assert not policy._active and policy.current is None and policy.controller.threads == 8
    with policy.limit(3):
        with pytest.raises(OverflowError), policy.limit(7):  # min(3, 7) = 3: applies fine
            raise OverflowError
        assert policy.controller.threads == 3
    assert policy.controller.threads == 8 and not policy._active


def test_a_restore_that_raises_still_clears_the_state():
    policy = _threads.BlasThreadPolicy(FakeController(8))
    with pytest.raises(RuntimeError, match="restore"):
        with policy.limit(2):
            policy._original.restore_original_limits = lambda: (_ for _ in ()).throw(RuntimeError("restore"))
    assert policy.current is None and not policy._active and policy._original is None
    with policy.limit(1):
        assert policy.controller.threads == 1


@pytest.mark.parametrize("value", [1024, 1, 3.0])
def test_the_accepted_range(value):
    assert _threads.check_threads(value) == int(value)


def test_network_n_threads_is_checked_on_assignment():
    net = fastnn.Network([3, 2], seed=0)
    with pytest.raises(ValueError, match=r"^n_threads: expected a value in \[1, 1024\], got 1025"):
        net.n_threads = 1025
    with pytest.raises(TypeError, match=r"^n_threads: expected an integer"):
        net.n_threads = "4"
    assert net.n_threads is None
    net.n_threads = 2
    assert net.n_threads == 2
    net.n_threads = None
    assert net.n_threads is None


POISON = r"""
import numpy as np, fastnn
from fastnn import _threads
from threadpoolctl import threadpool_info

def blas():
    return sorted((i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas")

X = np.random.default_rng(0).random((60, 4)); y = np.arange(60) % 3
net = fastnn.Network([4, 5, 3], seed=0)
before = blas()
for bad in (10**30, 0, 1025, -5, 2**64):
    try:
        net.SGD((X, y), 1, 10, 0.1, n_threads=bad)
    except ValueError as exc:
        assert str(exc).startswith("n_threads: expected a value in [1, 1024]"), exc
    else:
        raise SystemExit(f"SGD(n_threads={bad}) accepted")
    try:
        with _threads.blas_limit(bad):
            pass
    except ValueError:
        pass
    else:
        raise SystemExit(f"blas_limit({bad}) accepted")
    try:
        net.n_threads = bad
    except ValueError:
        pass
    else:
        raise SystemExit(f"Network.n_threads = {bad} accepted")
assert not _threads.POLICY._active and _threads.POLICY.current is None
# every later call of any network works and leaves BLAS as it was
other = fastnn.Network([4, 6, 3], seed=1)
other.SGD((X, y), 2, 10, 0.1)
net.SGD((X, y), 2, 10, 0.1, n_threads=2)
other.predict(X)
net.accuracy((X, y))
assert blas() == before, (blas(), before)
print("ok")
"""


@pytest.mark.slow
@pytest.mark.skipif(threadpool_info is None, reason="needs threadpoolctl")
def test_a_poisoning_attempt_leaves_the_process_working():
    from conftest import run_python

    done = run_python(POISON)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.skipif(threadpool_info is None, reason="needs threadpoolctl")
@pytest.mark.parametrize("attempt", range(6))
def test_training_while_another_network_predicts_restores_the_blas_limits(attempt):
    X = np.random.default_rng(attempt).random((3000, 30))
    y = np.arange(3000) % 4
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        trainer = fastnn.Network([30, 20, 4], seed=attempt)
        predictor = fastnn.Network([30, 50, 4], seed=attempt + 1)
        errors = []

        def predict():
            try:
                for _ in range(20):
                    predictor.predict(X)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        t = threading.Thread(target=predict)
        t.start()
        trainer.SGD((X, y), 2, 10, 0.1)
        t.join()
        assert not errors
        assert _blas_threads() == before
        assert _threads.POLICY.current is None and not _threads.POLICY._active


def test_cli_refuses_a_huge_thread_count(tmp_path):
    from conftest import run_fastnn

    done = run_fastnn(tmp_path, "train", "--threads", "1" + "0" * 30, "--epochs", "1")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "expected a value in [1, 1024]" in done.stderr
