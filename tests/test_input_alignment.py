"""Users' own arrays: X whose rows start off a 64-byte line (numpy's allocator gives 16-byte
alignment) trains to the same bits as the same X on lines, for every thread count and option; the
trainer copies each mini-batch's rows to rows on lines (Trainer.staged) when the own kernels read
them (fastnn/_core.pyx, stage_begin; DESIGN.md, "Users' arrays")."""

import sys

import numpy as np
import pytest

import fastnn
from fastnn import _core, _state

OWN = _core.KERNELS["isa"] not in (None, "generic")
THREADS = [1, 2] if sys.platform != "win32" else [1]


def _placed(X, offset):
    """A copy of X whose data starts `offset` bytes after a 64-byte line."""
    buf = np.empty(X.nbytes + 128, dtype=np.uint8)
    start = -buf.ctypes.data % 64 + offset
    out = buf[start : start + X.nbytes].view(X.dtype).reshape(X.shape)
    out[...] = X
    assert out.ctypes.data % 64 == offset
    return out


def _data(n, d, k, dtype):
    rng = np.random.default_rng(7)
    return rng.random((n, d)).astype(dtype), rng.integers(0, k, n)


OPTIONS = {
    "plain": {},
    "momentum-l2": dict(momentum=0.9, lmbda=1.0),
    "dropout-l1": dict(dropout=0.3, lmbda=0.5, regularization="l1"),
    "sample-weight": dict(sample_weight="random"),
    "no-shuffle": dict(shuffle=False),
}


def _train(X, y, sizes, T, batch, **options):
    options = dict(options)
    if options.get("sample_weight") == "random":
        options["sample_weight"] = np.random.default_rng(5).random(len(X)) + 0.1
    net = fastnn.Network(sizes, dtype=X.dtype, seed=3)
    net.SGD((X, y), 2, batch, 0.3, n_threads=T, **options)
    return net


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("T", THREADS)
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_offset_x_gives_the_bits_of_aligned_x(option, T, dtype):
    # 784 inputs (rows a whole number of lines) and 64 (512 bytes); 203 rows in mini-batches of
    # 10: the last one partial; offsets 16 (numpy's) and 8
    for d, offset in ((784, 16), (64, 8)):
        X, y = _data(203, d, 10, dtype)
        want = _train(_placed(X, 0), y, [d, 30, 10], T, 10, **OPTIONS[option])
        got = _train(_placed(X, offset), y, [d, 30, 10], T, 10, **OPTIONS[option])
        where = f"{d} inputs, offset {offset}"
        assert _state.parameters(got).tobytes() == _state.parameters(want).tobytes(), where
        if _state.velocity(want) is not None:
            assert _state.velocity(got).tobytes() == _state.velocity(want).tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch", [1, 128])
def test_offset_x_with_mini_batches_of_1_and_128(batch, dtype):
    X, y = _data(300, 784, 10, dtype)
    for T in THREADS:
        want = _train(_placed(X, 0), y, [784, 30, 10], T, batch)
        got = _train(_placed(X, 16), y, [784, 30, 10], T, batch)
        assert _state.parameters(got).tobytes() == _state.parameters(want).tobytes()


@pytest.mark.skipif(not OWN, reason="the own kernels do not train here (BLAS path)")
def test_only_rows_off_lines_are_staged():
    net = fastnn.Network([784, 30, 10], seed=0)
    lay = _state.layout(net)
    X, y = _data(40, 784, 10, np.float64)
    targets = _core.Targets(lay, y.astype(np.intp), None, 40)
    tr = _core.Trainer(lay, _state.parameters(net).copy(), 10, n_threads=THREADS[-1])
    tr.begin(_placed(X, 0), targets)
    assert not tr.staged
    tr.begin(_placed(X, 16), targets)
    assert tr.staged
    tr.begin(_placed(X, 0), targets)
    assert not tr.staged
    # 30 inputs: rows of 240 bytes are off lines wherever X starts
    small = fastnn.Network([30, 20, 10], seed=0)
    tr = _core.Trainer(_state.layout(small), _state.parameters(small).copy(), 10)
    tr.begin(_placed(X[:, :30].copy(), 0), _core.Targets(_state.layout(small), y.astype(np.intp), None, 40))
    assert tr.staged
    # BLAS layer 0 (784 x 800 at 100 rows gathers its rows instead)
    wide = fastnn.Network([784, 800, 10], seed=0)
    tr = _core.Trainer(_state.layout(wide), _state.parameters(wide).copy(), 100)
    tr.begin(_placed(X, 16), _core.Targets(_state.layout(wide), y.astype(np.intp), None, 40))
    assert tr.staged == (tr.kernels[0] not in ("blas", "gemm"))


@pytest.mark.parametrize("T", THREADS)
def test_a_nan_in_offset_x_is_found_before_its_batch_changes_anything(T):
    X, y = _data(200, 784, 10, np.float64)
    X = _placed(X, 16)
    X[137, 5] = np.nan  # mini-batch 13 (no shuffle)
    net = fastnn.Network([784, 30, 10], seed=0)
    lay = _state.layout(net)
    params = [_state.parameters(net).copy() for _ in range(2)]
    for p, X_ in zip(params, (X, _placed(X, 0))):
        tr = _core.Trainer(lay, p, 10, n_threads=T)
        tr.begin(X_, _core.Targets(lay, y.astype(np.intp), None, 200))
        tr.train(0, 20, 0.5, check_input=True)
        assert tr.bad_batch == 13 and tr.bad_index == -1
    assert params[0].tobytes() == params[1].tobytes()
    with pytest.raises(ValueError, match=r"NaN|inf|finite"):
        net.SGD((X, y), 1, 10, 0.5, shuffle=False, n_threads=T)
