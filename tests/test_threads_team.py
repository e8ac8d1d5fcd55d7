"""One training on a team of threads (SGD(n_threads=T), fastnn/_core.pyx, csrc/team.c).

* Results are bit-for-bit the same for every T (1, 2, 3), for every option, both dtypes, partial
  last batches, mini-batches of 1 and 128, a deep net, and (subprocesses) every ISA path.
* A bad input batch or a bad index stops every thread before that batch changes anything.
* Ctrl-C stops a T=2 training; no thread outlives SGD (returned, raised or interrupted).
* A child made by os.fork() trains on a team; the estimators' n_threads; the thread budget.
"""

import os
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from conftest import task_count

import fastnn
from fastnn import _core, _state, _team_pace, _threads

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the team is POSIX threads")


def _data(n, d, k, dtype, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)).astype(dtype), rng.integers(0, k, n)


OPTIONS = {
    "plain": {},
    "l2": dict(lmbda=1.0),
    "l1": dict(lmbda=1.0, regularization="l1"),
    "momentum": dict(momentum=0.9),
    "momentum-l1": dict(momentum=0.5, lmbda=0.5, regularization="l1"),
    "dropout": dict(dropout=0.5),
    "dropout-momentum-l2": dict(dropout=0.3, momentum=0.5, lmbda=0.5),
    "sample-weight": dict(sample_weight="random"),
    "loglik-softmax": dict(cost="log-likelihood", output="softmax"),
    "quadratic-tanh": dict(cost="quadratic", hidden="tanh"),
    "cross-entropy-relu": dict(hidden="relu", eta=0.05),
    "quadratic-linear": dict(cost="quadratic", output="linear", eta=0.05),
    "no-shuffle": dict(shuffle=False),
}


@pytest.fixture(autouse=True)
def _whole_team(monkeypatch):
    """The team itself on every chunk (not TeamPace's choice of the team or one thread per chunk),
    unless a test turns TeamPace back on."""
    monkeypatch.setattr(_team_pace, "ENABLED", False)
    monkeypatch.setattr(_team_pace, "_recent", {})


def _train(sizes, T, dtype, batch=10, n=253, epochs=3, **options):
    options = dict(options)
    net_kw = {k: options.pop(k) for k in ("cost", "output", "hidden") if k in options}
    eta = options.pop("eta", 0.3)
    X, y = _data(n, sizes[0], sizes[-1], dtype)
    if options.get("sample_weight") == "random":
        options["sample_weight"] = np.random.default_rng(5).random(n) + 0.1
    net = fastnn.Network(sizes, dtype=dtype, seed=3, **net_kw)
    net.SGD((X, y), epochs, batch, eta, n_threads=T, **options)
    return net


def _same_for_every_T(sizes, dtype, batch=10, n=253, Ts=(2, 3), **options):
    want = _train(sizes, 1, dtype, batch, n, **options)
    for T in Ts:
        got = _train(sizes, T, dtype, batch, n, **options)
        assert _state.parameters(got).tobytes() == _state.parameters(want).tobytes(), (
            f"n_threads={T} differs from 1"
        )
        if _state.velocity(want) is not None:
            assert _state.velocity(got).tobytes() == _state.velocity(want).tobytes()
    return want


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_every_thread_count_gives_the_same_bits(option, dtype):
    # 253 rows in mini-batches of 10: the last one is partial (3 rows)
    _same_for_every_T([64, 30, 10], dtype, **OPTIONS[option])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch", [1, 128])
@pytest.mark.parametrize("option", ["plain", "momentum", "dropout", "sample-weight"])
def test_mini_batches_of_1_and_128(option, batch, dtype):
    _same_for_every_T([40, 36, 10], dtype, batch=batch, n=300 if batch == 128 else 61, **OPTIONS[option])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("option", ["plain", "dropout-momentum-l2", "l1", "quadratic-tanh"])
def test_a_deep_net(option, dtype):
    _same_for_every_T([64, 40, 30, 10], dtype, **OPTIONS[option])


@pytest.mark.parametrize("option", ["plain", "momentum", "dropout-momentum-l2"])
def test_chunks_alternating_between_the_team_and_one_thread_give_the_same_bits(monkeypatch, option):
    # TeamPace probing the other setting every other chunk, chunks of a few mini-batches
    monkeypatch.setattr(_team_pace, "ENABLED", True)
    monkeypatch.setattr(_team_pace, "FIRST_INTERVAL", 1)
    monkeypatch.setattr(_team_pace, "MAX_INTERVAL", 1)
    monkeypatch.setattr(_team_pace, "PROBE_SHARE", 0.5)
    monkeypatch.setattr(fastnn._training, "_CHUNK_SECONDS", 1e-5)
    calls = []
    real = _team_pace.TeamPace.record

    def record(self, threads, batches, seconds):
        calls.append(threads)
        real(self, threads, batches, seconds)

    monkeypatch.setattr(_team_pace.TeamPace, "record", record)
    _same_for_every_T([64, 30, 10], np.float64, **OPTIONS[option])
    assert 1 in calls and 2 in calls and 3 in calls  # both settings ran, for T = 2 and 3


def test_team_pace_runs_the_faster_setting_and_probes_the_other():
    pace = _team_pace.TeamPace(2)  # (no key: nothing remembered)
    assert pace.plan(100) == (1, 10)  # first: measure one thread with a short chunk
    pace.record(1, 10, 10 * 40e-6)
    assert pace.plan(100) == (2, 100)
    pace.record(2, 100, 100 * 25e-6)  # the team is faster: keep it
    for _ in range(_team_pace.FIRST_INTERVAL - 1):
        assert pace.plan(100) == (2, 100)
        pace.record(2, 100, 100 * 25e-6)
    assert pace.plan(100) == (1, 10)  # a probe of one thread after FIRST_INTERVAL chunks
    pace.record(1, 10, 10 * 40e-6)  # still slower: the next probe waits twice as long
    assert pace.interval == 2 * _team_pace.FIRST_INTERVAL and pace.current == 2
    pace.record(2, 100, 100 * 200e-6)  # one slow chunk of the team: not enough (median of 3)
    assert pace.plan(100) == (2, 100)
    pace.record(2, 100, 100 * 200e-6)  # the team became slower than one thread was (a busy core)
    assert pace.plan(100) == (1, 10)  # so one thread is probed at once
    pace.record(1, 10, 10 * 41e-6)
    assert pace.current == 1 and pace.plan(100) == (1, 100)  # and runs from now on
    assert _team_pace.TeamPace(1).plan(7) == (1, 7)


def test_team_pace_starts_from_a_recent_run_of_the_same_shape(monkeypatch):
    monkeypatch.setattr(_team_pace, "_recent", {})
    pace = _team_pace.TeamPace(2, key=("shape",))
    pace.record(1, 10, 10 * 40e-6)
    pace.record(2, 100, 100 * 200e-6)  # the team is slow here
    pace.record(2, 100, 100 * 200e-6)
    pace.record(1, 10, 10 * 40e-6)
    assert pace.current == 1
    again = _team_pace.TeamPace(2, key=("shape",))  # the next SGD call of a partial_fit loop
    assert again.current == 1 and again.plan(100) == (1, 100)
    assert _team_pace.TeamPace(2, key=("other",)).plan(100) == (1, 10)  # another shape: measured anew
    monkeypatch.setattr(_team_pace, "REMEMBER_SECONDS", 0.0)
    assert _team_pace.TeamPace(2, key=("shape",)).current == 2  # too long ago: measured anew


def test_train_refuses_more_threads_than_the_team():
    net = fastnn.Network([64, 30, 10], seed=0)
    lay = _state.layout(net)
    tr = _core.Trainer(lay, _state.parameters(net), 10, n_threads=2)
    X, y = _data(20, 64, 10, np.float64)
    tr.begin(X, _core.Targets(lay, y.astype(np.intp), None, 20))
    with pytest.raises(ValueError, match="threads"):
        tr.train(0, 2, 0.5, threads=3)


def test_the_team_is_used_and_clamped():
    def threads(sizes, batch, T):
        net = fastnn.Network(sizes, seed=0)
        return _core.Trainer(_state.layout(net), _state.parameters(net), batch, n_threads=T).threads

    if _core.KERNELS["isa"] in (None, "generic"):
        pytest.skip("the own kernels do not train here (BLAS path): one thread")
    assert threads([64, 30, 10], 10, 2) == 2
    assert threads([64, 30, 10], 10, 3) == 3
    # one thread per row block of the kernels (3 neurons on AVX2, 4 on AVX-512): 30 neurons
    assert _core.row_block() in (3, 4)
    assert threads([64, 30, 10], 10, 100) == -(-30 // _core.row_block())
    assert threads([64, 10], 10, 4) == 1  # no hidden layer
    assert threads([64, 30, 10], 10, 1) == 1
    if _core.KERNELS["gemm"] == "own":
        # 784 x 800 at 100 rows: the packed product, split by whole tiles (16 / 8 neurons)
        assert _core.useful_threads([784, 800, 10], 100, 4) == 4
        assert _core.useful_threads([784, 48, 10], 100, 8, 4) == 3  # 48 neurons: three f32 tiles
        assert _core.useful_threads([784, 800, 800, 10], 100, 4) == 1  # a second layer on it
    else:
        assert _core.useful_threads([784, 800, 10], 100, 4) == 1  # 784 x 800 at 100 rows: BLAS


PACKED = pytest.mark.skipif(_core.KERNELS["gemm"] != "own", reason="no packed product here")


@PACKED
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "option",
    ["plain", "momentum", "dropout-momentum-l2", "l1", "momentum-l1", "sample-weight", "loglik-softmax"],
)
def test_a_first_layer_on_the_packed_product_gives_the_same_bits(option, dtype):
    """[200, 700, 10] at 100 rows: the first layer (140,000 weights, over 128 kB) on the packed
    product, split by tiles (700 = 43.75 f32 tiles: a partial one), the rest on the own kernels."""
    net = _same_for_every_T([200, 700, 10], dtype, batch=100, n=250, Ts=(2, 3), **OPTIONS[option])
    assert _core.Trainer(_state.layout(net), _state.parameters(net), 100, n_threads=3).kernels[0] == "gemm"


@PACKED
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_deep_net_with_a_packed_first_layer(dtype):
    _same_for_every_T([150, 300, 30, 10], dtype, batch=100, n=230, **OPTIONS["dropout-momentum-l2"])


def test_dropout_masks_do_not_depend_on_the_thread_count_and_change_per_epoch(seeded):
    X, y = _data(40, 12, 3, np.float64)
    nets = []
    for T in (1, 2):
        net = fastnn.Network([12, 20, 3], seed=4)
        net.SGD((X, y), 2, 5, 0.5, dropout=0.5, n_threads=T, shuffle=False)
        nets.append(net)
    assert np.array_equal(_state.parameters(nets[0]), _state.parameters(nets[1]))
    seed, _ = seeded(fastnn.Network([12, 20, 3], seed=4), 40, 2)
    stream = _core.MaskStream(seed, 0.5)
    first, second = stream.batch(0, 0, 5, [20])[0], stream.batch(1, 0, 5, [20])[0]
    assert not np.array_equal(first, second)  # a new key each epoch


# ---- a bad batch stops every thread -----------------------------------------------------------
@pytest.mark.parametrize("bad", [12, 13])
@pytest.mark.parametrize("T", [1, 2, 3])
def test_a_nan_batch_stops_the_team_before_it_changes_anything(T, bad):
    # an even and an odd number of mini-batches done: a team's output layer ends in either copy
    X, y = _data(200, 64, 10, np.float64)
    X[bad * 10 + 7, 5] = np.nan  # mini-batch `bad` of the first epoch (shuffle=False)
    net = fastnn.Network([64, 30, 10], seed=0)
    before = _state.parameters(net).copy()
    with pytest.raises(ValueError, match=r"NaN|inf|finite"):
        net.SGD((X, y), 2, 10, 0.5, shuffle=False, n_threads=T)
    assert np.array_equal(_state.parameters(net), before)  # SGD restores the call's start
    # the trainer itself stops before batch 13 changes anything: the same parameters for any T
    lay = _state.layout(net)
    params = [before.copy() for _ in range(2)]
    for p, threads in zip(params, (1, T)):
        tr = _core.Trainer(lay, p, 10, n_threads=threads)
        tr.begin(X, _core.Targets(lay, y.astype(np.intp), None, 200))
        tr.train(0, 20, 0.5, check_input=True)
        assert tr.bad_batch == bad and tr.bad_index == -1
    assert params[0].tobytes() == params[1].tobytes()


def test_a_bad_index_stops_the_team():
    X, y = _data(100, 64, 10, np.float64)
    net = fastnn.Network([64, 30, 10], seed=0)
    lay = _state.layout(net)
    perm = np.arange(100, dtype=np.intp)
    tr = _core.Trainer(lay, _state.parameters(net), 10, n_threads=2)
    tr.begin(X, _core.Targets(lay, y.astype(np.intp), None, 100), perm)
    perm[55] = 10**6  # changed after validation
    with pytest.raises(ValueError, match="mini-batch 5 holds an index out of range"):
        tr.train(0, 10, 0.5)


# ---- no thread left -----------------------------------------------------------------------------


def test_no_thread_outlives_sgd_returned_or_raised():
    X, y = _data(500, 64, 10, np.float64)
    net = fastnn.Network([64, 30, 10], seed=0)
    net.SGD((X, y), 1, 10, 0.5, n_threads=3)  # warm-up (BLAS's own pool, if any, starts here)
    threads, tasks = threading.active_count(), task_count()
    net.SGD((X, y), 2, 10, 0.5, n_threads=3)
    assert threading.active_count() == threads and task_count() == tasks
    bad = X.copy()
    bad[-1, 0] = np.inf
    with pytest.raises(ValueError):
        net.SGD((bad, y), 2, 10, 0.5, n_threads=3)
    assert threading.active_count() == threads and task_count() == tasks


# ---- Ctrl-C ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="SIGINT")
def test_ctrl_c_stops_a_two_thread_training():
    X, y = _data(20000, 100, 10, np.float64)
    net = fastnn.Network([100, 300, 10], seed=1)
    tasks = task_count()
    sent = []

    def fire():
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGINT, handler)
    timer = threading.Timer(0.5, fire)
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            net.SGD((X, y), 30, 1, 0.1, shuffle=False, n_threads=2)
        caught = time.perf_counter()
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGINT, old)
    assert sent, "SGD finished before the signal was sent"
    assert caught - sent[0] < 10.0  # a bound, not a timing test (the chunks return every ~0.1 s)
    assert net.history.stop_reason == "interrupted"
    assert np.all(np.isfinite(_state.parameters(net)))
    assert task_count() == tasks


# ---- fork -----------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_a_forked_child_trains_on_a_team():
    want = _train([64, 30, 10], 2, np.float64)  # the parent has used a team already
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: train on a team, report the bytes' equality, exit without cleanup
        try:
            os.close(r)
            got = _train([64, 30, 10], 2, np.float64)
            os.write(
                w,
                b"same" if _state.parameters(got).tobytes() == _state.parameters(want).tobytes() else b"diff",
            )
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        answer = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert answer == b"same"


# ---- every ISA path (subprocesses) ---------------------------------------------------------------
TEAM_ON_ISA = r"""
import numpy as np, fastnn
from fastnn import _state
rng = np.random.default_rng(1)
for dtype in (np.float64, np.float32):
    for opts in ({}, {"momentum": 0.9, "lmbda": 1.0}, {"dropout": 0.5},
                 {"lmbda": 1.0, "regularization": "l1"}):
        for sizes, batch in (([64, 30, 10], 10), ([64, 40, 30, 10], 1), ([40, 36, 10], 128)):
            X = rng.random((253, sizes[0])).astype(dtype); y = rng.integers(0, sizes[-1], 253)
            out = []
            for T in (1, 2, 3):
                net = fastnn.Network(sizes, dtype=dtype, seed=3)
                net.SGD((X, y), 3, batch, 0.3, n_threads=T, **opts)
                out.append(_state.parameters(net).tobytes())
            assert out[0] == out[1] == out[2], (dtype, opts, sizes, batch)
print("ok")
"""


@pytest.mark.slow
@pytest.mark.parametrize("isa", _core.KERNELS["available"])
def test_every_isa_path_gives_the_same_bits_for_every_thread_count(isa):
    from conftest import package_env, run_python

    done = run_python(TEAM_ON_ISA, env=package_env(FASTNN_ISA=isa, FASTNN_KERNELS="own"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# ---- the estimators, the budget -------------------------------------------------------------------
def test_the_estimators_n_threads():
    from sklearn.utils._param_validation import InvalidParameterError

    from fastnn.sklearn import NetworkClassifier, NetworkRegressor

    X, y = _data(120, 16, 3, np.float64)
    assert NetworkClassifier().get_params()["n_threads"] == 1
    assert NetworkRegressor(n_threads=2).get_params()["n_threads"] == 2
    fits = [NetworkClassifier((20,), epochs=3, n_threads=T, random_state=0).fit(X, y) for T in (1, 2)]
    assert _state.parameters(fits[0].network_).tobytes() == _state.parameters(fits[1].network_).tobytes()
    r = [NetworkRegressor((20,), epochs=3, n_threads=T, random_state=0).fit(X, X[:, 0]) for T in (1, 3)]
    assert _state.parameters(r[0].network_).tobytes() == _state.parameters(r[1].network_).tobytes()
    for bad in (0, 1025, 2.5):
        with pytest.raises(InvalidParameterError, match="n_threads"):
            NetworkClassifier(n_threads=bad).fit(X, y)


def test_a_joblib_worker_caps_the_team_with_one_warning(monkeypatch):
    import multiprocessing

    class Worker:
        name = "LokyProcess-3"

    monkeypatch.setattr(multiprocessing, "current_process", lambda: Worker())
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr(_threads, "_warned", set())
    with pytest.warns(RuntimeWarning, match="thread budget is 2"):
        assert _threads.team_threads(8) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _threads.team_threads(8) == 2  # once
        assert _threads.team_threads(2) == 2


def test_jobs_times_threads_beyond_the_cores_warns_once(monkeypatch):
    monkeypatch.setattr(_threads, "_warned", set())
    monkeypatch.setattr(_threads, "available_cores", lambda: 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _threads.warn_oversubscription(2, 2)  # 4 threads on 4 cores: fine
    with pytest.warns(RuntimeWarning, match="3 jobs x 2 threads = 6 threads on the 4 core"):
        _threads.warn_oversubscription(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _threads.warn_oversubscription(3, 2)


# ---- ThreadSanitizer on the team's barrier -------------------------------------------------------
@pytest.mark.slow
def test_the_team_barrier_under_thread_sanitizer(tmp_path):
    import shutil
    import subprocess

    if shutil.which("gcc") is None:
        pytest.skip("no gcc")
    probe = subprocess.run(
        ["gcc", "-fsanitize=thread", "-x", "c", "-", "-o", str(tmp_path / "probe")],
        input="int main(void){return 0;}",
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip("gcc cannot build with -fsanitize=thread here")
    script = os.path.join(os.path.dirname(__file__), "tsan_check.sh")
    done = subprocess.run(["bash", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "team ok" in done.stdout and "ThreadSanitizer" not in done.stderr


@PACKED
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("option", ["plain", "momentum-l1", "dropout-momentum-l2", "l1"])
def test_the_first_layer_kept_as_panels_gives_the_same_bits(monkeypatch, option, dtype):
    """[300, 900, 10] at 100 rows: W¹ (1.1 MB f32) is kept as packed panels for each train() call
    (900 neurons: a partial last panel); the same bits as packing W per mini-batch, for T = 1 and
    2, with the velocity and L1 on the panels too."""
    assert 300 * 900 * np.dtype(dtype).itemsize >= _core.PANELS_MIN_BYTES
    want = _train([300, 900, 10], 1, dtype, batch=100, n=230, epochs=2, **OPTIONS[option])
    for T, panels in ((1, False), (2, True), (2, False)):
        before = _core._set_w_panels(panels)
        try:
            got = _train([300, 900, 10], T, dtype, batch=100, n=230, epochs=2, **OPTIONS[option])
        finally:
            _core._set_w_panels(before)
        assert _state.parameters(got).tobytes() == _state.parameters(want).tobytes(), (T, panels)
        if _state.velocity(want) is not None:
            assert _state.velocity(got).tobytes() == _state.velocity(want).tobytes()


# ---- no line written by two threads -------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "sizes, batch, options",
    [
        ([784, 30, 10], 10, {}),
        ([784, 30, 10], 10, dict(dropout=0.5, momentum=0.9)),
        ([784, 100, 10], 1, {}),
        ([64, 40, 30, 10], 7, dict(dropout=0.3)),
        ([784, 800, 10], 100, {}),  # the first layer on the packed product
    ],
)
@pytest.mark.parametrize("T", [2, 3])
def test_no_two_threads_of_a_team_write_the_same_line(sizes, batch, options, T, dtype):
    net = fastnn.Network(sizes, dtype=dtype, seed=0)
    lay = _state.layout(net)
    vel = np.zeros_like(_state.parameters(net)) if options.get("momentum") else None
    tr = _core.Trainer(lay, _state.parameters(net), batch, vel, options.get("dropout", 0.0), n_threads=T)
    regions = tr.team_regions()
    assert {t for t, *_ in regions} == set(range(tr.threads))
    lines = {}
    for t, what, start, end in regions:
        assert end > start, what
        for line in range(start // 64, (end - 1) // 64 + 1):
            other = lines.setdefault(line, (t, what))
            assert other[0] == t, f"thread {t}'s {what} and thread {other[0]}'s {other[1]} share a line"
