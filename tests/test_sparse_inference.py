"""Inference's first layer over the input's nonzeros (csrc/sparse_in.c, issue #29).

A block of rows whose inputs are mostly exact zeros (MNIST: ~80 %) takes z = b + Σ_{x_j != 0} x_j Wᵀ[j]
instead of the gemm; the pass that lists the nonzeros also checks X for NaN/inf. The results differ
from the gemm's only by rounding (another summation order): checked here against the numpy
reference and against the gemm path (``sparse_below=0``) on random shapes and densities, both dtypes,
through the public APIs (feedforward, predict, accuracy, total_cost) and the core's evaluate.
"""

import ctypes
import pathlib
import platform
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _core, _state
from fastnn.reference import ReferenceNetwork

CSRC = pathlib.Path(__file__).resolve().parents[1] / "csrc"
TOL = {np.float64: (1e-10, 1e-12), np.float32: (1e-4, 1e-5)}  # (rtol, atol)


def _rows(rng, n, d, dtype, kinds=("sparse", "zero", "dense", "one", "negzero")):
    """n rows of width d, each of a random kind: ~20 % nonzero, all zeros, all nonzero, a single
    nonzero, or -0.0 zeros around a few nonzeros (values of both signs, some > 1)."""
    X = np.zeros((n, d))
    for i in range(n):
        kind = kinds[rng.integers(len(kinds))]
        if kind == "sparse":
            keep = rng.random(d) < rng.uniform(0.05, 0.4)
            X[i, keep] = rng.uniform(-2, 2, keep.sum())
        elif kind == "dense":
            X[i] = rng.uniform(-2, 2, d)
        elif kind == "one":
            X[i, rng.integers(d)] = rng.uniform(0.5, 3)
        elif kind == "negzero":
            X[i] = -0.0
            X[i, rng.integers(d, size=3)] = rng.uniform(-1, 1, 3)
    return np.ascontiguousarray(X, dtype=dtype)


def _net(rng, sizes, dtype, output="sigmoid", hidden="sigmoid", cost="cross-entropy"):
    net = fastnn.Network(sizes, dtype=dtype, seed=int(rng.integers(1 << 30)), output=output, hidden=hidden,
                         cost=cost)  # fmt: skip
    net.biases = [rng.uniform(-1, 1, b.shape) for b in net.biases]
    return net


def _reference(net):
    return ReferenceNetwork(net.sizes, net.weights, net.biases, cost=net.cost.name, output=net.output,
                            hidden=net.hidden, dtype=np.float64)  # fmt: skip


def _z(net, X, **kw):
    z = np.empty((len(X), net.sizes[-1]), dtype=net.dtype)
    _core.evaluate(_state.layout(net), _state.parameters(net), X, out=z, raw=True, **kw)
    return z


SHAPES = [
    [784, 100, 10],  # MNIST's network: 100 outputs = 12.5 float / 25 double vectors
    [784, 30, 10],
    [19, 7, 3],  # n_in not a multiple of 8: the portable lists
    [64, 1],  # one layer: the first layer is the output layer
    [40, 13],
    [24, 33, 5, 2],  # three layers
    [8, 211, 4],  # 211 outputs: more than one pass of 13 vectors
    [3, 1, 1],
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
def test_sparse_first_layer_matches_the_gemm_and_the_reference(sizes, dtype):
    rng = np.random.default_rng(sum(sizes))
    net = _net(rng, sizes, dtype)
    X = _rows(rng, 150, sizes[0], dtype)
    rtol, atol = TOL[dtype]
    gemm = _z(net, X, sparse_below=0.0)
    for block in (1, 7, 32, 33, 64, 150, 1024):
        sparse = _z(net, X, sparse_below=2.0, block=block)  # every group through the lists
        np.testing.assert_allclose(sparse, gemm, rtol=rtol, atol=atol)
        mixed = _z(net, X, sparse_below=0.3, block=block)  # groups of either kind
        np.testing.assert_allclose(mixed, gemm, rtol=rtol, atol=atol)
    out = net.feedforward(X)  # the default rule
    np.testing.assert_allclose(out, _reference(net).feedforward(X.astype(np.float64)), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_all_zero_row_gives_the_bias_exactly(dtype):
    rng = np.random.default_rng(1)
    net = _net(rng, [784, 100], dtype, output="linear", cost="quadratic")
    X = np.zeros((70, 784), dtype=dtype)
    X[5, 3] = 1.0
    z = _z(net, X, sparse_below=2.0)
    np.testing.assert_array_equal(np.delete(z, 5, axis=0), np.broadcast_to(net.biases[0], (69, 100)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_public_inference_apis_on_sparse_rows_match_the_reference(dtype):
    rng = np.random.default_rng(2)
    net = _net(rng, [784, 30, 10], dtype)
    X = _rows(rng, 300, 784, dtype, kinds=("sparse", "zero", "one"))
    y = rng.integers(0, 10, len(X))
    ref = _reference(net)
    rtol, atol = TOL[dtype]
    a = ref.feedforward(X.astype(np.float64))
    np.testing.assert_allclose(net.feedforward(X), a, rtol=rtol, atol=atol)
    z = _z(net, X, sparse_below=0.0)
    pred = net.predict(X)
    assert (pred == z.argmax(axis=1)).mean() > 0.99  # ties within rounding may flip
    assert net.accuracy(X, y) == int((pred == y).sum())
    assert net.total_cost(X, y) == pytest.approx(ref.total_cost(X.astype(np.float64), y),
                                                 rel=1e-4 if dtype == np.float32 else 1e-10)  # fmt: skip
    assert net.accuracy(X, y) == ref.accuracy(X.astype(np.float64), y) or dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, 31, 32, 700, 1023, 1024, 1500])
def test_nan_or_inf_in_X_is_refused_naming_the_first_row(dtype, bad, row):
    rng = np.random.default_rng(row)
    net = _net(rng, [784, 20, 10], dtype)
    X = _rows(rng, 1600, 784, dtype, kinds=("sparse", "zero"))
    X[1100:1200] = rng.uniform(0, 1, (100, 784))  # a dense stretch: the gemm's rows, checked too
    X[row, 400] = bad
    X[row + 3, 10] = np.nan  # a later one is not the first
    msg = rf"^X: contains NaN or infinity \(first at row {row}\)$"
    with pytest.raises(ValueError, match=msg):
        net.feedforward(X)
    with pytest.raises(ValueError, match=msg):
        net.predict(X)
    with pytest.raises(ValueError, match=rf"^data X: contains NaN or infinity \(first at row {row}\)$"):
        net.accuracy(X, np.zeros(len(X), dtype=int))
    for below in (0.0, 2.0):
        with pytest.raises(ValueError, match=rf"^rows: contains NaN or infinity \(first at row {row}\)$"):
            _core.evaluate(_state.layout(net), _state.parameters(net), X, check="rows", sparse_below=below)


@pytest.mark.parametrize("row", [4095, 4096, 8200])
def test_accuracy_names_the_first_bad_row_past_its_blocks(row):
    """accuracy counts in blocks of 4,096 rows; the row number is the data's, not the block's."""
    rng = np.random.default_rng(row)
    net = _net(rng, [784, 10, 10], np.float32)
    X = _rows(rng, 9000, 784, np.float32, kinds=("sparse", "zero"))
    X[row, 100] = np.nan
    X[8999, 0] = np.inf
    with pytest.raises(ValueError, match=rf"^data X: contains NaN or infinity \(first at row {row}\)$"):
        net.accuracy(X, rng.integers(0, 10, len(X)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unchecked_nan_propagates_as_in_the_gemm(dtype):
    """Without check= (the data were checked before), a NaN or inf in X reaches z as the gemm's."""
    rng = np.random.default_rng(3)
    net = _net(rng, [784, 20, 10], dtype)
    X = _rows(rng, 100, 784, dtype, kinds=("sparse", "zero"))
    X[40, 7] = np.nan
    X[70, 9] = np.inf
    for below in (2.0, 0.5):
        z = _z(net, X, sparse_below=below)
        gemm = _z(net, X, sparse_below=0.0)
        np.testing.assert_array_equal(np.isnan(z), np.isnan(gemm))
        ok = ~np.isnan(gemm).any(axis=1)
        np.testing.assert_allclose(z[ok], gemm[ok], *TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_weight_keeps_the_gemm_and_its_nans(dtype, bad):
    """0 · inf is NaN in the gemm; skipping zero inputs would hide it, so a non-finite W¹ takes the
    gemm (the same NaN pattern as before this path existed)."""
    rng = np.random.default_rng(4)
    net = _net(rng, [50, 6, 3], dtype)
    X = _rows(rng, 40, 50, dtype, kinds=("sparse", "zero"))
    params = _state.parameters(net).copy()
    params[17] = bad  # weights[0][0, 17]
    z = np.empty((len(X), 3), dtype=dtype)
    _core.evaluate(_state.layout(net), params, X, out=z, raw=True, sparse_below=2.0)
    gemm = np.empty_like(z)
    _core.evaluate(_state.layout(net), params, X, out=gemm, raw=True, sparse_below=0.0)
    np.testing.assert_array_equal(z, gemm)
    assert np.isnan(z).any()  # a zero input times the non-finite weight


def test_density_threshold_is_a_fraction():
    assert 0.0 < _core.SPARSE_BELOW <= 1.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_few_rows_take_the_gemm(dtype):
    """Below SPARSE_MIN_ROWS rows packing Wᵀ would cost more than it saves: the gemm's bits."""
    rng = np.random.default_rng(5)
    net = _net(rng, [784, 30, 10], dtype)
    X = _rows(rng, _core.SPARSE_MIN_ROWS + 1, 784, dtype, kinds=("sparse",))
    few = X[: _core.SPARSE_MIN_ROWS - 1]
    np.testing.assert_array_equal(_z(net, few, sparse_below=2.0), _z(net, few, sparse_below=0.0))
    assert not np.array_equal(_z(net, X, sparse_below=2.0), _z(net, X, sparse_below=0.0))


@pytest.mark.slow  # a compilation of csrc/sparse_in.c
@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64" and shutil.which("gcc")),
    reason="gcc on x86-64 Linux (the clones' compiler)",
)
@pytest.mark.skipif(not (CSRC / "sparse_in.c").exists(), reason="the C sources (a source checkout)")
def test_the_widest_product_loop_keeps_13_accumulators_in_registers(tmp_path):
    """For AVX2 (x86-64-v3) the 13-vector pass compiles to 13 FMAs in a row, each reading its Wᵀ
    row from memory into a register accumulator — no spill, no per-load induction variable between
    them (csrc/sparse_in_impl.h: SP_OPAQUE), in both precisions."""
    asm = tmp_path / "s.s"
    gcc = subprocess.run(
        ["gcc", "-O3", "-fno-math-errno", "-march=x86-64-v3", "-DFASTNN_NO_CLONES", "-S",
         str(CSRC / "sparse_in.c"), "-o", str(asm)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert gcc.returncode == 0, gcc.stderr
    lines = [line.split() for line in asm.read_text().splitlines()]
    for op in ("vfmadd231pd", "vfmadd231ps"):
        run = best = 0
        for words in lines:
            fma = (
                len(words) >= 2
                and words[0] == op
                and "(" in words[1]  # a memory operand: the Wᵀ row
                and re.fullmatch(r"%ymm\d+", words[-1].split(",")[-1])
            )
            run = run + 1 if fma else 0
            best = max(best, run)
        assert best >= 13, f"{op}: longest run of FMAs with a memory operand {best}"


@pytest.mark.slow  # compiles csrc/sparse_in.c
@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64" and shutil.which("gcc")),
    reason="gcc on x86-64 Linux",
)
@pytest.mark.skipif(not (CSRC / "sparse_in.c").exists(), reason="the C sources (a source checkout)")
@pytest.mark.parametrize("arch", ["x86-64", "x86-64-v3"])  # baseline SSE2 (old CPUs' clone), AVX2
def test_the_kernels_built_for_one_level_match_numpy(arch, tmp_path):
    """The extension runs the clone of this CPU's level; the baseline one (and, with n_in a
    multiple of 8, the AVX2 lists) is checked here from a build of that level alone, through ctypes."""
    lib_path = tmp_path / "sparse_in.so"
    gcc = subprocess.run(
        ["gcc", "-O3", "-fno-math-errno", f"-march={arch}", "-DFASTNN_NO_CLONES", "-shared", "-fPIC",
         str(CSRC / "sparse_in.c"), "-o", str(lib_path)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert gcc.returncode == 0, gcc.stderr
    lib = ctypes.CDLL(str(lib_path))
    rng = np.random.default_rng(7)
    for dtype, sfx in ((np.float64, "_d"), (np.float32, "_f")):
        real = ctypes.POINTER(ctypes.c_double if dtype == np.float64 else ctypes.c_float)
        work_n = getattr(lib, "fnn_sparse_work" + sfx)
        work_n.restype = ctypes.c_ssize_t
        work_n.argtypes = [ctypes.c_ssize_t, ctypes.c_ssize_t]
        pack = getattr(lib, "fnn_sparse_pack" + sfx)
        pack.argtypes = [real, real, real, ctypes.c_ssize_t, ctypes.c_ssize_t]
        forward = getattr(lib, "fnn_sparse_forward" + sfx)
        forward.restype = ctypes.c_ssize_t
        size = ctypes.c_ssize_t
        forward.argtypes = [real, size, real, size, size, size, real, ctypes.c_double, ctypes.POINTER(size)]
        for n_in, n_out, m in ((784, 100, 70), (19, 7, 33), (64, 211, 40), (8, 1, 5), (50, 13, 64)):
            X = _rows(rng, m, n_in, dtype)
            W = rng.uniform(-1, 1, (n_out, n_in)).astype(dtype)
            b = rng.uniform(-1, 1, n_out).astype(dtype)
            work = np.empty(work_n(n_in, n_out), dtype=dtype)
            z = np.full((m, n_out), np.nan, dtype=dtype)
            bad = ctypes.c_ssize_t(0)
            ptr = lambda a, real=real: a.ctypes.data_as(real)  # noqa: E731
            pack(ptr(work), ptr(W), ptr(b), n_out, n_in)
            done = forward(ptr(z), n_out, ptr(X), m, n_in, n_out, ptr(work), 2.0, ctypes.byref(bad))
            assert (done, bad.value) == (m, -1)
            want = X.astype(np.float64) @ W.T.astype(np.float64) + b
            np.testing.assert_allclose(
                z, want, *TOL[dtype], err_msg=f"{arch} {dtype.__name__} {n_in}x{n_out}"
            )
            X[m // 2, n_in - 1] = np.inf  # the pass that lists the nonzeros finds it
            done = forward(ptr(z), n_out, ptr(X), m, n_in, n_out, ptr(work), 2.0, ctypes.byref(bad))
            assert bad.value == m // 2 and done == m // 2 // 32 * 32
