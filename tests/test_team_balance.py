"""A team shares the hidden neurons by its threads' measured speed (fastnn/_core.pyx:
balanced_cut, Trainer._rebalance; DESIGN.md, "Shares by measured speed"): after each whole-team
call the shares move towards the threads' speeds, so a core that another process slows down gets
less of the next call's work. Which thread computes a neuron does not change its bits: results are
the same for any shares."""

import numpy as np
import pytest

import fastnn
from fastnn import _core, _state

ONE = 1 << 20
pytestmark = pytest.mark.skipif(
    _core.useful_threads([64, 30, 10], 10, 2) < 2, reason="no thread team on this platform"
)


def test_equal_speeds_keep_equal_shares():
    cut = _core._cut_of([0.5, 0.5])
    new = _core.balanced_cut(cut, [1000, 1000], 30, 3)
    assert list(new) == list(cut)


def test_a_slower_thread_gets_less_halfway_and_within_bounds():
    cut = _core._cut_of([0.5, 0.5])
    # 15 neurons each (30 in blocks of 3); thread 1 took 3x thread 0's time: speeds 3:1
    new = _core.balanced_cut(cut, [1000, 3000], 30, 3)
    assert new[0] == 0 and new[-1] == ONE
    assert new[1] / ONE == pytest.approx(0.5 * 0.5 + 0.5 * 0.75, abs=1e-6)
    # a thread 100x slower: its share is kept at 1/(4T) at least
    for _ in range(20):
        cut = _core.balanced_cut(cut, [1, 100], 30, 3)
    assert cut[1] / ONE == pytest.approx(0.875, abs=1e-6)
    # three threads: the shares still sum to one, each within [1/12, 7/12]
    cut3 = _core.balanced_cut(_core._cut_of([1 / 3, 1 / 3, 1 / 3]), [10, 20, 40], 100, 4)
    f = np.diff(cut3) / ONE
    assert f.sum() == pytest.approx(1) and (f >= 1 / 12 - 1e-9).all() and (f <= 7 / 12 + 1e-9).all()
    assert f[0] > f[1] > f[2]


def test_a_thread_without_time_leaves_the_shares():
    cut = _core._cut_of([0.3, 0.7])
    assert list(_core.balanced_cut(cut, [0, 50], 30, 3)) == list(cut)


def _trainer(sizes, batch, T, dtype, X, y, **opt):
    net = fastnn.Network(sizes, dtype=dtype, seed=2)
    lay = _state.layout(net)
    mom = opt.get("momentum", 0.0)
    vel = np.zeros_like(_state.parameters(net)) if mom else None
    params = _state.parameters(net).copy()
    tr = _core.Trainer(lay, params, batch, vel, opt.get("dropout", 0.0), 7, n_threads=T)
    perm = np.random.default_rng(1).permutation(len(X)).astype(np.intp)
    tr.begin(
        X,
        _core.Targets(lay, y.astype(np.intp), None, len(X)),
        perm,
        lmbda=opt.get("lmbda", 0.0),
        momentum=mom,
        regularization=opt.get("regularization", "l2"),
    )
    return tr, params, vel  # (train() updates params and vel in place)


def _bytes(params, vel):
    return params.tobytes() + (vel.tobytes() if vel is not None else b"")


CASES = [
    ([64, 30, 10], 10, {}),
    ([64, 30, 10], 10, dict(momentum=0.9, dropout=0.3, lmbda=1.0, regularization="l1")),
    ([64, 40, 30, 10], 7, dict(lmbda=1.0)),
    ([200, 180, 10], 64, dict(momentum=0.5)),  # the first layer on the packed product
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_same_bits_for_any_shares(case, dtype):
    sizes, batch, opt = CASES[case]
    rng = np.random.default_rng(case)
    X = rng.random((230, sizes[0])).astype(dtype)
    X[:, : sizes[0] // 4] = 0  # zero columns too (skipped)
    y = rng.integers(0, sizes[-1], len(X))
    one, *want = _trainer(sizes, batch, 1, dtype, X, y, **opt)
    n_batches = -(-len(X) // batch)
    for start in range(0, n_batches, 5):
        one.train(start, min(n_batches, start + 5), 0.3)
    for T, shares in ((2, [0.1, 0.9]), (2, [0.9, 0.1]), (2, [0.37, 0.63]), (3, [0.6, 0.1, 0.3])):
        tr, *got = _trainer(sizes, batch, T, dtype, X, y, **opt)
        if tr.threads < T:
            continue
        for start in range(0, n_batches, 5):
            tr.shares = shares  # (each call may also have moved them)
            tr.train(start, min(n_batches, start + 5), 0.3)
        assert _bytes(*got) == _bytes(*want), (T, shares)


def test_shares_are_reported_and_checked():
    rng = np.random.default_rng(0)
    X = rng.random((400, 64))
    y = rng.integers(0, 10, 400)
    tr = _trainer([64, 30, 10], 10, 2, np.float64, X, y)[0]
    assert tr.shares == pytest.approx([0.5, 0.5])
    for _ in range(4):
        tr.train(0, 40, 0.1)  # whole-team calls of 40 mini-batches: the shares may move
        f = tr.shares
        assert sum(f) == pytest.approx(1) and min(f) >= 0.125 - 1e-6
    with pytest.raises(ValueError, match="2 positive fractions"):
        tr.shares = [0.5, 0.6]
    with pytest.raises(ValueError, match="2 positive fractions"):
        tr.shares = [1.0, 0.0]
    assert _trainer([64, 30, 10], 10, 1, np.float64, X, y)[0].shares is None
    before = _core._set_team_balance(False)
    try:
        assert _trainer([64, 30, 10], 10, 2, np.float64, X, y)[0].shares is None
    finally:
        _core._set_team_balance(before)
