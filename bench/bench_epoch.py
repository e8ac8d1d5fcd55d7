"""pytest-benchmark suite (benchmarks, not timed tests): ``pytest bench/ --benchmark-only``.

Run with OpenBLAS' core-type overrides removed:
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest bench/ --benchmark-only``
(single-threaded; 50,000 MNIST rows, or synthetic ones; ``FASTNN_BENCH_ROUNDS`` rounds, default 3, after one
warm-up round). Groups:

* ``epoch-[784,H,10]-mbM-DT``: one epoch of fastnn with sigmoid + cross-entropy and softmax + log-likelihood,
  next to the products-only bound (bench/_bound.pyx, the same BLAS calls and nothing else);
* ``inference-...``: feedforward of 10,000 rows, fastnn vs the bound;
* ``options-...``: plain SGD vs dropout 0.5 vs momentum 0.9;
* ``core-vs-reference``: fastnn vs ``fastnn.reference`` for [784,30,10] mini-batch 10.
"""

import numpy as np
import pytest

ETA, LMBDA = 0.5, 5.0
SIZES = [(784, 30, 10), (784, 100, 10)]
MBS = [10, 100]
DTYPES = [np.float64, np.float32]
COSTS = [("cross-entropy", "sigmoid"), ("log-likelihood", "softmax")]


def _dt(dtype):
    return "f64" if np.dtype(dtype) == np.float64 else "f32"


def _sz(sizes):
    return "[" + ",".join(map(str, sizes)) + "]"


def _fastnn():
    return pytest.importorskip("fastnn", reason="fastnn is not built")


def _network(sizes, cost, dtype):
    fastnn = _fastnn()
    if not hasattr(fastnn, "Network"):
        pytest.skip("fastnn.Network is not available yet")
    return fastnn.Network(sizes, cost=cost, dtype=dtype, seed=0)


def _run(benchmark, fn, rounds):
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


# ----------------------------------------------------------------------------------------------------------
# one epoch: fastnn (both cost/output pairs) and the products-only bound, per (sizes, mb, dtype)
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=_dt)
@pytest.mark.parametrize("mb", MBS, ids=lambda m: f"mb{m}")
@pytest.mark.parametrize("sizes", SIZES, ids=_sz)
@pytest.mark.parametrize("cost,output", COSTS, ids=["sigmoid-xent", "softmax-loglik"])
def test_epoch(benchmark, as_dtype, bench_rounds, sizes, mb, dtype, cost, output):
    X, y = as_dtype("train", dtype)
    net = _network(sizes, cost, dtype)
    benchmark.group = f"epoch-{_sz(sizes)}-mb{mb}-{_dt(dtype)}"
    benchmark.extra_info.update(rows=len(X), cost=cost, output=output)
    _run(benchmark, lambda: net.SGD((X, y), 1, mb, ETA, LMBDA, n_threads=1), bench_rounds)


def _bound():
    """bench/_bound.pyx, built on first use (skips the benchmark when it cannot be built)."""
    from setup_bound import load

    try:
        return load()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"bench/_bound.pyx could not be built ({type(e).__name__}: {e})")


@pytest.mark.parametrize("dtype", DTYPES, ids=_dt)
@pytest.mark.parametrize("mb", MBS, ids=lambda m: f"mb{m}")
@pytest.mark.parametrize("sizes", SIZES, ids=_sz)
def test_epoch_bound(benchmark, as_dtype, bench_rounds, sizes, mb, dtype):
    bound = _bound()
    X, _y = as_dtype("train", dtype)
    eb = bound.EpochBound(sizes, mb, dtype, variant="products", eta=ETA, lmbda=LMBDA)
    benchmark.group = f"epoch-{_sz(sizes)}-mb{mb}-{_dt(dtype)}"
    benchmark.extra_info.update(rows=len(X), variant="products-only bound")
    _run(benchmark, lambda: eb.run_epoch(X), bench_rounds)


# ----------------------------------------------------------------------------------------------------------
# inference over 10,000 rows
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=_dt)
@pytest.mark.parametrize("sizes", SIZES, ids=_sz)
def test_inference(benchmark, as_dtype, bench_rounds, sizes, dtype):
    X, _ = as_dtype("test", dtype)
    X = X[:10_000]
    net = _network(sizes, "cross-entropy", dtype)
    benchmark.group = f"inference-10000-{_sz(sizes)}-{_dt(dtype)}"
    _run(benchmark, lambda: net.feedforward(X), 3 * bench_rounds)


@pytest.mark.parametrize("dtype", DTYPES, ids=_dt)
@pytest.mark.parametrize("sizes", SIZES, ids=_sz)
def test_inference_bound(benchmark, as_dtype, bench_rounds, sizes, dtype):
    bound = _bound()
    X, _ = as_dtype("test", dtype)
    X = np.ascontiguousarray(X[:10_000])
    fb = bound.ForwardBound(sizes, len(X), dtype, variant="products")
    benchmark.group = f"inference-10000-{_sz(sizes)}-{_dt(dtype)}"
    benchmark.extra_info.update(variant="products-only bound")
    _run(benchmark, lambda: fb.run(X), 3 * bench_rounds)


# ----------------------------------------------------------------------------------------------------------
# dropout 0.5 and momentum 0.9 vs plain SGD
# ----------------------------------------------------------------------------------------------------------
OPTIONS = {"plain": {}, "dropout-0.5": {"dropout": 0.5}, "momentum-0.9": {"momentum": 0.9}}


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("dtype", DTYPES, ids=_dt)
@pytest.mark.parametrize("sizes", SIZES, ids=_sz)
def test_options(benchmark, as_dtype, bench_rounds, sizes, dtype, option):
    X, y = as_dtype("train", dtype)
    net = _network(sizes, "cross-entropy", dtype)
    benchmark.group = f"options-{_sz(sizes)}-mb10-{_dt(dtype)}"
    benchmark.extra_info.update(option=option)
    kw = OPTIONS[option]
    _run(benchmark, lambda: net.SGD((X, y), 1, 10, ETA, LMBDA, n_threads=1, **kw), bench_rounds)


# ----------------------------------------------------------------------------------------------------------
# the compiled core vs the matrix-based numpy reference, [784,30,10] mini-batch 10
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=_dt)
@pytest.mark.parametrize("impl", ["core", "reference"])
def test_core_vs_reference(benchmark, as_dtype, bench_rounds, impl, dtype):
    X, y = as_dtype("train", dtype)
    sizes = (784, 30, 10)
    benchmark.group = f"core-vs-reference-[784,30,10]-mb10-{_dt(dtype)}"
    if impl == "core":
        net = _network(sizes, "cross-entropy", dtype)
        fn = lambda: net.SGD((X, y), 1, 10, ETA, LMBDA, n_threads=1)  # noqa: E731
    else:
        ref = pytest.importorskip("fastnn.reference", reason="fastnn.reference is not available")
        rng = np.random.default_rng(0)
        W = [rng.standard_normal((sizes[l + 1], sizes[l])) / np.sqrt(sizes[l]) for l in range(2)]
        b = [rng.standard_normal(sizes[l + 1]) for l in range(2)]
        net = ref.ReferenceNetwork(sizes, W, b, cost="cross-entropy", output="sigmoid", dtype=dtype)
        fn = lambda: net.SGD((X, y), 1, 10, ETA, LMBDA, perms=[rng.permutation(len(X))])  # noqa: E731
    _run(benchmark, fn, bench_rounds)
