"""A first layer on fastnn's own kernels (mini-batches up to 16) leaves out the vectors of input
columns that are zero in every row of the mini-batch (csrc/mm_impl.h: fnn_mm_segs, the forward's
and the update's segments; fastnn/_core.pyx: stage_begin; DESIGN.md, "Zero input columns"). A
zero input adds only ±0 to each lane of a chain, so the products give the same bits as over the
whole rows: every kernel path of this build, both dtypes, every option, one thread and teams."""

import numpy as np
import pytest
from conftest import assert_same_parameters, train_skipping_zeros

from fastnn import _core, _team_pace

ISAS = list(_core.KERNELS["available"])
pytestmark = pytest.mark.skipif(not ISAS, reason="no kernel set of fastnn's own in this build")
LANES = {"generic": 2, "avx2": 4, "avx512": 8}  # float64 lanes (float32: twice as many)


def _sparse_rows(rng, n, d, dtype, density=0.2):
    """Rows like images: zero borders, a sparse middle with a few negative zeros."""
    X = rng.random((n, d)) * (rng.random((n, d)) < density)
    X[:, : d // 4] = 0
    X[:, -(d // 6) :] = 0
    X[::3, d // 2 : d // 2 + 3] = -0.0
    return X.astype(dtype)


def _lanes(isa, dtype):
    return LANES[isa] * (2 if dtype == np.float32 else 1)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_segments_cover_every_nonzero_column_and_only_zero_vectors_are_left_out(isa, dtype):
    rng = np.random.default_rng(0)
    vw = _lanes(isa, dtype)
    for d in (784, 97, 64, 33):
        X = _sparse_rows(rng, 40, d, dtype)
        for m in (1, 3, 10, 16):
            rows = rng.choice(len(X), m, replace=False).astype(np.intp)
            segs = _core.kernel_segs(X, rows, isa=isa)
            assert segs is not None
            keep = np.zeros(d, bool)
            for a, b in segs:
                assert a % vw == 0 and (b % vw == 0 or b == d) and a < b <= d
                keep[a:b] = True
            assert [a for a, _ in segs] == sorted(a for a, _ in segs)
            nonzero = (X[rows] != 0).any(axis=0)  # -0.0 == 0: negative zeros count as zero
            assert not (nonzero & ~keep).any(), "a nonzero column left out"
            # every vector left out is zero in all rows; every vector kept has a nonzero
            for v in range(0, d, vw):
                assert keep[v] == nonzero[v : v + vw].any()


@pytest.mark.parametrize("isa", ISAS)
def test_dense_rows_and_non_finite_values_are_active(isa):
    rng = np.random.default_rng(1)
    X = rng.random((10, 200)) + 0.5
    assert _core.kernel_segs(X, isa=isa) is None  # dense: more than 7/8 active, the rows whole
    Z = np.zeros((4, 200))
    assert _core.kernel_segs(Z, isa=isa) == []
    vw = _lanes(isa, np.float64)
    v0 = 150 - 150 % vw
    for bad in (np.nan, np.inf, -np.inf, 5e-324):  # (and a subnormal)
        Z[2, 150] = bad
        assert _core.kernel_segs(Z, isa=isa) == [(v0, v0 + vw)]
        Z[2, 150] = 0


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_and_update_without_the_zero_vectors_give_the_same_bits(isa, dtype):
    rng = np.random.default_rng(2)
    for _ in range(12):
        d = int(rng.choice([784, 61, 130, 257]))
        n_out = int(rng.integers(1, 14))
        m = int(rng.integers(1, 17))
        X = _sparse_rows(rng, 50, d, dtype, density=float(rng.uniform(0.02, 0.5)))
        rows = rng.choice(len(X), m, replace=False).astype(np.intp)
        W = rng.standard_normal((n_out, d)).astype(dtype)
        b = rng.standard_normal(n_out).astype(dtype)
        for act in ("sigmoid", "relu", "tanh"):
            want = _core.kernel_forward(X, W, b, rows=rows, act=act, isa=isa)
            got = _core.kernel_forward(X, W, b, rows=rows, act=act, isa=isa, skip=True)
            assert want.tobytes() == got.tobytes()
        want = _core.kernel_forward(X, W, b, rows=rows, isa=isa, dropout=0.4, seed=7)
        got = _core.kernel_forward(X, W, b, rows=rows, isa=isa, dropout=0.4, seed=7, skip=True)
        assert all(w.tobytes() == g.tobytes() for w, g in zip(want, got))
        D = rng.standard_normal((m, n_out)).astype(dtype)
        for kw in (
            {},
            dict(beta=0.999, regularization="l2"),
            dict(c=1e-3, regularization="l1"),
            dict(mu=0.9, momentum=True),
            dict(mu=0.5, c=1e-3, regularization="l2", momentum=True),
            dict(mu=0.5, c=1e-3, regularization="l1", momentum=True),
        ):
            kw = dict(kw)
            out = []
            for skip in (False, True):
                W1, b1 = W.copy(), b.copy()
                vel = {}
                if kw.get("momentum"):
                    vel = dict(VW=np.full_like(W, 0.01), Vb=np.full_like(b, 0.01))
                args = {k: v for k, v in kw.items() if k != "momentum"}
                _core.kernel_update(W1, b1, D, X, rows=rows, isa=isa, skip=skip, **vel, **args)
                out.append((W1.tobytes(), b1.tobytes(), vel["VW"].tobytes() if vel else b""))
            assert out[0] == out[1], kw


@pytest.fixture
def _whole_team(monkeypatch):
    monkeypatch.setattr(_team_pace, "ENABLED", False)
    monkeypatch.setattr(_team_pace, "_recent", {})


OPTIONS = {
    "plain": {},
    "l2": dict(lmbda=1.0),
    "l1": dict(lmbda=1.0, regularization="l1"),
    "momentum-l2": dict(momentum=0.9, lmbda=0.5),
    "dropout-momentum-l1": dict(dropout=0.3, momentum=0.5, lmbda=0.5, regularization="l1"),
    "sample-weight": dict(sample_weight="random"),
    "loglik-softmax-relu": dict(cost="log-likelihood", output="softmax", hidden="relu"),
}


def _train(T, dtype, skip, X, y, sizes, batch=10, epochs=2, **options):
    return train_skipping_zeros(T, dtype, skip, X, y, sizes, batch, epochs, **options)


@pytest.mark.usefixtures("_whole_team")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_training_without_the_zero_vectors_gives_the_same_bits(option, dtype):
    rng = np.random.default_rng(3)
    sizes = [196, 30, 10]  # mini-batches of 10 on the own kernels
    X = _sparse_rows(rng, 213, sizes[0], dtype)  # 21 mini-batches of 10 and one of 3
    y = rng.integers(0, 10, len(X))
    want, skipped = _train(1, dtype, False, X, y, sizes, **OPTIONS[option])
    assert skipped == 0
    for T in (1, 2, 3):
        got, skipped = _train(T, dtype, True, X, y, sizes, **OPTIONS[option])
        assert skipped > 0, "the zero vectors were not left out"
        assert_same_parameters(want, got)


@pytest.mark.usefixtures("_whole_team")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_deep_net_mini_batch_1_all_zero_mini_batches_and_dense_data(dtype):
    rng = np.random.default_rng(4)
    X = _sparse_rows(rng, 120, 64, dtype)
    y = rng.integers(0, 10, len(X))
    for sizes, batch in (([64, 40, 30, 10], 10), ([64, 20, 10], 1), ([64, 20, 10], 16)):
        want, _ = _train(1, dtype, False, X, y, sizes, batch=batch, lmbda=0.5)
        for T in (1, 2):
            got, skipped = _train(T, dtype, True, X, y, sizes, batch=batch, lmbda=0.5)
            assert skipped > 0
            assert_same_parameters(want, got)
    Z = X.copy()
    Z[20:40] = 0  # two all-zero mini-batches: no segment (z = b; the update only scales)
    want, _ = _train(1, dtype, False, Z, y, [64, 20, 10], shuffle=False, lmbda=0.5, momentum=0.5)
    for T in (1, 2):
        got, skipped = _train(T, dtype, True, Z, y, [64, 20, 10], shuffle=False, lmbda=0.5, momentum=0.5)
        assert skipped > 0
        assert_same_parameters(want, got)
    dense = rng.random((60, 64)).astype(dtype) + 0.1  # no zero column: the call runs whole
    _, skipped = _train(1, dtype, True, dense, y[:60], [64, 20, 10])
    assert skipped == 0
