"""fastnn's own small-matrix kernels (csrc/mm_*.c) against numpy, on every ISA path this CPU runs;
training on each path (a subprocess with FASTNN_ISA set) against the reference; threads and
reproducibility."""

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import package_env, run_python

import fastnn
from fastnn import _core, _state

ROOT = Path(__file__).resolve().parents[1]
ISAS = list(_core.KERNELS["available"])
SIZES = [1, 3, 7, 17, 31, 33, 65, 129]
TOL = {np.float64: 1e-12, np.float32: 2e-5}
ACTS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "linear": lambda z: z,
}
DACT = {
    "sigmoid": lambda a: a * (1 - a),
    "tanh": lambda a: 1 - a * a,
    "relu": lambda a: (a > 0).astype(a.dtype),
    "linear": lambda a: np.ones_like(a),
}

pytestmark = pytest.mark.skipif(not ISAS, reason="no kernel set of fastnn's own in this build")


def close(got, want, dtype):
    scale = max(np.max(np.abs(want)), 1.0)
    assert np.max(np.abs(got.astype(np.float64) - want)) <= TOL[dtype] * scale * 10


def shapes():
    rng = np.random.default_rng(0)
    out = [(m, n_in, n_out) for m in SIZES for n_in, n_out in zip(SIZES, SIZES[::-1])]
    out += [(int(rng.choice(SIZES)), int(rng.choice(SIZES)), int(rng.choice(SIZES))) for _ in range(12)]
    out += [(10, 784, 30), (10, 30, 10), (100, 784, 100), (300, 33, 17)]  # 300: 3 update passes
    return out


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_numpy(isa, dtype):
    rng = np.random.default_rng(1)
    for m, n_in, n_out in shapes():
        X = rng.standard_normal((m + 40, n_in)).astype(dtype)
        W = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(dtype)
        b = rng.standard_normal(n_out).astype(dtype)
        rows = rng.permutation(m + 40)[:m].astype(np.intp)
        for act in ACTS:
            want = ACTS[act](X[rows].astype(np.float64) @ W.T.astype(np.float64) + b)
            close(_core.kernel_forward(X, W, b, rows=rows, act=act, isa=isa), want, dtype)
        # consecutive rows (rows=None): the first m rows
        want = ACTS["sigmoid"](X[:m].astype(np.float64) @ W.T.astype(np.float64) + b)
        close(_core.kernel_forward(X, W, b, m=m, isa=isa), want, dtype)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_dropout_draws_the_trainers_masks(isa, dtype):
    rng = np.random.default_rng(2)
    for m, n_in, n_out in [(7, 33, 17), (10, 784, 30), (129, 3, 65)]:
        X = rng.random((m, n_in)).astype(dtype)
        W = (rng.standard_normal((n_out, n_in)) * 0.1).astype(dtype)
        b = np.zeros(n_out, dtype=dtype)
        z, dropped, mask = _core.kernel_forward(X, W, b, isa=isa, dropout=0.5, seed=9)
        want_mask = _core.fill_mask(9, m, n_out, 0.5, dtype)
        np.testing.assert_array_equal(mask, want_mask)
        np.testing.assert_array_equal(dropped, z * mask)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_matches_numpy(isa, dtype):
    rng = np.random.default_rng(3)
    for m, n_in, n_out in shapes():
        D = rng.standard_normal((m, n_out)).astype(dtype)
        W = rng.standard_normal((n_out, n_in)).astype(dtype)
        Ap = rng.random((m, n_in)).astype(dtype)
        mask = (rng.random((m, n_in)) < 0.5).astype(dtype) * 2
        for act in ACTS:
            base = (D.astype(np.float64) @ W.astype(np.float64)) * DACT[act](Ap.astype(np.float64))
            close(_core.kernel_backward(D, W, Ap, act=act, isa=isa), base, dtype)
            close(_core.kernel_backward(D, W, Ap, mask=mask, act=act, isa=isa), base * mask, dtype)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variant", ["plain", "l2", "l1", "momentum", "momentum-l1"])
def test_update_matches_numpy(isa, dtype, variant):
    rng = np.random.default_rng(4)
    for m, n_in, n_out in shapes():
        X = rng.standard_normal((m + 5, n_in)).astype(dtype)
        rows = rng.permutation(m + 5)[:m].astype(np.intp)
        D = rng.standard_normal((m, n_out)).astype(dtype)
        W0 = rng.standard_normal((n_out, n_in)).astype(dtype)
        W0[0, 0] = 0  # sgn(0) = 0
        b0 = rng.standard_normal(n_out).astype(dtype)
        V0 = rng.standard_normal((n_out, n_in)).astype(dtype)
        Vb0 = rng.standard_normal(n_out).astype(dtype)
        alpha, beta, mu, c = -0.3, 0.99 if variant == "l2" else 1.0, 0.9, 0.01
        G = D.astype(np.float64).T @ X[rows].astype(np.float64)
        g = D.astype(np.float64).sum(axis=0)
        W, b = W0.copy(), b0.copy()
        w64, b64 = W0.astype(np.float64), b0.astype(np.float64)
        if variant.startswith("momentum"):
            V, Vb = V0.copy(), Vb0.copy()
            reg = "l1" if variant == "momentum-l1" else "l2"
            _core.kernel_update(
                W, b, D, X, rows=rows, VW=V, Vb=Vb, alpha=alpha, mu=mu, c=c, regularization=reg, isa=isa
            )
            v = mu * V0 + alpha * G - c * (np.sign(w64) if reg == "l1" else w64)
            vb = mu * Vb0 + alpha * g
            close(V, v, dtype)
            close(Vb, vb, dtype)
            close(W, w64 + v, dtype)
            close(b, b64 + vb, dtype)
            continue
        reg = {"plain": None, "l2": "l2", "l1": "l1"}[variant]
        _core.kernel_update(W, b, D, X, rows=rows, alpha=alpha, beta=beta, c=c, regularization=reg, isa=isa)
        if variant == "l1":
            want = w64 - c * np.sign(w64) + alpha * G
        else:
            want = beta * w64 + alpha * G
        close(W, want, dtype)
        close(b, b64 + alpha * g, dtype)


def test_kernel_entry_points_refuse_bad_input():
    W = np.zeros((3, 4))
    with pytest.raises(ValueError, match="isa"):
        _core.kernel_forward(np.zeros((2, 4)), W, np.zeros(3), isa="sse9")
    with pytest.raises(ValueError, match="A, W, b"):
        _core.kernel_forward(np.zeros((2, 5)), W, np.zeros(3))
    with pytest.raises(ValueError, match="rows"):
        _core.kernel_forward(np.zeros((2, 4)), W, np.zeros(3), rows=np.array([0, 2]))


# ---- training on every ISA path, in subprocesses (the table is chosen at import) ----------------

TRAIN_SCRIPT = r"""
import hashlib, json, sys
import numpy as np
import fastnn
from fastnn import _core, _state
from fastnn.reference import ReferenceNetwork
sys.path.insert(0, "tests")
from conftest import sgd_draws  # the one place the tests know the order of the network's draws
out = {"kernels": _core.KERNELS, "errors": [], "digests": []}
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    for opts in ({}, {"momentum": 0.9}, {"dropout": 0.3}, {"regularization": "l1"},
                 {"momentum": 0.5, "dropout": 0.2, "regularization": "l1"}):
        for sizes, n, batch in (([17, 33, 7], 65, 7), ([31, 3, 65, 5], 33, 17),
                                ([129, 31, 1, 3], 40, 10), ([7, 129, 3], 31, 31)):
            X = rng.random((n, sizes[0]))
            y = rng.integers(0, sizes[-1], n)
            w = rng.random(n) + 0.5
            net = fastnn.Network(sizes, dtype=dtype, hidden="tanh", seed=1)
            ref = ReferenceNetwork(net.sizes, [a.copy() for a in net.weights],
                                   [b.copy() for b in net.biases], net.cost, net.output,
                                   net.hidden, dtype=dtype)
            seed, perms = sgd_draws(net, n, 2)
            stream = _core.MaskStream(seed, opts["dropout"], dtype) if opts.get("dropout") else None
            net.SGD((X, y), 2, batch, 0.3, 0.5, sample_weight=w, **opts)
            ref.SGD((X, y), 2, batch, 0.3, 0.5, perms=perms, mask_stream=stream, sample_weight=w,
                    **{k: v for k, v in opts.items() if k != "dropout"})
            got = np.concatenate([a.ravel() for a in net.weights + net.biases]).astype(np.float64)
            want = np.concatenate([a.ravel() for a in ref.weights + ref.biases]).astype(np.float64)
            out["errors"].append([str(np.dtype(dtype)), repr(opts), sizes,
                                  float(np.max(np.abs(got - want)) / np.max(np.abs(want)))])
            out["digests"].append(hashlib.sha256(_state.parameters(net).tobytes()).hexdigest())
print(json.dumps(out))
"""


def run_path(isa, kernels="own", gemm="auto"):
    env = package_env(FASTNN_ISA=isa, FASTNN_KERNELS=kernels, FASTNN_GEMM=gemm)
    proc = run_python(TRAIN_SCRIPT, ROOT, env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# one ISA in the fast set (a child process each, ~0.6 s), the others slow
@pytest.mark.parametrize("isa", ISAS[:1] + [pytest.param(i, marks=pytest.mark.slow) for i in ISAS[1:]])
def test_training_on_each_isa_path_matches_reference(isa):
    """Odd sizes, both dtypes, with/without momentum, dropout, L1 and row weights."""
    out = run_path(isa)
    assert out["kernels"]["isa"] == isa and out["kernels"]["mode"] == "own"
    for dtype, opts, sizes, err in out["errors"]:
        assert err < (1e-10 if dtype == "float64" else 1e-4), (dtype, opts, sizes, err)


@pytest.mark.slow
@pytest.mark.parametrize("isa", ISAS)
def test_seeded_runs_are_bit_reproducible_per_isa_path(isa):
    assert run_path(isa)["digests"] == run_path(isa)["digests"]


@pytest.mark.parametrize(
    "name, value", [("FASTNN_ISA", "sse9"), ("FASTNN_KERNELS", "fast"), ("FASTNN_GEMM", "fast")]
)
def test_bad_environment_is_refused_at_import(name, value):
    env = package_env()
    env.pop("FASTNN_ISA", None)
    env[name] = value
    proc = run_python("import fastnn._core", ROOT, env, timeout=120)
    assert proc.returncode != 0 and name in proc.stderr


def test_blas_path_selectable_and_equivalent():
    out = run_path(ISAS[0], kernels="blas")
    assert out["kernels"]["mode"] == "blas" and out["kernels"]["isa"] is None
    assert out["kernels"]["gemm"] == "blas"  # FASTNN_KERNELS=blas: the vendor BLAS for every product
    for dtype, opts, sizes, err in out["errors"]:
        assert err < (1e-10 if dtype == "float64" else 1e-4), (dtype, opts, sizes, err)


@pytest.mark.skipif(_core.KERNELS["gemm"] != "own", reason="no packed product here (needs AVX2 + FMA)")
def test_packed_product_path_matches_reference():
    """Every training layer on fastnn's packed product (csrc/gemm.h): the same options and sizes."""
    out = run_path(ISAS[0], kernels="blas", gemm="own")
    assert out["kernels"]["gemm"] == "own"
    for dtype, opts, sizes, err in out["errors"]:
        assert err < (1e-10 if dtype == "float64" else 1e-4), (dtype, opts, sizes, err)


# ---- threads: no shared scratch ------------------------------------------------------------------


def _train(seed, dtype, out, key):
    rng = np.random.default_rng(seed)
    X, y = rng.random((300, 33)), rng.integers(0, 5, 300)
    net = fastnn.Network([33, 17, 5], dtype=dtype, seed=seed)
    net.SGD((X, y), 3, 10, 0.5, 0.1, momentum=0.5, dropout=0.2, n_threads=1)
    out[key] = _state.parameters(net).copy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_trainings_in_two_threads_equal_sequential(monkeypatch, dtype):
    monkeypatch.setitem(_core.KERNELS, "mode", "own")  # own kernels on every layer
    seq, par = {}, {}
    _train(1, dtype, seq, 1)
    _train(2, dtype, seq, 2)
    threads = [threading.Thread(target=_train, args=(s, dtype, par, s)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in (1, 2):
        np.testing.assert_array_equal(par[s], seq[s])


def test_trainer_reports_its_kernels(monkeypatch):
    net = fastnn.Network([784, 30, 10], seed=0)
    lay = _state.layout(net)
    monkeypatch.setitem(_core.KERNELS, "mode", "blas")
    monkeypatch.setitem(_core.KERNELS, "gemm", "blas")
    assert _core.Trainer(lay, _state.parameters(net), 10).kernels == ("blas", "blas")
    monkeypatch.setitem(_core.KERNELS, "gemm", "own")  # the packed product for the same layers
    assert _core.Trainer(lay, _state.parameters(net), 10).kernels == ("gemm", "gemm")
    monkeypatch.setitem(_core.KERNELS, "mode", "own")
    assert _core.Trainer(lay, _state.parameters(net), 10).kernels == (_core.KERNELS["isa"],) * 2
    monkeypatch.setitem(_core.KERNELS, "mode", "auto")
    want = tuple(
        _core.KERNELS["isa"] if _core.uses_own_kernels(10, a, b) else "gemm" for a, b in ((784, 30), (30, 10))
    )
    assert _core.Trainer(lay, _state.parameters(net), 10).kernels == want


@pytest.mark.parametrize(
    ("isa", "batch", "n_in", "n_out", "want"),
    [
        ("avx512", 10, 784, 30, True),  # the chapter's layers at any mini-batch up to 128
        ("avx512", 128, 784, 100, True),
        ("avx512", 129, 784, 30, False),  # beyond OWN_MAX_ROWS: BLAS
        ("avx512", 10, 784, 800, True),  # wide layer, small mini-batch: own (OWN_ANY_ROWS)
        ("avx512", 32, 784, 800, False),  # wide layer, larger mini-batch: BLAS
        ("avx2", 16, 2000, 2000, True),
        ("avx2", 100, 784, 30, True),  # W 188 kB (f64) fits L2
        ("avx2", 100, 784, 100, False),  # f64 W 627 kB: over OWN_AVX2_MAX_BYTES, BLAS (issue #29)
        ("avx512", 100, 784, 100, True),  # AVX-512 hosts: 1-2 MB of L2
        ("generic", 10, 784, 30, False),  # portable path: BLAS unless FASTNN_KERNELS=own
    ],
)
def test_auto_rule_picks_own_kernels_where_they_win(monkeypatch, isa, batch, n_in, n_out, want):
    monkeypatch.setitem(_core.KERNELS, "mode", "auto")
    monkeypatch.setitem(_core.KERNELS, "gemm", "blas")  # the rule against BLAS (the packed one: below)
    monkeypatch.setitem(_core.KERNELS, "isa", isa)
    assert _core.uses_own_kernels(batch, n_in, n_out) is want
    monkeypatch.setitem(_core.KERNELS, "mode", "own")
    assert _core.uses_own_kernels(batch, n_in, n_out) is True
    monkeypatch.setitem(_core.KERNELS, "mode", "blas")
    assert _core.uses_own_kernels(batch, n_in, n_out) is False


@pytest.mark.parametrize(
    ("batch", "n_in", "n_out", "itemsize", "threads", "want"),
    [
        (100, 784, 100, 4, 1, False),  # [784,100] f32 (313 kB) at 100 rows: the packed product
        (100, 784, 30, 8, 1, False),  # [784,30] f64 (188 kB)
        (100, 784, 30, 4, 1, True),  # [784,30] f32 (94 kB): the own kernels
        (63, 784, 100, 4, 1, True),  # under GEMM_AVX2_MIN_ROWS
        (64, 784, 100, 4, 1, False),
        (100, 784, 100, 4, 2, False),  # the same for a team (results must not depend on threads)
        (16, 784, 100, 8, 1, True),  # up to OWN_ANY_ROWS: always own
    ],
)
def test_avx2_rule_with_the_packed_product(monkeypatch, batch, n_in, n_out, itemsize, threads, want):
    monkeypatch.setitem(_core.KERNELS, "mode", "auto")
    monkeypatch.setitem(_core.KERNELS, "isa", "avx2")
    monkeypatch.setitem(_core.KERNELS, "gemm", "own")
    assert _core.uses_own_kernels(batch, n_in, n_out, itemsize, threads) is want


@pytest.mark.parametrize(
    ("isa", "itemsize", "want"), [("avx2", 8, False), ("avx2", 4, True), ("avx512", 8, True)]
)
def test_avx2_rule_weighs_the_layer_in_bytes(monkeypatch, isa, itemsize, want):
    """[784,100] at mini-batch 100: f64 (627 kB) goes to BLAS on the AVX2 path, f32 (313 kB) stays
    (against the vendor BLAS; with the packed product, the rule above)."""
    monkeypatch.setitem(_core.KERNELS, "mode", "auto")
    monkeypatch.setitem(_core.KERNELS, "isa", isa)
    monkeypatch.setitem(_core.KERNELS, "gemm", "blas")
    assert _core.uses_own_kernels(100, 784, 100, itemsize) is want
    assert _core.uses_own_kernels(10, 784, 100, itemsize) is True  # up to OWN_ANY_ROWS: always own


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_take_the_step_folded_into_delta(dtype):
    """The update kernel adds δᵀA as given (the trainer folds -η/m into δᴸ once): with α = 1 in
    kernel_update the result is W + DᵀA exactly as numpy computes it (to rounding)."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((7, 33)).astype(dtype)
    b = rng.standard_normal(7).astype(dtype)
    D = rng.standard_normal((3, 7)).astype(dtype)
    A = rng.standard_normal((3, 33)).astype(dtype)
    W0, b0 = W.copy(), b.copy()
    _core.kernel_update(W, b, D, A, alpha=1.0)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(W, W0 + D.T @ A, rtol=tol, atol=tol)
    np.testing.assert_allclose(b, b0 + D.sum(axis=0), rtol=tol, atol=tol)


_M64 = (1 << 64) - 1


def _xoshiro_outputs(seed, count):
    """splitmix64 seeding + xoshiro256** (Blackman & Vigna), written out in Python: the trainer's
    generator, which draws one dropout key per epoch."""

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & _M64

    s = []
    for _ in range(4):
        seed = (seed + 0x9E3779B97F4A7C15) & _M64
        s.append(_mix64(seed))
    out = []
    for _ in range(count):
        result = (rotl((s[1] * 5) & _M64, 7) * 9) & _M64
        t = (s[1] << 17) & _M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        out.append(result)
    return out


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _counter_masks(key, rows, cols, p, row0=0, col0=0):
    """The counter-based dropout stream (csrc/kernels.h), written out in Python: the decision for
    (row, neuron) is a hash of (key, row, neuron) alone — whatever thread draws it."""
    out = np.zeros((rows, cols))
    for i in range(rows):
        h = _mix64((key + (row0 + i) * 0x9E3779B97F4A7C15) & _M64)
        for j in range(cols):
            u = (_mix64(h ^ (((col0 + j) * 0xD1B54A32D192ED03) & _M64)) >> 11) * 2.0**-53
            out[i, j] = 1 / (1 - p) if u >= p else 0.0
    return out


@pytest.mark.parametrize("seed", [0, 7, 2**63 + 5])
def test_dropout_keys_are_the_xoshiro_stream(seed):
    assert _core.epoch_keys(seed, 5) == _xoshiro_outputs(seed, 5)


@pytest.mark.parametrize("key", [0, 7, 2**63 + 5])
def test_dropout_masks_are_the_counter_stream(key):
    for dtype in (np.float64, np.float32):
        for row0, col0 in [(0, 0), (130, 45)]:
            got = _core.fill_mask(key, 13, 21, 0.3, dtype=dtype, row0=row0, col0=col0)
            np.testing.assert_array_equal(got, _counter_masks(key, 13, 21, 0.3, row0, col0).astype(dtype))
    # a block of the stream is the same values as the whole (no dependence on who draws it)
    whole = _core.fill_mask(key, 20, 30, 0.5)
    np.testing.assert_array_equal(_core.fill_mask(key, 7, 11, 0.5, row0=5, col0=13), whole[5:12, 13:24])
