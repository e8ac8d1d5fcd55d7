"""The compiled core called directly: wrong calls are refused with buffers untouched, a refused
begin keeps the bound run, read-only inputs are accepted (also run under AddressSanitizer:
tests/asan_check.sh).
"""

import numpy as np
import pytest

from fastnn import _core


def _core_setup(dtype=np.float64):
    lay = _core.Layout([3, 4, 2], "sigmoid", "sigmoid", "cross-entropy", dtype)
    params = np.zeros(lay.n_params, dtype=dtype)
    X = np.zeros((6, 3), dtype=dtype)
    y = _core.Targets(lay, np.zeros(6, dtype=np.intp), None, 6)
    return lay, params, X, y


def _other_targets(k, n=6, dtype=np.float64, labels=True):
    lay = _core.Layout([3, k], "sigmoid", "sigmoid", "cross-entropy", dtype)
    if labels:
        return _core.Targets(lay, np.full(n, k - 1, dtype=np.intp), None, n)
    return _core.Targets(lay, None, np.zeros((n, k), dtype=dtype), n)


def _core_cases():
    lay, params, X, y = _core_setup()
    tr = _core.Trainer(lay, params, 2)
    bound = _core.Trainer(lay, params, 2)
    bound.begin(X, y)
    lab = np.zeros(6, dtype=np.intp)
    c = {
        # Layout
        "Layout-sizes-None": lambda: _core.Layout(None, "sigmoid", "sigmoid", "cross-entropy", np.float64),
        "Layout-one-layer": lambda: _core.Layout([3], "sigmoid", "sigmoid", "cross-entropy", np.float64),
        "Layout-zero-neurons": lambda: _core.Layout(
            [3, 0], "sigmoid", "sigmoid", "cross-entropy", np.float64
        ),
        "Layout-activation": lambda: _core.Layout([3, 2], "swish", "sigmoid", "cross-entropy", np.float64),
        "Layout-cost": lambda: _core.Layout([3, 2], "sigmoid", "sigmoid", None, np.float64),
        "Layout-dtype": lambda: _core.Layout([3, 2], "sigmoid", "sigmoid", "cross-entropy", np.int32),
        # Targets
        "Targets-layout-None": lambda: _core.Targets(None, lab, None, 6),
        "Targets-both-None": lambda: _core.Targets(lay, None, None, 6),
        "Targets-both-given": lambda: _core.Targets(lay, lab, np.zeros((6, 2)), 6),
        "Targets-labels-list": lambda: _core.Targets(lay, [0] * 6, None, 6),
        "Targets-labels-int32": lambda: _core.Targets(lay, lab.astype(np.int32), None, 6),
        "Targets-labels-2d": lambda: _core.Targets(lay, lab.reshape(6, 1), None, 6),
        "Targets-labels-strided": lambda: _core.Targets(lay, np.zeros(12, np.intp)[::2], None, 6),
        "Targets-labels-length": lambda: _core.Targets(lay, lab, None, 5),
        "Targets-labels-range": lambda: _core.Targets(lay, np.full(6, 2, np.intp), None, 6),
        "Targets-labels-negative": lambda: _core.Targets(lay, np.full(6, -1, np.intp), None, 6),
        "Targets-n-negative": lambda: _core.Targets(lay, lab, None, -1),
        "Targets-targets-width": lambda: _core.Targets(lay, None, np.zeros((6, 3)), 6),
        "Targets-targets-dtype": lambda: _core.Targets(lay, None, np.zeros((6, 2), np.float32), 6),
        "Targets-targets-fortran": lambda: _core.Targets(lay, None, np.zeros((2, 6)).T, 6),
        # Trainer
        "Trainer-layout-None": lambda: _core.Trainer(None, params, 2),
        "Trainer-params-None": lambda: _core.Trainer(lay, None, 2),
        "Trainer-params-short": lambda: _core.Trainer(lay, params[:-1].copy(), 2),
        "Trainer-params-dtype": lambda: _core.Trainer(lay, params.astype(np.float32), 2),
        "Trainer-params-strided": lambda: _core.Trainer(lay, np.zeros(2 * lay.n_params)[::2], 2),
        "Trainer-params-2d": lambda: _core.Trainer(lay, params.reshape(1, -1), 2),
        "Trainer-batch-zero": lambda: _core.Trainer(lay, params, 0),
        "Trainer-batch-negative": lambda: _core.Trainer(lay, params, -3),
        "Trainer-velocity-short": lambda: _core.Trainer(lay, params, 2, np.zeros(3)),
        "Trainer-velocity-dtype": lambda: _core.Trainer(lay, params, 2, np.zeros(lay.n_params, np.float32)),
        # Trainer.begin: the run's data and settings, checked once
        "begin-X-None": lambda: tr.begin(None, y),
        "begin-X-list": lambda: tr.begin(X.tolist(), y),
        "begin-X-width": lambda: tr.begin(np.zeros((6, 4)), y),
        "begin-X-1d": lambda: tr.begin(np.zeros(18), y),
        "begin-X-dtype": lambda: tr.begin(X.astype(np.float32), y),
        "begin-X-fortran": lambda: tr.begin(np.asfortranarray(np.zeros((6, 3))), y),
        "begin-X-strided": lambda: tr.begin(np.zeros((12, 3))[::2], y),
        "begin-y-None": lambda: tr.begin(X, None),
        "begin-y-array": lambda: tr.begin(X, lab),
        "begin-y-rows": lambda: tr.begin(np.zeros((8, 3)), y),
        "begin-y-other-layout-labels": lambda: tr.begin(X, _other_targets(5)),
        "begin-y-other-layout-targets": lambda: tr.begin(X, _other_targets(1, labels=False)),
        "begin-y-other-dtype": lambda: tr.begin(X, _other_targets(2, dtype=np.float32, labels=False)),
        "begin-perm-dtype": lambda: tr.begin(X, y, np.arange(6, dtype=np.int32)),
        "begin-perm-short": lambda: tr.begin(X, y, np.arange(5, dtype=np.intp)),
        "begin-perm-range": lambda: tr.begin(X, y, np.arange(1, 7, dtype=np.intp)),
        "begin-perm-negative": lambda: tr.begin(X, y, np.arange(6, dtype=np.intp) - 1),
        "begin-perm-strided": lambda: tr.begin(X, y, np.repeat(np.arange(6, dtype=np.intp), 2)[::2]),
        "begin-n_total-zero": lambda: tr.begin(X, y, None, 1.0, 0),
        "begin-regularization": lambda: tr.begin(X, y, None, 1.0, -1, "l3"),
        "begin-momentum-no-velocity": lambda: tr.begin(X, y, None, 0.0, -1, "l2", 0.5),
        "begin-sample_weight-short": lambda: tr.begin(X, y, sample_weight=np.ones(5)),
        # Trainer.train: what a chunk of mini-batches changes
        "train-before-begin": lambda: _core.Trainer(lay, params, 2).train(0, 1, 0.1),
        "train-stop-past-end": lambda: bound.train(0, 4, 0.1),
        "train-start-negative": lambda: bound.train(-1, 1, 0.1),
        "train-start-after-stop": lambda: bound.train(2, 1, 0.1),
        # evaluate
        "evaluate-layout-None": lambda: _core.evaluate(None, params, X),
        "evaluate-params-None": lambda: _core.evaluate(lay, None, X),
        "evaluate-params-short": lambda: _core.evaluate(lay, params[:5].copy(), X),
        "evaluate-params-dtype": lambda: _core.evaluate(lay, params.astype(np.float32), X),
        "evaluate-X-None": lambda: _core.evaluate(lay, params, None),
        "evaluate-X-width": lambda: _core.evaluate(lay, params, np.zeros((6, 2))),
        "evaluate-X-dtype": lambda: _core.evaluate(lay, params, X.astype(np.float32)),
        "evaluate-X-fortran": lambda: _core.evaluate(lay, params, np.zeros((3, 6)).T),
        "evaluate-X-3d": lambda: _core.evaluate(lay, params, np.zeros((6, 3, 1))),
        "evaluate-out-rows": lambda: _core.evaluate(lay, params, X, out=np.zeros((5, 2))),
        "evaluate-out-width": lambda: _core.evaluate(lay, params, X, out=np.zeros((6, 3))),
        "evaluate-out-dtype": lambda: _core.evaluate(lay, params, X, out=np.zeros((6, 2), np.float32)),
        "evaluate-out-strided": lambda: _core.evaluate(lay, params, X, out=np.zeros((6, 4))[:, ::2]),
        "evaluate-y-missing": lambda: _core.evaluate(lay, params, X, None, want_cost=True),
        "evaluate-y-rows": lambda: _core.evaluate(lay, params, X[:4].copy(), y, want_correct=True),
        "evaluate-y-other-layout-labels": lambda: _core.evaluate(
            lay, params, X, _other_targets(7), want_cost=True, want_correct=True
        ),
        "evaluate-y-other-layout-targets": lambda: _core.evaluate(
            lay, params, X, _other_targets(1, labels=False), want_cost=True, want_correct=True
        ),
        "evaluate-y-other-dtype": lambda: _core.evaluate(
            lay, params, X, _other_targets(2, dtype=np.float32, labels=False), want_cost=True
        ),
        "evaluate-block-zero": lambda: _core.evaluate(lay, params, X, block=0),
        # helpers for tests
        "kernel_activate-b-short": lambda: _core.kernel_activate(np.zeros((2, 3)), np.zeros(2), "sigmoid"),
        "kernel_activate-b-None": lambda: _core.kernel_activate(np.zeros((2, 3)), None, "sigmoid"),
        "kernel_activate-z-None": lambda: _core.kernel_activate(None, np.zeros(3), "sigmoid"),
        "kernel_activate-mixed-dtypes": lambda: _core.kernel_activate(
            np.zeros((2, 3)), np.zeros(3, np.float32), "sigmoid"
        ),
        "kernel_activate-name": lambda: _core.kernel_activate(np.zeros((2, 3)), np.zeros(3), "swish"),
        "kernel_exp-None": lambda: _core.kernel_exp(None),
        "kernel_exp-2d": lambda: _core.kernel_exp(np.zeros((2, 2))),
        "kernel_exp-int": lambda: _core.kernel_exp(np.zeros(3, dtype=np.int64)),
        "fill_mask-negative-count": lambda: _core.fill_mask(1, -5, 3, 0.5),
        "fill_mask-dtype": lambda: _core.fill_mask(1, 5, 3, 0.5, np.int64),
        "fill_mask-p-one": lambda: _core.fill_mask(1, 5, 3, 1.0),
        "Trainer-n_threads-zero": lambda: _core.Trainer(lay, params, 2, n_threads=0),
        "Trainer-n_threads-huge": lambda: _core.Trainer(lay, params, 2, n_threads=10**30),
        "parameter_layout-None": lambda: _core.parameter_layout(None),
    }
    return c


CORE_CASES = _core_cases()


@pytest.mark.parametrize("case", sorted(CORE_CASES))
def test_core_entry_points_refuse_wrong_calls(case):
    """Each wrong direct call into the compiled core raises (never reads or writes out of bounds;
    tests/asan_check.sh runs these under AddressSanitizer)."""
    with pytest.raises((TypeError, ValueError, KeyError, OverflowError)):
        CORE_CASES[case]()


def test_core_wrong_calls_leave_buffers_untouched():
    lay, params, X, y = _core_setup()
    params[...] = np.arange(lay.n_params) / 100
    velocity = np.ones(lay.n_params)
    tr = _core.Trainer(lay, params, 2, velocity)
    before = params.copy(), velocity.copy()
    for bad in (
        lambda: tr.train(0, 1, 0.1),  # no run bound yet
        lambda: tr.begin(X, y, np.arange(6, dtype=np.intp)[::-1] * 2),
        lambda: tr.begin(X[:, :2].copy(), y),
        lambda: tr.begin(X, _other_targets(9)),
    ):
        with pytest.raises((TypeError, ValueError)):
            bad()
    tr.begin(X, y, momentum=0.5)
    with pytest.raises(ValueError, match="start/stop"):
        tr.train(0, 9, 0.1)
    assert np.array_equal(params, before[0]) and np.array_equal(velocity, before[1])


def test_core_refused_begin_keeps_the_bound_run():
    """A begin() that fails a check binds nothing: the previous run's data and settings stay."""
    lay, params, X, y = _core_setup()
    twin_params = params.copy()
    tr, twin = _core.Trainer(lay, params, 2), _core.Trainer(lay, twin_params, 2)
    rng = np.random.default_rng(1)
    X[...] = rng.random(X.shape)
    for t in (tr, twin):
        t.begin(X, y, None, 1.0)
    with pytest.raises(ValueError, match="momentum"):
        tr.begin(np.zeros((4, 3)), _core.Targets(lay, np.ones(4, np.intp), None, 4), momentum=0.5)
    assert tr.train(0, 3, 0.5) == twin.train(0, 3, 0.5)
    assert np.array_equal(params, twin_params) and not np.array_equal(params, np.zeros_like(params))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_core_accepts_read_only_inputs(dtype):
    """Inputs the core only reads (X, labels, targets, perm, the parameters in evaluate) may be
    read-only arrays (np.load(mmap_mode='r'), broadcast views, ...)."""
    lay, _params, X, _ = _core_setup(dtype)
    rng = np.random.default_rng(0)
    X = rng.random((6, 3)).astype(dtype)
    labels = np.array([0, 1, 1, 0, 1, 0], dtype=np.intp)
    targets = rng.random((6, 2)).astype(dtype)
    perm = np.array([5, 4, 3, 2, 1, 0], dtype=np.intp)
    for a in (X, labels, targets, perm):
        a.flags.writeable = False
    for y in (_core.Targets(lay, labels, None, 6), _core.Targets(lay, None, targets, 6)):
        p = (rng.standard_normal(lay.n_params)).astype(dtype)
        tr = _core.Trainer(lay, p, 2)
        tr.begin(X, y, perm, 0.1)
        tr.train(0, 3, 0.5)
        assert np.all(np.isfinite(p))
        p.flags.writeable = False
        cost, correct = _core.evaluate(lay, p, X, y, want_cost=True, want_correct=True)
        assert np.isfinite(cost) and 0 <= correct <= 6
