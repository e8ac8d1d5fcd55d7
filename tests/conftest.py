"""Shared pytest fixtures for fastnn's tests (other test modules may append fixtures here).

``fastnn.data`` is imported inside the fixtures, not at module level, so that a missing or broken
compiled extension cannot break collection of unrelated tests.
"""

import os
import re
import signal
import time
from pathlib import Path

import pytest

# A run started as a background job of a shell without job control (`.ci/run &` in a script)
# begins with SIGINT ignored, and children inherit an ignored signal: the tests that send Ctrl-C to
# a `fastnn` child would then see it train on. Catching SIGINT here (Python's own handler) makes
# the children start with the default, as they do under a terminal or a CI runner.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

#: ../shared/data/mnist relative to the repository root.
SHARED_MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


CHILD_ADDRESS_LIMIT = 1 << 30  # 1 GiB of address space: fastnn + numpy + scipy need ~0.25 GiB


def run_child(code, *, limit=CHILD_ADDRESS_LIMIT, **env):
    """Run ``code`` in a fresh interpreter (limited to ``limit`` bytes of address space; 0: no limit),
    with the same fastnn as this process and ``env`` added to its environment: a hostile input that
    crashes or allocates without bound fails the test instead of killing or swapping pytest."""
    import subprocess
    import sys
    import textwrap

    prelude = textwrap.dedent(f"""
        import resource, sys
        if {limit!r}:
            resource.setrlimit(resource.RLIMIT_AS, ({limit!r}, {limit!r}))
    """)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=Path(__file__).resolve().parents[1],
        env=package_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def expect_value_error(call, *patterns, **env):
    """Child process (:func:`run_child`): ``call`` must raise ValueError whose message holds every
    pattern. Returns the child's output."""
    r = run_child(
        f"""
        try:
            {call}
        except ValueError as e:
            print("VALUEERROR", e)
        else:
            print("NO ERROR")
        """,
        **env,
    )
    assert r.returncode == 0, f"child crashed (status {r.returncode}):\n{r.stderr[-2000:]}"
    assert "VALUEERROR" in r.stdout, r.stdout + r.stderr[-2000:]
    for p in patterns:
        assert p in r.stdout, r.stdout
    return r.stdout


def mnist_gz_files(mnist_dir, names):
    """{name.gz: gzip bytes} of the MNIST files ``names`` found in ``mnist_dir`` (gzipped or not):
    what a mirror serves, for the download tests' local HTTP servers."""
    import gzip

    files = {}
    for n in names:
        for variant in (n + ".gz", n):
            p = Path(mnist_dir) / variant
            if p.is_file():
                raw = p.read_bytes()
                files[n + ".gz"] = raw if variant.endswith(".gz") else gzip.compress(raw)
                break
    return files


def cli_main(capsys, *args):
    """``fastnn ARGS`` in this process: (exit status, stdout, stderr); arguments as strings."""
    from fastnn import cli

    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def package_env(**extra):
    """``os.environ`` for a subprocess that must import the same fastnn as this test process
    (installed in site-packages, or built in place in a checkout run with ``python -m pytest``)."""
    import fastnn

    env = dict(os.environ)
    parent = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = parent + os.pathsep + env.get("PYTHONPATH", "")
    # Python >= 3.11: do not put the working directory (or a script's folder) first on sys.path, so a
    # child started in the checkout imports the tested fastnn, not the checkout's uncompiled sources.
    env["PYTHONSAFEPATH"] = "1"
    env.update(extra)
    return env


def fastnn_env(directory, **extra):
    """``package_env`` for ``python -m fastnn`` run in ``directory`` that must not find MNIST unless
    a test asks for it (``FASTNN_DATA=...`` in ``extra``): an empty $FASTNN_DATA and a HOME without
    ~/.fastnn, both made inside ``directory``; the real home's caches (matplotlib's font cache) kept."""
    env = package_env()
    empty = Path(directory) / "no-mnist-here"
    empty.mkdir(exist_ok=True)
    env["FASTNN_DATA"] = str(empty)
    home = Path(directory) / "home"
    home.mkdir(exist_ok=True)
    env.setdefault("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    env.setdefault("XDG_CONFIG_HOME", os.path.join(os.path.expanduser("~"), ".config"))
    env["HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONSTARTUP", None)
    env.update(extra)
    return env


def start_fastnn(directory, *args, **env):
    """Start ``python -m fastnn ARGS`` in ``directory`` in the background (``fastnn_env``, text pipes
    for stdout and stderr, no stdin); returns the Popen."""
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "fastnn", *map(str, args)],
        cwd=directory,
        env=fastnn_env(directory, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def run_python(code, cwd=None, env=None, timeout=300):
    """Run ``python -c CODE`` in a child that imports the tested fastnn (``package_env()`` unless
    `env` is given); returns the CompletedProcess (text, stdout and stderr captured, no stdin)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=package_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_fastnn(directory, *args, timeout=180, **env):
    """Run ``python -m fastnn ARGS`` in ``directory`` with ``fastnn_env(directory, **env)``;
    returns the CompletedProcess (text, stdout and stderr captured, no stdin)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "fastnn", *map(str, args)],
        cwd=directory,
        env=fastnn_env(directory, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


# --------------------------------------------------------------------------------------------------
# CI=true: nothing goes untested for want of a dependency, a service or the data. .ci/run installs every
# optional integration and starts the services; a test that skips because one is missing (importorskip's
# "could not import ...", "... not installed", "MNIST not found ...", a server "not running") fails the
# run there. Word such a skip's reason accordingly; a skip for another reason (platform, build kind)
# must not use these words.
# --------------------------------------------------------------------------------------------------
#: What a skip for a missing dependency, service or data set says.
MISSING = re.compile(
    r"could not import|no module named|not installed|MNIST not found|not available|not running|"
    r"cannot connect|could not connect|unreachable",
    re.IGNORECASE,
)
#: The one dependency CI does without: JAX, the optional peer of bench/compare.py (issue #29).
ALLOWED_MISSING = re.compile(r"\bjax\b", re.IGNORECASE)


def ci_forbidden_skip(report):
    """The reason of ``report`` when it is a skip CI must not accept (CI=true and a missing
    dependency, service or data set other than JAX), else None."""
    if os.environ.get("CI", "").lower() != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return None
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    if MISSING.search(reason) and not ALLOWED_MISSING.search(reason):
        return f"{report.nodeid}: {reason}"
    return None


#: The forbidden skips of this session (``ci_forbidden_skip``), reported at its end.
CI_SKIPS = []


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    reason = ci_forbidden_skip(report)
    if reason:
        CI_SKIPS.append(reason)


@pytest.hookimpl(trylast=True)
def pytest_collectreport(report):  # a module-level importorskip skips at collection
    pytest_runtest_logreport(report)


def pytest_sessionfinish(session, exitstatus):
    if CI_SKIPS and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if CI_SKIPS:
        terminalreporter.section("CI=true: skipped for want of a dependency, service or data: the run fails")
        for line in CI_SKIPS:
            terminalreporter.line(line)
        terminalreporter.line(
            f"{len(CI_SKIPS)} such skip(s): .ci/run must install or start what they need "
            "(only JAX may be missing)"
        )


@pytest.fixture(scope="session")
def mnist_dir():
    """Directory holding the four MNIST IDX files: $FASTNN_DATA if set, else ../shared/data/mnist.
    Skips the test when MNIST is not there."""
    from fastnn.data import find_mnist

    env = os.environ.get("FASTNN_DATA")
    candidate = Path(os.path.expanduser(env)) if env else SHARED_MNIST_DIR
    directory, reason = find_mnist(candidate)
    if directory is None:
        pytest.skip(f"MNIST not found at {candidate} ({reason.splitlines()[0]})")
    return directory


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """``load_mnist(mnist_dir)`` (float64), loaded once per session."""
    from fastnn.data import load_mnist

    return load_mnist(mnist_dir)


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """In-process runs that must not find MNIST: an empty $FASTNN_DATA, a HOME without
    ~/.fastnn, and tmp_path as the working directory."""
    empty = tmp_path / "no-mnist-here"
    empty.mkdir()
    monkeypatch.setenv("FASTNN_DATA", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def digits():
    """``load_digits()``: scikit-learn's 8x8 digits, 1197/300/300, seed 0."""
    from fastnn.data import load_digits

    return load_digits()


# --------------------------------------------------------------------------------------------------
# Shared helpers, one definition each. Test modules import them with ``from conftest import ...``
# (tests/ has no __init__.py, so pytest puts this directory on sys.path, as for ``package_env``).
# --------------------------------------------------------------------------------------------------
def classification_data(n=10, d=4, k=3, seed=0):
    """``(X, y)``: n rows of d uniform features, integer labels in [0, k)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((n, d)), rng.integers(0, k, n)


def task_count():
    """The process's task (thread) count, once it is steady: a joined thread's task can still be
    listed for a moment after pthread_join returns (the kernel wakes the joiner before the task
    is gone), so the count is read until it stays the same for 50 ms (at most 2 s)."""
    if not os.path.isdir("/proc/self/task"):
        return None
    deadline = time.monotonic() + 2.0
    last, steady = len(os.listdir("/proc/self/task")), 0
    while steady < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
        now = len(os.listdir("/proc/self/task"))
        steady = steady + 1 if now == last else 0
        last = now
    return last


def rel_err(got, want, floor=1e-300):
    """Max absolute difference over all arrays of ``got``/``want``, relative to max |want|
    (at least ``floor``: 1.0 where values near zero make a relative error meaningless)."""
    import numpy as np

    got = np.concatenate([np.ravel(g) for g in got]).astype(np.float64)
    want = np.concatenate([np.ravel(w) for w in want]).astype(np.float64)
    return np.max(np.abs(got - want)) / max(np.max(np.abs(want)), floor)


def numeric_gradient(f, params, eps=1e-6):
    """Central differences of the scalar ``f()`` with respect to each element of the array
    ``params``, which ``f`` reads and which is perturbed in place (and restored)."""
    import numpy as np

    g = np.zeros(params.shape, dtype=np.float64)
    for i in np.ndindex(params.shape):
        old = params[i]
        params[i] = old + eps
        up = f()
        params[i] = old - eps
        down = f()
        params[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def twin(net):
    """A ``fastnn.reference.ReferenceNetwork`` with ``net``'s parameters, cost and activations."""
    from fastnn.reference import ReferenceNetwork

    return ReferenceNetwork(
        net.sizes,
        [w.copy() for w in net.weights],
        [b.copy() for b in net.biases],
        net.cost,
        net.output,
        net.hidden,
        dtype=net.dtype,
    )


def snapshot(net):
    """Everything an erroneous call must leave as it was (``fastnn._state.TrainingState``: parameter
    and velocity values, the random generator's state, the history and training-run objects)."""
    from fastnn import _state

    return _state.snapshot(net)


def assert_unchanged(net, before):
    """``net`` is as ``snapshot(net)`` found it (the same history object, not an equal one)."""
    changed = snapshot(net).same_as(before)
    assert changed is None, f"{changed} changed"


def sgd_draws(net, n, epochs):
    """The random draws ``net.SGD`` on ``n`` rows will make, without making them: returns
    ``(seed, perms)``, the trainer's seed (it seeds the dropout masks: ``_core.MaskStream(seed, p,
    dtype)``) and the ``epochs`` row permutations of a shuffled run, for
    ``ReferenceNetwork.SGD(perms=..., mask_stream=...)``.

    This is the ONE place the tests rely on the order of ``Network``'s draws (``Network(seed=s)``
    makes a run reproducible; what it draws in which order is private): the trainer's seed first
    (one ``integers(0, 2**63)``), then one in-place shuffle of a running permutation per epoch.
    Use it through the ``seeded`` fixture, never by replaying the network's generator in a test."""
    import numpy as np

    from fastnn import _state

    shadow = np.random.Generator(np.random.PCG64())  # a copy of the network's, from its state
    shadow.bit_generator.state = _state.snapshot(net).rng
    seed = int(shadow.integers(0, 2**63))
    perm, perms = np.arange(n), []
    for _ in range(epochs):
        shadow.shuffle(perm)
        perms.append(perm.copy())
    return seed, perms


@pytest.fixture
def seeded():
    """The seeding hook: ``seeded(net, n, epochs) -> (seed, perms)``, see ``sgd_draws``."""
    return sgd_draws


# --------------------------------------------------------------------------------------------------
# A throw-away PostgreSQL server (tests/test_tune_postgres.py, tests/test_tune_dask.py)
# --------------------------------------------------------------------------------------------------
def missing_service(reason):
    """Skip a test whose service (a database server, a driver) is missing, with the reason; under CI
    (``CI=true``) fail instead: CI installs the service, so its absence is a broken CI, not a skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


class PostgresServer:
    """A PostgreSQL server of its own: ``initdb`` (as the ``postgres`` user when run as root, which
    initdb refuses) in a temporary directory, listening on 127.0.0.1 at a free port with its socket in
    that directory, password authentication (a random password: tests check it never appears in an
    output). ``url(db)`` is the SQLAlchemy URL of database ``db`` (created by ``create_database``);
    ``stop()``/``start()`` restart it on the same port and data."""

    USER = "fastnn"

    def __init__(self, bindir, root):
        import secrets
        import socket

        self.bindir, self.root = Path(bindir), Path(root)
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.password = "pw-" + secrets.token_hex(8)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._as_owner = []
        if os.geteuid() == 0:  # initdb and postgres refuse root
            import pwd

            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as_owner:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        os.chmod(pwfile, 0o600)
        self._run(
            "initdb",
            "-D",
            self.data,
            "-U",
            self.USER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        pwfile.unlink()
        self.start()

    def _run(self, tool, *args):
        import subprocess

        r = subprocess.run(
            [*self._as_owner, str(self.bindir / tool), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if r.returncode:
            raise RuntimeError(f"{tool} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
        return r

    def start(self):
        # a test server: no fsync (its data dies with the session), small and quick
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def url(self, db):
        return f"postgresql+psycopg://{self.USER}:{self.password}@127.0.0.1:{self.port}/{db}"

    def connect(self, db="postgres"):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.USER,
            password=self.password,
            dbname=db,
            autocommit=True,
        )

    def create_database(self, name):
        """A new, empty database ``name``; returns its URL."""
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server():
    """A ``PostgresServer`` for the session (Debian's ``postgresql`` package: /usr/lib/postgresql/*/bin;
    the driver: ``pip install 'fastnn[postgres]'``), stopped and removed at the end. Skips without them
    (fails under CI)."""
    import glob
    import shutil
    import tempfile

    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing_service("psycopg (PostgreSQL driver) not installed: pip install 'fastnn[postgres]'")
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    if not found:
        missing_service("PostgreSQL server not installed (apt-get install postgresql)")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        missing_service("running as root without runuser: cannot start PostgreSQL as the postgres user")
    root = tempfile.mkdtemp(prefix="fastnn-pg-")
    try:
        server = PostgresServer(Path(found[-1]).parent, root)
    except (RuntimeError, OSError, KeyError) as e:
        shutil.rmtree(root, ignore_errors=True)
        missing_service(f"cannot start PostgreSQL: {e}")
    try:
        yield server
    finally:
        try:
            server.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server, request):
    """The URL of a new database of the session's server, named for the test."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:6]
    return postgres_server.create_database(name)


def train_skipping_zeros(T, dtype, skip, X, y, sizes, batch, epochs=2, **options):
    """A fresh ``Network(sizes, seed=3)`` trained by ``SGD`` on T threads with the first layer's
    zero-input skipping on or off (``_core._set_skip_zero_columns``): (net, the train() calls that
    skipped). ``cost``/``output``/``hidden`` in options go to the network; ``sample_weight="random"``
    draws one."""
    import numpy as np

    import fastnn
    from fastnn import _core

    options = dict(options)
    net_kw = {k: options.pop(k) for k in ("cost", "output", "hidden") if k in options}
    if isinstance(options.get("sample_weight"), str) and options["sample_weight"] == "random":
        options["sample_weight"] = np.random.default_rng(5).random(len(X)) + 0.1
    before = _core._set_skip_zero_columns(skip)
    try:
        net = fastnn.Network(sizes, dtype=dtype, seed=3, **net_kw)
        calls = _core._SKIPPING_CALLS[0]
        net.SGD((X, y), epochs, batch, 0.3, n_threads=T, **options)
        skipped = _core._SKIPPING_CALLS[0] - calls
    finally:
        _core._set_skip_zero_columns(before)
    return net, skipped


def assert_same_parameters(a, b):
    """The two networks' parameters (and velocities) are bit-for-bit the same."""
    from fastnn import _state

    assert _state.parameters(a).tobytes() == _state.parameters(b).tobytes()
    if _state.velocity(a) is not None:
        assert _state.velocity(a).tobytes() == _state.velocity(b).tobytes()
