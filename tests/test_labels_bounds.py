"""Labels changed after validation (issue #10): the core works on its own copy of the labels and
the training kernel checks every mini-batch's labels and row indices, so neither a callback, another
thread nor a direct user of fastnn._core can make it read or write out of bounds. Same for the
benchmark module bench/_bound.pyx. Cases that would crash run in a child process."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import classification_data, package_env

import fastnn
from fastnn import _core, _state

ROOT = Path(__file__).resolve().parents[1]


def _child(code):
    env = package_env()
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _data(n=40, **kwargs):
    """This module's default size of ``classification_data``."""
    return classification_data(n, **kwargs)


@pytest.mark.parametrize("value", [10**12, 7, -1])
def test_callback_changing_the_labels_changes_nothing(value):
    X, y = _data()
    ref = fastnn.Network([4, 5, 3], seed=1)
    ref.SGD((X, y.copy()), 3, 5, 0.5)

    net = fastnn.Network([4, 5, 3], seed=1)
    y_user = y.copy()

    def vandal(rec):
        y_user[:] = value

    net.SGD((X, y_user), 3, 5, 0.5, callback=vandal)
    np.testing.assert_array_equal(_state.parameters(net), _state.parameters(ref))


def test_thread_changing_the_labels_during_training_is_harmless():
    """A thread scribbling over the labels while the compiled loop runs (GIL released), from the
    end of epoch 1 on (after validation)."""
    import threading

    X, y = _data(n=2000)
    ref = fastnn.Network([4, 5, 3], seed=1)
    ref.SGD((X, y.copy()), 3, 10, 0.5)
    net = fastnn.Network([4, 5, 3], seed=1)
    go, stop = threading.Event(), threading.Event()

    def scribble():
        go.wait()
        while not stop.is_set():
            y[:] = 10**12
            y[:] = 2

    t = threading.Thread(target=scribble)
    t.start()
    try:
        net.SGD((X, y), 3, 10, 0.5, callback=lambda rec: go.set())
    finally:
        go.set()
        stop.set()
        t.join()
    np.testing.assert_array_equal(_state.parameters(net), _state.parameters(ref))


def test_targets_built_directly_keep_their_own_read_only_copy():
    X, y = _data()
    net = fastnn.Network([4, 5, 3], seed=1)
    labels = y.astype(np.intp)
    t = _core.Targets(_state.layout(net), labels, None, len(labels))
    labels[:] = 10**12  # the caller's array: no longer seen by the core
    assert t.labels.max() < 3
    with pytest.raises(ValueError, match="read-only"):
        t.labels[0] = 7
    out = _core.evaluate(_state.layout(net), _state.parameters(net), X, t, want_cost=True, want_correct=True)
    ref = _core.evaluate(
        _state.layout(net),
        _state.parameters(net),
        X,
        _core.Targets(_state.layout(net), y.astype(np.intp), None, len(y)),
        want_cost=True,
        want_correct=True,
    )
    assert out == ref
    tr = _core.Trainer(_state.layout(net), _state.parameters(net), 5)
    tr.begin(X, t)
    tr.train(0, 8, 0.5)
    assert np.all(np.isfinite(_state.parameters(net)))


@pytest.mark.parametrize(
    "value",
    ["10**12"]
    + [
        pytest.param(v, marks=pytest.mark.slow)  # a child each
        for v in ("7", "-1", "-(2**62)")
    ],
)
def test_labels_made_writeable_again_are_caught_by_the_kernel(value):
    """Even forcing the core's copy writeable and scribbling over it: a clear ValueError, no crash,
    no write past the output row, nothing trained from the bad mini-batch on (the parameters are
    those of mini-batches 0 and 1 alone, trained from the same start with the labels intact)."""
    r = _child(f"""
        import numpy as np, fastnn
        from fastnn import _core, _state
        rng = np.random.default_rng(0)
        X = rng.random((40, 4)); y = rng.integers(0, 3, 40).astype(np.intp)
        net = fastnn.Network([4, 5, 3], seed=1)
        layout, params = _state.layout(net), _state.parameters(net)
        start = params.copy()
        ok = _core.Trainer(layout, params, 5)
        ok.begin(X, _core.Targets(layout, y, None, 40))
        ok.train(0, 2, 0.5)  # mini-batches 0 and 1 (rows 0-9), before the bad row 13
        want = params.copy()
        assert not np.array_equal(want, start)
        t = _core.Targets(layout, y, None, 40)
        t.labels.flags.writeable = True
        t.labels[13] = {value}
        tr = _core.Trainer(layout, params, 5)
        perm = np.arange(40, dtype=np.intp)
        for p in (None, perm):
            params[...] = start
            try:
                tr.begin(X, t, p)
                tr.train(0, 8, 0.5)
            except ValueError as e:
                kept = "two batches" if np.array_equal(params, want) else "OTHER"
                print("VALUEERROR", e, "| bad", tr.bad_index, "| trained", kept)
            else:
                print("NO ERROR")
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("VALUEERROR labels/perm: mini-batch 2 ") and "| bad 2 |" in lines[0]
    assert lines[1].startswith("VALUEERROR labels/perm: mini-batch 2 ")
    assert all(line.endswith("| trained two batches") for line in lines), lines


def test_index_checks_are_on_by_default():
    assert _core._set_index_checks(True) is True


# ------------------------------------------------------------------------------------------------
# bench/_bound.pyx (benchmark tooling, built on demand): no out-of-bounds access on bad arguments
# ------------------------------------------------------------------------------------------------
class _LazyBound:
    """bench/_bound.pyx, compiled on first use by bench/setup_bound.py (hence the slow marks)."""

    def __getattr__(self, name):
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
        try:
            from setup_bound import load
        finally:
            sys.path.pop(0)
        pytest.importorskip("Cython", reason="building bench/_bound.pyx needs Cython")
        return getattr(load(), name)


bound = _LazyBound()


@pytest.mark.slow
@pytest.mark.parametrize(
    "perm,match",
    [
        (np.arange(9), "perm"),
        (np.arange(10) + 1, "perm"),
        (-np.arange(10), "perm"),
        (np.zeros((10, 2), int), "perm"),
    ],
)
def test_bound_epoch_refuses_bad_perm(perm, match):
    eb = bound.EpochBound([4, 3, 2], 4, variant="ideal")
    X = np.random.default_rng(0).random((10, 4))
    with pytest.raises(ValueError, match=match):
        eb.run_epoch(X, np.arange(10) % 2, perm)


@pytest.mark.slow
@pytest.mark.parametrize(
    "y", [np.arange(10) % 3, np.zeros((10, 2), int), np.arange(9) % 2, -np.ones(10, int)]
)
def test_bound_epoch_refuses_bad_labels(y):
    eb = bound.EpochBound([4, 3, 2], 4, variant="ideal")
    X = np.random.default_rng(0).random((10, 4))
    with pytest.raises(ValueError, match="y must be"):
        eb.run_epoch(X, y)


@pytest.mark.slow
def test_bound_buffers_and_sizes_cannot_be_reassigned():
    eb = bound.EpochBound([4, 3, 2], 4, variant="ideal")
    fb = bound.ForwardBound([4, 3, 2], 10)
    for obj, attrs in (
        (eb, ("m", "act", "aoff", "dlt", "doff", "fixed", "sizes", "_wflat", "_cs", "woff", "ideal")),
        (fb, ("n", "chunk", "act", "aoff", "out", "sizes", "_bflat")),
    ):
        for attr in attrs:
            with pytest.raises(AttributeError):
                setattr(obj, attr, getattr(obj, attr))


@pytest.mark.slow
@pytest.mark.parametrize(
    "call,exc",
    [
        (lambda: bound.EpochBound([4, 3, 2], 4).run_epoch([[1.0] * 4]), TypeError),
        (lambda: bound.EpochBound([4, 3, 2], 4).run_epoch(np.ones((3, 5))), ValueError),
        (lambda: bound.EpochBound([4, 3, 2], 4).run_epoch(np.ones((3, 4), np.float32)), ValueError),
        (lambda: bound.EpochBound([4, 3, 2], 4).run_epoch(np.ones((4, 3)).T), ValueError),
        (lambda: bound.ForwardBound([4, 3, 2], 10).run(np.ones((11, 4))), ValueError),
        (lambda: bound.ForwardBound([4, 3, 2], 10).run(None), TypeError),
        (lambda: bound.ForwardBound([4, 3, 2], -1), ValueError),
        (lambda: bound.EpochBound([4, 3, 2], 0), ValueError),
        (lambda: bound.EpochBound([2**31, 1], 1), ValueError),
        (lambda: bound.EpochBound([4, 0, 2], 1), ValueError),
    ],
)
def test_bound_entry_points_refuse_bad_arguments(call, exc):
    with pytest.raises(exc):
        call()
