"""The compiled core against the reference implementation and against finite differences."""

import zlib

import numpy as np
import pytest
from conftest import numeric_gradient, rel_err, twin

import fastnn
from fastnn import _core, _state
from fastnn.costs import VALID_PAIRINGS
from fastnn.reference import onehot

HIDDEN = ("sigmoid", "tanh", "relu")
TOL = {np.float64: 1e-10, np.float32: 1e-4}


def random_problem(rng, cost, output, n_in, n_out, n):
    X = rng.random((n, n_in))
    if output == "linear" or n_out == 1 or (cost == "quadratic" and rng.random() < 0.5):
        y = rng.random((n, n_out))  # real-valued targets
    else:
        y = rng.integers(0, n_out, n)  # class labels
    return X, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("cost,output", VALID_PAIRINGS)
@pytest.mark.parametrize("lmbda", [0.0, 0.7])
def test_core_matches_reference(cost, output, hidden, dtype, lmbda):
    """Same initial parameters, shuffle=False: several epochs give the reference's weights,
    on random shapes with a last mini-batch smaller than the others."""
    rng = np.random.default_rng(zlib.crc32(repr((cost, output, hidden, lmbda)).encode()))
    for trial in range(3):
        sizes = [int(s) for s in rng.integers(1, 12, size=rng.integers(2, 5))]
        sizes[0] = max(sizes[0], 2)
        if cost == "log-likelihood":
            sizes[-1] = max(sizes[-1], 2)
        n = int(rng.integers(5, 40))
        batch = int(rng.integers(1, n + 1))
        if n % batch == 0 and batch > 1:
            batch -= 1  # make the last mini-batch smaller
        X, y = random_problem(rng, cost, output, sizes[0], sizes[-1], n)
        net = fastnn.Network(sizes, cost=cost, output=output, hidden=hidden, dtype=dtype, seed=trial)
        ref = twin(net)
        eta = 0.3 if output == "linear" else 0.5
        net.SGD((X, y), 4, batch, eta, lmbda, shuffle=False)
        ref.SGD((X, y), 4, batch, eta, lmbda)
        assert rel_err(net.weights + net.biases, ref.weights + ref.biases) < TOL[dtype], (sizes, n, batch)
        np.testing.assert_allclose(
            net.feedforward(X), ref.feedforward(X), rtol=TOL[dtype] * 10, atol=TOL[dtype]
        )
        assert net.total_cost(X, y, lmbda) == pytest.approx(ref.total_cost(X, y, lmbda), rel=TOL[dtype] * 10)
        if np.ndim(y) == 1 or sizes[-1] > 1:
            assert abs(net.accuracy(X, y) - ref.accuracy(X, y)) <= (0 if dtype == np.float64 else 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shuffled_training_matches_reference_with_same_permutations(dtype, seeded):
    rng = np.random.default_rng(5)
    X, y = rng.random((57, 6)), rng.integers(0, 3, 57)
    net = fastnn.Network([6, 8, 3], dtype=dtype, seed=3)
    ref = twin(net)
    _, perms = seeded(net, 57, 3)
    net.SGD((X, y), 3, 10, 0.5, 0.1)
    ref.SGD((X, y), 3, 10, 0.5, 0.1, perms=perms)
    assert rel_err(net.weights + net.biases, ref.weights + ref.biases) < TOL[dtype]


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("cost,output", VALID_PAIRINGS)
def test_gradient_matches_finite_differences(cost, output, hidden):
    """One full-batch step of the compiled core with η = m moves the parameters by exactly
    −Σₓ∇Cₓ; compare with central differences of the core's own total cost."""
    rng = np.random.default_rng(11)
    sizes = [4, 5, 3, 3]
    X, y = random_problem(rng, cost, output, sizes[0], sizes[-1], 7)
    if hidden == "relu":
        X = X + 0.5  # keep pre-activations away from the kink
    net = fastnn.Network(sizes, cost=cost, output=output, hidden=hidden, seed=2)
    before = _state.parameters(net).copy()
    m = len(X)
    grad = numeric_gradient(lambda: net.total_cost(X, y) * m, _state.parameters(net))
    net.SGD((X, y), 1, m, float(m), shuffle=False)
    step = before - _state.parameters(net)  # = η/m Σ∇ = Σ∇
    np.testing.assert_allclose(step, grad, rtol=1e-5, atol=1e-7)

    # and the reference's BP1–BP4 agree with the same numbers
    _state.parameters(net)[...] = before
    ref = twin(net)
    Y = y if np.ndim(y) == 2 else onehot(y, sizes[-1])
    nb, nw = ref.backprop(X, Y)
    flat = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(nw, nb)])
    np.testing.assert_allclose(flat, grad, rtol=1e-5, atol=1e-7)


def test_invalid_pairings_are_refused_with_the_valid_list():
    with pytest.raises(ValueError, match="valid pairings"):
        fastnn.Network([3, 2], cost="cross-entropy", output="softmax")
    with pytest.raises(ValueError, match="quadratic\\+linear"):
        fastnn.Network([3, 2], cost="log-likelihood", output="sigmoid")


# ---- the identities of the chapter --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_kernel_matches_numpy(dtype):
    x = np.linspace(-80, 80, 10001).astype(dtype)
    np.testing.assert_allclose(
        _core.kernel_exp(x), np.exp(x.astype(np.float64)), rtol=4 * np.finfo(dtype).eps
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_prime_identity(dtype):
    """σ'(z) = σ(z)(1 − σ(z)): the kernel's backprop factor equals the derivative."""
    z = np.linspace(-6, 6, 61).reshape(1, -1).astype(dtype)
    a = _core.kernel_activate(z, np.zeros(z.shape[1], dtype), "sigmoid")
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-z.astype(np.float64))), rtol=TOL[dtype])
    h = 1e-5
    z64 = z.astype(np.float64)
    numeric = (1 / (1 + np.exp(-(z64 + h))) - 1 / (1 + np.exp(-(z64 - h)))) / (2 * h)
    np.testing.assert_allclose(a * (1 - a), numeric, rtol=1e-4 if dtype == np.float32 else 1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_sums_to_one_and_is_monotone(dtype):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((50, 7)) * 5).astype(dtype)
    b = np.zeros(7, dtype)
    a = _core.kernel_activate(z, b, "softmax")
    np.testing.assert_allclose(a.sum(axis=1), 1, rtol=TOL[dtype] * 10)
    bumped = z.copy()
    bumped[:, 3] += 0.5
    a2 = _core.kernel_activate(bumped, b, "softmax")
    assert np.all(a2[:, 3] > a[:, 3])
    others = np.delete(np.arange(7), 3)
    assert np.all(a2[:, others] <= a[:, others])


def test_softmax_and_costs_never_overflow():
    net = fastnn.Network([2, 3], cost="log-likelihood", seed=0)
    net.weights = [np.array([[1e4, 0], [0, 1e4], [-1e4, -1e4]])]
    net.biases = [np.zeros(3)]
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    a = net.feedforward(X)
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a.sum(axis=1), 1)
    assert list(a.argmax(axis=1)) == [0, 1, 2]
    cost = net.total_cost(X, np.array([1, 0, 0]))  # all confidently wrong
    assert np.isfinite(cost) and cost > 1e3


def test_cross_entropy_of_saturated_sigmoid_is_finite_and_exact():
    net = fastnn.Network([1, 1], cost="cross-entropy", seed=0)
    net.weights = [np.array([[1.0]])]
    net.biases = [np.array([0.0])]
    X = np.array([[800.0], [-800.0]])
    a = net.feedforward(X)
    assert a[0, 0] == 1.0 and a[1, 0] < 1e-300  # saturated in floating point
    cost = net.total_cost(X, np.array([[0.0], [1.0]]))  # both maximally wrong
    assert cost == pytest.approx(800.0)  # mean of −ln(1−σ(800)), −ln σ(−800)


@pytest.mark.parametrize(
    "cost,output", [("cross-entropy", "sigmoid"), ("log-likelihood", "softmax"), ("quadratic", "linear")]
)
def test_output_delta_is_a_minus_y(cost, output):
    """δᴸ = a − y: one step with a single example changes the output biases by −η(a − y)."""
    rng = np.random.default_rng(1)
    net = fastnn.Network([3, 4], cost=cost, output=output, seed=1)
    x = rng.random((1, 3))
    y = np.array([2])
    a = net.feedforward(x)[0]
    b0 = net.biases[0].copy()
    net.SGD((x, y), 1, 1, 0.1, shuffle=False)
    np.testing.assert_allclose(b0 - net.biases[0], 0.1 * (a - np.eye(4)[2]), rtol=1e-12)


# ---- chapter 3 features against the reference ---------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_l1_matches_reference(dtype, hidden):
    rng = np.random.default_rng(3)
    X, y = rng.random((33, 5)), rng.integers(0, 3, 33)
    net = fastnn.Network([5, 6, 3], hidden=hidden, dtype=dtype, seed=4)
    ref = twin(net)
    net.SGD((X, y), 3, 4, 0.5, 2.0, shuffle=False, regularization="l1")
    ref.SGD((X, y), 3, 4, 0.5, 2.0, regularization="l1")
    assert rel_err(net.weights + net.biases, ref.weights + ref.biases) < TOL[dtype]
    assert net.total_cost(X, y, 2.0, "l1") == pytest.approx(
        ref.total_cost(X, y, 2.0, "l1"), rel=TOL[dtype] * 10
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("regularization", ["l2", "l1"])
def test_momentum_matches_reference(dtype, regularization):
    rng = np.random.default_rng(4)
    X, y = rng.random((41, 5)), rng.integers(0, 4, 41)
    net = fastnn.Network([5, 7, 4], cost="log-likelihood", dtype=dtype, seed=5)
    ref = twin(net)
    net.SGD((X, y), 2, 6, 0.2, 1.5, shuffle=False, regularization=regularization, momentum=0.9)
    net.SGD((X, y), 2, 6, 0.2, 1.5, shuffle=False, regularization=regularization, momentum=0.9)
    ref.SGD((X, y), 4, 6, 0.2, 1.5, regularization=regularization, momentum=0.9)  # velocity persists
    assert rel_err(net.weights + net.biases, ref.weights + ref.biases) < TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("regularization", ["l2", "l1"])
def test_zero_momentum_is_plain_sgd_exactly(dtype, regularization):
    """momentum=0 takes plain SGD's steps — the reference's plain update, which has no velocity —
    also on a network that carries a velocity from an earlier momentum call (neither used nor
    changed), and gives bit for bit the parameters of a network that never had a velocity."""
    rng = np.random.default_rng(6)
    X, y = rng.random((30, 4)), rng.integers(0, 3, 30)
    a = fastnn.Network([4, 5, 3], dtype=dtype, seed=1)
    a.SGD((X, y), 1, 7, 0.5, 1.0, momentum=0.9)  # a has a velocity now
    velocity = _state.velocity(a).copy()
    assert np.any(velocity != 0)
    b = fastnn.Network([4, 5, 3], dtype=dtype, seed=2)
    b.weights, b.biases = a.weights, a.biases  # the same parameters, no velocity
    assert _state.velocity(b) is None
    ref = twin(a)
    for net in (a, b):
        net.SGD((X, y), 3, 7, 0.5, 1.0, shuffle=False, regularization=regularization, momentum=0.0)
    ref.SGD((X, y), 3, 7, 0.5, 1.0, regularization=regularization)  # plain SGD, rows in order
    assert rel_err(a.weights + a.biases, ref.weights + ref.biases) < TOL[dtype]
    assert np.array_equal(_state.parameters(a), _state.parameters(b))
    assert np.array_equal(_state.velocity(a), velocity) and _state.velocity(b) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_dropout_matches_reference_with_the_same_masks(dtype, hidden, seeded):
    rng = np.random.default_rng(7)
    X, y = rng.random((29, 6)), rng.integers(0, 3, 29)
    net = fastnn.Network([6, 9, 5, 3], hidden=hidden, dtype=dtype, seed=8)
    ref = twin(net)
    seed, _ = seeded(net, 29, 2)
    net.SGD((X, y), 2, 5, 0.5, 0.5, shuffle=False, dropout=0.4)
    ref.SGD((X, y), 2, 5, 0.5, 0.5, mask_stream=_core.MaskStream(seed, 0.4, dtype))
    assert rel_err(net.weights + net.biases, ref.weights + ref.biases) < TOL[dtype]


def test_dropout_keeps_about_one_minus_p():
    for p in (0.2, 0.5, 0.8):
        mask = _core.fill_mask(123, 400, 500, p)
        kept = np.mean(mask > 0)
        assert abs(kept - (1 - p)) < 0.005
        assert np.allclose(mask[mask > 0], 1 / (1 - p))


def test_dropout_is_reproducible_from_the_seed():
    rng = np.random.default_rng(9)
    X, y = rng.random((50, 6)), rng.integers(0, 3, 50)
    nets = [fastnn.Network([6, 10, 3], seed=42) for _ in range(2)]
    for net in nets:
        net.SGD((X, y), 2, 5, 0.5, dropout=0.5)
    assert np.array_equal(_state.parameters(nets[0]), _state.parameters(nets[1]))
    other = fastnn.Network([6, 10, 3], seed=43)
    other.SGD((X, y), 2, 5, 0.5, dropout=0.5)
    assert not np.array_equal(_state.parameters(nets[0]), _state.parameters(other))


def test_core_entry_points_check_their_input():
    lay = _core.Layout([3, 2], "sigmoid", "sigmoid", "cross-entropy", np.float64)
    params = np.zeros(lay.n_params)
    t = _core.Trainer(lay, params, 2)
    y = _core.Targets(lay, np.zeros(4, dtype=np.intp), None, 4)
    with pytest.raises(ValueError, match="X: expected shape"):
        t.begin(np.zeros((4, 5)), y)
    with pytest.raises(TypeError, match="dtype"):
        t.begin(np.zeros((4, 3), dtype=np.float32), y)
    with pytest.raises(ValueError, match="C-contiguous"):
        t.begin(np.zeros((3, 4)).T, y)
    with pytest.raises(ValueError, match="perm"):
        t.begin(np.zeros((4, 3)), y, np.array([0, 1, 2, 9], dtype=np.intp))
    with pytest.raises(ValueError, match="call begin"):
        t.train(0, 2, 0.1)
    t.begin(np.zeros((4, 3)), y)
    with pytest.raises(ValueError, match="start/stop"):
        t.train(0, 3, 0.1)
    with pytest.raises(ValueError, match="labels"):
        _core.Targets(lay, np.array([0, 5], dtype=np.intp), None, 2)
    with pytest.raises(ValueError, match="params"):
        _core.Trainer(lay, np.zeros(3), 2)
    with pytest.raises(ValueError, match="X: expected shape"):
        _core.evaluate(lay, params, np.zeros((4, 2)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_arrays_fastnn_allocates_start_on_a_cache_line(dtype, tmp_path):
    """Parameters, converted training data and loaded data sets are 64-byte aligned, so the
    kernels' full-width row loads never straddle two cache lines (aligned_empty)."""
    from fastnn._validation import SIMD_ALIGN, aligned_copy, aligned_empty

    for shape in [(0,), (1,), (3, 5), (1000, 784)]:
        a = aligned_empty(shape, dtype)
        assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
        assert a.size == 0 or a.ctypes.data % SIMD_ALIGN == 0  # (an empty array has no data)
    x = np.arange(12.0).reshape(3, 4)[:, ::2]  # not contiguous: an aligned copy
    c = aligned_copy(x, dtype)
    assert c.ctypes.data % SIMD_ALIGN == 0 and c.dtype == dtype
    np.testing.assert_array_equal(c, x.astype(dtype))
    same = np.ascontiguousarray(x, dtype=dtype)
    assert aligned_copy(same, dtype) is same  # already right: no copy, whatever its alignment
    net = fastnn.Network([784, 30, 10], dtype=dtype, seed=0)
    assert (
        _state.parameters(net).ctypes.data % SIMD_ALIGN == 0 and net.weights[0].ctypes.data % SIMD_ALIGN == 0
    )
    X, y = np.random.default_rng(0).random((20, 784)), np.arange(20) % 10
    net.SGD((X, y), 1, 10, 0.1, momentum=0.9)  # the velocity, read by the update kernel like W
    assert _state.velocity(net).ctypes.data % SIMD_ALIGN == 0
    path = tmp_path / "checkpoint.json"
    net.save(path, state=True)
    assert _state.velocity(fastnn.load(path)).ctypes.data % SIMD_ALIGN == 0
    for X, _ in fastnn.data.load_digits(dtype=dtype):
        assert X.ctypes.data % SIMD_ALIGN == 0


def test_mnist_rows_start_on_cache_lines(mnist_dir):
    from fastnn._validation import SIMD_ALIGN

    for X, _ in fastnn.data.load_mnist(mnist_dir, dtype=np.float32, validation_size=100):
        assert X.ctypes.data % SIMD_ALIGN == 0 and X.strides[0] % SIMD_ALIGN == 0
