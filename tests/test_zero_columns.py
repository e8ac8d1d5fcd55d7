"""A first layer on the packed product skips the input columns that are zero in a whole mini-batch
(fastnn/_core.pyx: stage_begin; csrc/kernels_impl.h: fnn_active_runs, fnn_compact_cols,
fnn_expand_cols; DESIGN.md, "Zero input columns"). A zero input adds only ±0 to a product's
chain, so skipping it gives the same bits as the whole product: for every option, both dtypes,
one thread and a team of two, partial last batches, negative zeros, all-zero mini-batches."""

import sys

import numpy as np
import pytest
from conftest import assert_same_parameters, train_skipping_zeros

from fastnn import _core, _team_pace

pytestmark = pytest.mark.skipif(
    _core.KERNELS.get("gemm") != "own", reason="fastnn's packed product (AVX2) is not in use here"
)

SIZES = [200, 180, 10]  # W¹ 144 kB f32 / 288 kB f64, mini-batches of 64: the packed product

OPTIONS = {
    "plain": {},
    "l2": dict(lmbda=1.0),
    "l1": dict(lmbda=1.0, regularization="l1"),
    "momentum": dict(momentum=0.9),
    "momentum-l1": dict(momentum=0.5, lmbda=0.5, regularization="l1"),
    "dropout-momentum-l2": dict(dropout=0.3, momentum=0.5, lmbda=0.5),
    "sample-weight": dict(sample_weight="random"),
    "loglik-softmax": dict(cost="log-likelihood", output="softmax"),
}


@pytest.fixture(autouse=True)
def _whole_team(monkeypatch):
    monkeypatch.setattr(_team_pace, "ENABLED", False)
    monkeypatch.setattr(_team_pace, "_recent", {})


def _data(n, d, dtype, seed=1):
    """Rows like images: a border of columns zero in every row, a band of columns that are
    nonzero in 3 % of the rows (zero in some mini-batches only), negative zeros, the rest dense."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    X[:, : d // 5] = 0
    band = slice(d // 5, d // 5 + 40)
    X[:, band] *= rng.random((n, 40)) < 0.03
    X[::7, -5:] = -0.0
    return X.astype(dtype), rng.integers(0, SIZES[-1], n)


def _train(T, dtype, skip, X, y, batch=64, epochs=2, sizes=SIZES, **options):
    return train_skipping_zeros(T, dtype, skip, X, y, sizes, batch, epochs, **options)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_skipping_zero_columns_gives_the_same_bits(option, dtype):
    X, y = _data(301, SIZES[0], dtype)  # 4 mini-batches of 64 and one of 45
    want, skipped = _train(1, dtype, False, X, y, **OPTIONS[option])
    assert skipped == 0
    got, skipped = _train(1, dtype, True, X, y, **OPTIONS[option])
    assert skipped > 0, "the zero columns were not skipped"
    assert_same_parameters(got, want)
    if sys.platform != "win32":
        got, skipped = _train(2, dtype, True, X, y, **OPTIONS[option])
        assert skipped > 0
        assert_same_parameters(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_deep_net_and_mini_batches_of_128(dtype):
    X, y = _data(300, SIZES[0], dtype)
    for sizes, batch in (([200, 180, 40, 10], 64), (SIZES, 128)):
        want, _ = _train(1, dtype, False, X, y, batch=batch, sizes=sizes, momentum=0.5, lmbda=1.0)
        got, skipped = _train(1, dtype, True, X, y, batch=batch, sizes=sizes, momentum=0.5, lmbda=1.0)
        assert skipped > 0
        assert_same_parameters(got, want)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_zero_mini_batches_and_dense_data_run_whole(dtype):
    """Mini-batches whose rows are all zero, and data with no zero column (the whole product: the
    call does not skip), give the same bits either way."""
    X, y = _data(256, SIZES[0], dtype)
    X[64:128] = 0
    want, _ = _train(1, dtype, False, X, y, shuffle=False, lmbda=1.0)
    got, skipped = _train(1, dtype, True, X, y, shuffle=False, lmbda=1.0)
    assert skipped > 0
    assert_same_parameters(got, want)
    dense = np.random.default_rng(2).random((256, SIZES[0])).astype(dtype) + 0.5
    want, _ = _train(1, dtype, False, dense, y)
    got, skipped = _train(1, dtype, True, dense, y)
    assert skipped == 0
    assert_same_parameters(got, want)


def test_active_columns_are_found_as_runs():
    """fnn_active_runs: the columns with a value other than ±0 in the rows (all, or a table of
    them), in order, as runs."""
    X, _ = _data(64, SIZES[0], np.float64)
    runs, active = _core._active_runs(X, None)
    cols = np.flatnonzero((X != 0).any(axis=0))
    assert active == len(cols)
    assert np.array_equal(np.concatenate([np.arange(a, a + n) for a, n in runs]), cols)
    rows = np.array([5, 0, 63, 7])
    _, active_r = _core._active_runs(X, rows)
    assert active_r == np.count_nonzero((X[rows] != 0).any(axis=0))
