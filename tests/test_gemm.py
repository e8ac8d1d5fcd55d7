"""fastnn's packed matrix product (csrc/gemm.h, issue #29): against numpy on random shapes and
layouts, BLAS' beta semantics, and its fixed order of sums (each element one chain of FMAs over k:
the same bits whatever the blocking, the layout or the rest of the matrix)."""

import numpy as np
import pytest

import fastnn
from fastnn import _core
from fastnn._state import layout, parameters

pytestmark = pytest.mark.skipif(
    _core.KERNELS["gemm"] != "own", reason="no packed product here (needs x86-64 with AVX2 + FMA)"
)

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-10, np.float32: 1e-4}
# (M, N, K) around the tiles (16 x 6 floats, 8 x 6 doubles), the K block (256) and the M/N blocks
SHAPES = [
    (1, 1, 1),
    (7, 5, 3),
    (8, 6, 1),
    (9, 7, 2),
    (16, 6, 255),
    (17, 13, 256),
    (15, 11, 257),
    (33, 17, 600),
    (100, 100, 784),
    (145, 5, 513),
    (73, 770, 20),
    (800, 100, 30),
]


def _operand(rng, shape, dtype, order):
    return np.asarray(rng.standard_normal(shape), dtype=dtype, order=order)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_numpy_in_every_layout(dtype, shape):
    M, N, K = shape
    rng = np.random.default_rng(M * 1000 + N * 10 + K)
    for order_a in "CF":
        for order_b in "CF":
            for beta in (0.0, 1.0, 0.75):
                a = _operand(rng, (M, K), dtype, order_a)
                b = _operand(rng, (K, N), dtype, order_b)
                c = rng.standard_normal((M, N)).astype(dtype)
                want = beta * c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
                _core.kernel_gemm(a, b, c, beta)
                scale = max(1.0, float(np.max(np.abs(want))))
                assert np.max(np.abs(c - want)) / scale < TOL[dtype], (order_a, order_b, beta)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_does_not_read_c_and_k_zero_scales(dtype):
    rng = np.random.default_rng(1)
    a, b = _operand(rng, (20, 9), dtype, "C"), _operand(rng, (9, 13), dtype, "C")
    c = np.full((20, 13), np.nan, dtype=dtype)
    _core.kernel_gemm(a, b, c, 0.0)
    assert np.isfinite(c).all()
    c[3, 4] = np.nan
    _core.kernel_gemm(a, b, c, 1.0)  # beta != 0 reads C: the NaN stays
    assert np.isnan(c[3, 4]) and np.isfinite(np.delete(c.ravel(), 3 * 13 + 4)).all()
    c = np.ones((4, 5), dtype=dtype)
    _core.kernel_gemm(np.empty((4, 0), dtype), np.empty((0, 5), dtype), c, 0.5)
    np.testing.assert_array_equal(c, 0.5)
    _core.kernel_gemm(np.empty((4, 0), dtype), np.empty((0, 5), dtype), c, 0.0)
    np.testing.assert_array_equal(c, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_each_element_is_one_chain_whatever_the_blocking(dtype):
    """Rows, columns and layouts computed apart give the same bits as the whole product."""
    rng = np.random.default_rng(2)
    M, N, K = 150, 40, 700  # several K blocks, M blocks and edge tiles
    a, b = _operand(rng, (M, K), dtype, "C"), _operand(rng, (K, N), dtype, "C")
    c0 = rng.standard_normal((M, N)).astype(dtype)
    whole = c0.copy()
    _core.kernel_gemm(a, b, whole, 0.5)
    for rows in (slice(0, 1), slice(5, 22), slice(17, 150)):
        part = c0[rows].copy()
        _core.kernel_gemm(np.ascontiguousarray(a[rows]), b, part, 0.5)
        np.testing.assert_array_equal(part, whole[rows])
    for cols in (slice(0, 1), slice(3, 10), slice(7, 40)):
        part = c0[:, cols].copy()
        _core.kernel_gemm(a, np.ascontiguousarray(b[:, cols]), part, 0.5)
        np.testing.assert_array_equal(part, whole[:, cols])
    fortran = c0.copy()
    _core.kernel_gemm(np.asfortranarray(a), np.asfortranarray(b), fortran, 0.5)
    np.testing.assert_array_equal(fortran, whole)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("K", [255, 700, 784, 785, 1600])
def test_deep_k_blocks_give_the_same_bits(dtype, K):
    """fnn_gemm_deep (K blocks of up to 784: inference's) against K blocks of 256: one block where
    the other has several, two where K > 784, the chains stored and reloaded between them."""
    rng = np.random.default_rng(K)
    a, b = _operand(rng, (37, K), dtype, "C"), _operand(rng, (K, 29), dtype, "F")
    c0 = rng.standard_normal((37, 29)).astype(dtype)
    for beta in (0.0, 0.75):
        want, got = c0.copy(), c0.copy()
        _core.kernel_gemm(a, b, want, beta)
        _core.kernel_gemm(a, b, got, beta, deep=True)
        np.testing.assert_array_equal(got, want)


def test_chain_order_is_plain_fma_in_k_order():
    """Integers exact in float64 except the last step: one chain of FMAs in k order rounds once
    per step, which a product with a different order would not reproduce here."""
    a = np.array([[2.0**53, 1.0, -(2.0**53), 1.0]])
    b = np.ones((4, 1))
    c = np.zeros((1, 1))
    _core.kernel_gemm(a, b, c, 0.0)
    # ((2^53 + 1) rounds to 2^53) - 2^53 + 1 = 1 in k order; pairwise sums would give 2 or 0
    assert c[0, 0] == 1.0


def test_bad_arguments_are_refused():
    x = np.zeros((3, 3))
    with pytest.raises(TypeError, match="b: expected dtype float64"):
        _core.kernel_gemm(x, x.astype(np.float32), x)
    with pytest.raises(ValueError, match="a, b, c: expected shapes"):
        _core.kernel_gemm(x, np.zeros((4, 3)), x)
    with pytest.raises(ValueError, match="c: expected a writeable C-contiguous array"):
        _core.kernel_gemm(x, x, np.asfortranarray(np.zeros((3, 3))))
    with pytest.raises(ValueError, match="a: expected a C- or Fortran-contiguous array"):
        _core.kernel_gemm(np.zeros((3, 6))[:, ::2], x, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_on_the_packed_product_matches_blas(monkeypatch, dtype):
    """A wide layer at 100 rows (the packed product) against the same run on the vendor BLAS."""
    rng = np.random.default_rng(3)
    X, y = rng.random((400, 300)).astype(dtype), rng.integers(0, 10, 400)
    nets = {}
    for gemm in ("own", "blas"):
        monkeypatch.setitem(_core.KERNELS, "gemm", gemm)
        net = fastnn.Network([300, 700, 10], dtype=dtype, seed=4)
        tr = _core.Trainer(layout(net), parameters(net), 100)
        assert tr.kernels[0] == ("gemm" if gemm == "own" else "blas")
        net.SGD((X, y), 2, 100, 0.5, 1.0, momentum=0.5)
        nets[gemm] = np.concatenate([w.ravel() for w in net.weights + net.biases]).astype(np.float64)
    err = np.max(np.abs(nets["own"] - nets["blas"])) / np.max(np.abs(nets["blas"]))
    assert err < TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("row", "col", "value"), [(0, 0, np.nan), (2500, 783, np.inf), (1999, 500, -np.inf)])
def test_inference_checks_dense_rows_while_packing_them(dtype, row, col, value):
    """Dense rows go to the packed product, which checks them for NaN/inf as it packs them: the
    error names the first bad row, as the separate scan did."""
    rng = np.random.default_rng(5)
    X = rng.random((3000, 784)).astype(dtype)
    net = fastnn.Network([784, 100, 10], dtype=dtype, seed=1)
    want = net.feedforward(X)
    X[row, col] = value
    X[2900, 3] = np.nan  # a later bad row is not the one reported
    with pytest.raises(ValueError, match=f"first at row {row}\\)"):
        net.feedforward(X)
    X[row, col] = 0.5
    X[2900, 3] = 0.5
    X[row, :] = rng.random(784)  # the same rows again: the same values as before the check fired
    np.testing.assert_array_equal(net.feedforward(X)[:row], want[:row])
