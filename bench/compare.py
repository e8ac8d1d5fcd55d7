#!/usr/bin/env python
"""Seconds per training epoch: fastnn vs its products-only bound, JAX (the whole epoch compiled by XLA),
the reference, the book's per-example algorithm, PyTorch and scikit-learn -- interleaved, median of >= 3
epochs each.

Run it from the repository root with OpenBLAS' core-type overrides removed (they select a slower kernel for
the current numpy/scipy OpenBLAS; the script prints which kernel it ends up with):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/compare.py [--quick] [--markdown]

Options: ``--quick`` (10,000 training rows, 3 repeats), ``--cases h30-mb10-f64,...`` (``all`` by default; also
``inference``: 10,000 MNIST test rows, ~19 % nonzero, and ``inference-dense``: 10,000 rows of ``rng.random``,
all nonzero: fastnn's first layer skips zero inputs, so the two differ), ``--repeats N`` (rounds, default 5),
``--threads N`` (BLAS threads, default 1), ``--markdown``
(also print the tables as markdown, for the README), ``--out FILE`` (write the markdown there),
``--sub-rounds N`` (back-to-back epochs of the fast implementations per round, default 3), ``--impls``
(subset of fastnn,fastnn-offset,fastnn-team,fastnn-blas,bound,ideal,jax,jax-threads,reference,book,torch,
sklearn), ``--n-train N``
``--jax-python PATH`` (the Python that runs the JAX worker, default $FASTNN_JAX_PYTHON or this one; JAX
is a benchmark peer only, never a dependency: without it the JAX columns are skipped with a note).

Measurement: per case, one untimed warm-up epoch each, then N rounds; in each round fastnn, bound and
ideal run
3 back-to-back sub-rounds (so fastnn / bound is a paired ratio, robust to a machine whose load changes), then
the slow implementations once each; the starting implementation rotates. The machine is shared: read the load
average printed with the results, and rerun when it was high. fastnn's and JAX's CPU time (process time) is
reported beside the wall time: under load, XLA's two Eigen threads (it keeps two even with the one-thread
flags, handing the work back and forth) wait less for a CPU than fastnn's one thread (DESIGN.md).

What each column is (every implementation starts from the same parameters, N(0, 1/n_in) weights and N(0, 1)
biases, and trains one shuffled epoch per measurement; η = 0.5, λ = 5.0 as in chapter 3):

* fastnn     -- ``fastnn.Network.SGD(..., epochs=1)``: wall time of the whole call. X is a 64-byte
                aligned array (as fastnn's loaders and its own conversions give).
* fastnn-team -- the same training on a team of 2 threads (``SGD(n_threads=2)``), read beside
  jax-threads (JAX with its default threads)
* fastnn-offset -- the same training with X starting 16 bytes after a 64-byte line, as a user's own
                array (``rng.random``, ``np.load``) usually does; timed back to back with fastnn
                (issue #26: within 3 % of it). Its rows are copied to rows on lines per mini-batch.
* bound      -- ``EpochBound(variant="products")`` of bench/_bound.pyx (built on demand by
bench/setup_bound.py): a compiled loop making exactly the core's BLAS
                calls with the same shapes (forward gemm per layer, δ gemm per layer but the first,
                update gemm
                per layer: 5 gemms per mini-batch for [784, 30, 10]) and nothing else.
* ideal      -- the same plus the row gather by a permutation, bias + sigmoid, δᴸ, σ' and the bias update:
                a minimal complete trainer in plain compiled loops.
* jax        -- JAX, ``jax.jit`` over a ``lax.scan`` of the mini-batch steps with ``jax.grad``
                (bench/jax_peer.py, in a worker process of its own): the same network, initial
                parameters, η, λ (decay 1 − ηλ/n) and cost, float64 via ``jax_enable_x64``, the rows gathered
                by a fresh permutation per epoch inside the compiled epoch; XLA on one thread
                (XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"). The worker
                times the compiled call (plus making the permutation); compile time is reported apart.
                Before timing, one epoch of 10,000 rows from the same start in the same order is compared
                with fastnn's (max |difference| of the parameters, in the notes).
* jax-threads -- the same with XLA's default threads (a second worker).
* reference  -- ``fastnn.reference`` (matrix-based numpy).
* book       -- ``bench/book_network.py``: network2's per-example backprop with column vectors.
* torch      -- PyTorch CPU, nn.Linear + nn.Sigmoid, optim.SGD(lr=η, weight_decay=λ/n on the weights only),
                per-batch mean loss (sigmoid + cross-entropy summed over outputs), torch.set_num_threads(1).
* sklearn    -- ``MLPClassifier(solver="sgd", activation="logistic", batch_size=m, learning_rate_init=η,
                momentum=0, alpha=λ·m/n)`` (its per-batch L2 term is alpha/m), one ``partial_fit`` = one
                epoch.
                Its output layer is softmax + log-loss (scikit-learn's only multiclass choice).

Targets (ratios computed in the same run): fastnn ≤ 1.3× bound; ≥ 2× (f64) / ≥ 2.5× (f32) faster than the
reference; ≥ 8× faster than PyTorch; ≥ 6× (f64) / ≥ 10× (f32) faster than MLPClassifier; ≥ 12× faster than the
per-example algorithm; fastnn f32 ≥ 1.5× faster than f64; inference ≤ 1.2× its bound; fastnn (one thread)
≥ 1.1× faster than JAX on one thread in every case (issue #29); fastnn-offset ≤ 1.03× fastnn
(issue #26). The per-example algorithm is not run on the wide [784,800,10] layer (minutes per epoch).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import inspect
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"
sys.path.insert(0, str(HERE))

ETA = 0.5
LMBDA = 5.0
N_INFERENCE = 10_000
ALL_IMPLS = (
    "fastnn",
    "fastnn-offset",
    "fastnn-team",
    "fastnn-blas",
    "bound",
    "ideal",
    "jax",
    "jax-threads",
    "reference",
    "book",
    "torch",
    "sklearn",
)
# The per-example algorithm takes minutes per epoch on the wide layer: not run there.
BOOK_MAX_HIDDEN = 100


# ----------------------------------------------------------------------------------------------------------
# cases
# ----------------------------------------------------------------------------------------------------------
class Case:
    def __init__(self, hidden, mb, dtype, cost="cross-entropy", inference=False, rows=""):
        self.inference = inference
        self.rows = rows  # inference: "" (the data's test rows) or "dense" (synthetic, all nonzero)
        self.sizes = (784, hidden, 10)
        self.hidden = hidden
        self.mb = mb
        self.dtype = np.dtype(dtype)
        self.cost = cost
        self.output = "softmax" if cost == "log-likelihood" else "sigmoid"

    @property
    def id(self):
        return f"h{self.hidden}-mb{self.mb}-{'f64' if self.dtype == np.float64 else 'f32'}"

    @property
    def label(self):
        dt = "f64" if self.dtype == np.float64 else "f32"
        if self.inference:
            return f"[784,{self.hidden},10] {self.mb:,} {self.rows + ' ' if self.rows else ''}rows {dt}"
        return f"[784,{self.hidden},10] mb {self.mb} {dt}"


DEFAULT_CASES = [
    Case(hidden, mb, dtype)
    for hidden in (30, 100, 800)
    for mb in (10, 100)
    for dtype in (np.float64, np.float32)
]


# ----------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------
def load_data(n_train=50_000, allow_synthetic=True):
    """((X_train, y_train), (X_val, y_val), (X_test, y_test), description); float64 X in [0, 1].

    Real MNIST from $FASTNN_DATA when set, else from ../shared/data/mnist; when absent there,
    synthetic rows of the same shape, or FileNotFoundError unless allow_synthetic (the benchmarks
    that feed the README refuse them without --allow-synthetic)."""
    candidates = [Path(os.environ["FASTNN_DATA"])] if os.environ.get("FASTNN_DATA") else [SHARED_MNIST]
    for d in candidates:
        # fastnn.data (pure numpy, no compiled core) knows the files' names, variants and layout
        from fastnn.data import load_mnist

        try:
            ds = load_mnist(d)
        except (OSError, ValueError):
            continue
        (Xtr, ytr), (Xva, yva), (Xte, yte) = ds.training, ds.validation, ds.test
        src = f"MNIST via fastnn.data.load_mnist({d})"
        break
    else:
        if not allow_synthetic:
            raise FileNotFoundError(
                f"MNIST not found in {candidates[0]}: set FASTNN_DATA to its directory, or pass "
                "--allow-synthetic"
            )
        rng = np.random.default_rng(0)

        def synth(n):
            X = rng.random((n, 784)) * (rng.random((n, 784)) < 0.19)
            return X, rng.integers(0, 10, n)

        (Xtr, ytr), (Xva, yva), (Xte, yte) = synth(50_000), synth(10_000), synth(10_000)
        src = "SYNTHETIC data (MNIST not found) of MNIST's shape"
    Xtr, ytr = Xtr[:n_train], ytr[:n_train]

    def fix(X, y):
        return (np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.int64))

    return fix(Xtr, ytr), fix(Xva, yva), fix(Xte, yte), f"{src}; {len(Xtr)} training rows"


def initial_params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    W = [rng.standard_normal((sizes[l + 1], sizes[l])) / np.sqrt(sizes[l]) for l in range(len(sizes) - 1)]
    b = [rng.standard_normal(sizes[l + 1]) for l in range(len(sizes) - 1)]
    return W, b


def accuracy_of(weights, biases, X, y):
    a = X
    for l, (w, b) in enumerate(zip(weights, biases)):
        z = a @ np.asarray(w, dtype=np.float64).T + np.asarray(b, dtype=np.float64).ravel()
        a = z if l == len(weights) - 1 else 1.0 / (1.0 + np.exp(-z))
    return float(np.mean(np.argmax(a, axis=1) == y))


# ----------------------------------------------------------------------------------------------------------
# implementations: setup(case, X, y) outside timing; epoch() timed; params() -> (weights, biases) or None
# ----------------------------------------------------------------------------------------------------------
class Skip(Exception):
    pass


def _needs(what, module, attribute, call=False):
    """`attribute` of the imported `module` (called, with call=True: a build), or Skip saying
    `what` is missing when that fails."""
    try:
        found = getattr(importlib.import_module(module), attribute)
        return found() if call else found
    except Exception as e:  # noqa: BLE001
        raise Skip(f"{what} ({type(e).__name__}: {e})") from e


class Runner:
    """One implementation: setup(case, X, y) outside timing, epoch() timed, params() -> (weights,
    biases) or None; `threads`: its BLAS (or torch) threads, for those that set them."""

    name = ""

    def __init__(self, threads=1):
        self.threads = threads
        self.cpu = []  # CPU seconds (process time) of each timed epoch

    def params(self):
        return self.net.weights, self.net.biases


class FastnnRunner(Runner):
    name = "fastnn"

    def setup(self, case, X, y):
        Network = _needs("fastnn not available", "fastnn", "Network")
        net = Network(case.sizes, cost=case.cost, dtype=case.dtype, seed=0)
        W, b = initial_params(case.sizes)
        net.weights = [w.astype(case.dtype) for w in W]
        net.biases = [v.astype(case.dtype) for v in b]
        self.net, self.case, self.X, self.y = net, case, X, y
        params = inspect.signature(net.SGD).parameters
        self.kw = {"n_threads": self.threads} if "n_threads" in params else {}
        self.inner = []

    def epoch(self):
        c = self.case
        self.net.SGD((self.X, self.y), 1, c.mb, ETA, LMBDA, shuffle=True, **self.kw)

    def after_epoch(self):
        h = getattr(self.net, "history", None)
        try:
            self.inner.append(float(h.records[-1].seconds))
        except Exception:  # noqa: BLE001
            pass


def offset_copy(X, offset=16):
    """A copy of X whose data starts `offset` bytes after a 64-byte line (numpy's own allocator
    gives 16-byte alignment: a user's array usually starts there)."""
    buf = np.empty(X.nbytes + 128, dtype=np.uint8)
    start = -buf.ctypes.data % 64 + offset
    out = buf[start : start + X.nbytes].view(X.dtype).reshape(X.shape)
    out[...] = X
    return out


class FastnnOffsetRunner(FastnnRunner):
    """fastnn on X 16 bytes off a 64-byte line (a user's own array), in the same process."""

    name = "fastnn-offset"

    def setup(self, case, X, y):
        super().setup(case, offset_copy(X), y)


class FastnnTeamRunner(FastnnRunner):
    """fastnn training one network on a team of 2 threads (SGD(n_threads=2)), in the same process:
    the column to read beside JAX with its default threads (issue #29) and the team's speed-up."""

    name = "fastnn-team"

    def __init__(self, threads=1):
        super().__init__(2)


class FastnnBlasRunner(FastnnRunner):
    """fastnn with every product on BLAS (what FASTNN_KERNELS=blas selects), in the same process:
    the before/after comparison for fastnn's own kernels (issue #11)."""

    name = "fastnn-blas"

    def epoch(self):
        from _kernel_mode import kernel_mode

        with kernel_mode("blas"):
            super().epoch()


class BoundRunner(Runner):
    def __init__(self, variant):
        super().__init__()
        self.variant = variant
        self.name = "bound" if variant == "products" else "ideal"

    def setup(self, case, X, y):
        EpochBound = _needs(
            "bench/_bound.pyx could not be built", "setup_bound", "load", call=True
        ).EpochBound
        W, b = initial_params(case.sizes)
        self.eb = EpochBound(
            case.sizes,
            case.mb,
            case.dtype,
            variant=self.variant,
            output=case.output,
            eta=ETA,
            lmbda=LMBDA,
            weights=W,
            biases=b,
            seed=0,
        )
        self.X, self.y = X, y

    def epoch(self):
        self.eb.run_epoch(self.X, self.y)

    def params(self):
        return (self.eb.weights, self.eb.biases) if self.variant == "ideal" else None


class ReferenceRunner(Runner):
    name = "reference"

    def setup(self, case, X, y):
        ReferenceNetwork = _needs("fastnn.reference not available", "fastnn.reference", "ReferenceNetwork")
        W, b = initial_params(case.sizes)
        kw = dict(
            cost=case.cost,
            output=case.output,
            hidden="sigmoid",
            weights=[w.astype(case.dtype) for w in W],
            biases=[v.astype(case.dtype) for v in b],
            dtype=case.dtype,
        )
        sig = inspect.signature(ReferenceNetwork)
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            kw = {k: v for k, v in kw.items() if k in sig.parameters}
        self.net = ReferenceNetwork(case.sizes, **kw)
        self.case, self.X, self.y = case, X, y
        params = inspect.signature(self.net.SGD).parameters
        self.mode = "shuffle" if "shuffle" in params else "perms" if "perms" in params else None
        self.rng = np.random.default_rng(0)

    def epoch(self):
        c = self.case
        kw = {}
        if self.mode == "shuffle":
            kw["shuffle"] = True
        elif self.mode == "perms":  # fastnn.reference: one permutation per epoch
            kw["perms"] = [self.rng.permutation(len(self.X))]
        self.net.SGD((self.X, self.y), 1, c.mb, ETA, LMBDA, **kw)


class BookRunner(Runner):
    name = "book"

    def setup(self, case, X, y):
        if case.hidden > BOOK_MAX_HIDDEN:
            raise Skip(
                f"the per-example algorithm runs up to {BOOK_MAX_HIDDEN} hidden neurons (minutes per epoch)"
            )
        from book_network import BookNetwork, to_book_format

        W, b = initial_params(case.sizes)
        self.net = BookNetwork(case.sizes, cost=case.cost, weights=W, biases=b, dtype=case.dtype, seed=0)
        self.data = to_book_format(X, y, case.sizes[-1], case.dtype)
        self.case = case

    def epoch(self):
        self.net.SGD(self.data, 1, self.case.mb, ETA, LMBDA)


class TorchRunner(Runner):
    name = "torch"

    def setup(self, case, X, y):
        nn = _needs("PyTorch not installed", "torch", "nn")
        torch, F = importlib.import_module("torch"), nn.functional
        torch.set_num_threads(self.threads)
        torch.manual_seed(0)
        tdt = torch.float64 if case.dtype == np.float64 else torch.float32
        W, b = initial_params(case.sizes)
        layers, weights, biases = [], [], []
        for l in range(len(W)):
            lin = nn.Linear(case.sizes[l], case.sizes[l + 1]).to(tdt)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W[l]))
                lin.bias.copy_(torch.from_numpy(b[l]))
            layers.append(lin)
            weights.append(lin.weight)
            biases.append(lin.bias)
            if l < len(W) - 1:
                layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)
        n = X.shape[0]
        self.opt = torch.optim.SGD(
            [{"params": weights, "weight_decay": LMBDA / n}, {"params": biases, "weight_decay": 0.0}],
            lr=ETA,
            momentum=0.0,
        )
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(y)
        self.Y = torch.from_numpy(np.eye(case.sizes[-1], dtype=case.dtype)[y])
        self.case, self.torch, self.F, self.n = case, torch, F, n
        self.weights, self.biases = weights, biases

    def epoch(self):
        torch, F, m = self.torch, self.F, self.case.mb
        perm = torch.randperm(self.n)
        sigmoid_ce = self.case.cost == "cross-entropy"
        for k in range(0, self.n, m):
            idx = perm[k : k + m]
            z = self.model(self.X[idx])
            if sigmoid_ce:
                loss = F.binary_cross_entropy_with_logits(z, self.Y[idx], reduction="sum") / idx.numel()
            else:
                loss = F.cross_entropy(z, self.y[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()

    def params(self):
        return ([w.detach().numpy() for w in self.weights], [b.detach().numpy() for b in self.biases])


class SklearnRunner(Runner):
    name = "sklearn"

    def setup(self, case, X, y):
        MLPClassifier = _needs("scikit-learn not installed", "sklearn.neural_network", "MLPClassifier")
        n = X.shape[0]
        self.clf = MLPClassifier(
            hidden_layer_sizes=case.sizes[1:-1],
            activation="logistic",
            solver="sgd",
            batch_size=case.mb,
            learning_rate="constant",
            learning_rate_init=ETA,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=LMBDA * case.mb / n,
            shuffle=True,
            random_state=0,
            max_iter=1,
            early_stopping=False,
        )
        W, b = initial_params(case.sizes)
        # first partial_fit on 1 row initialises the model; then install the common initial parameters
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "batch_size larger than sample size": intended here
            self.clf.partial_fit(X[:1], y[:1], classes=np.arange(case.sizes[-1]))
        self.clf.coefs_ = [np.ascontiguousarray(w.T, dtype=case.dtype) for w in W]
        self.clf.intercepts_ = [v.astype(case.dtype) for v in b]
        self.X, self.y = X, y

    def epoch(self):
        self.clf.partial_fit(self.X, self.y)

    def params(self):
        return [w.T for w in self.clf.coefs_], self.clf.intercepts_


# JAX runs in worker processes (bench/jax_peer.py): XLA's thread count is fixed per process, and the
# worker may run under another Python (--jax-python / $FASTNN_JAX_PYTHON) that has jax installed.
JAX_PYTHON = os.environ.get("FASTNN_JAX_PYTHON") or sys.executable
JAX_CHECK_ROWS = 10_000
_jax_files = {}


def _jax_tmpdir():
    if "dir" not in _jax_files:
        import atexit
        import shutil
        import tempfile

        d = tempfile.mkdtemp(prefix="fastnn-jax-")
        atexit.register(shutil.rmtree, d, True)
        _jax_files["dir"] = d
    return _jax_files["dir"]


def _jax_file(key, make):
    """A .npy/.npz file in a temporary directory, written once per key by make(path)."""
    if key not in _jax_files:
        ext = "npz" if key[0] == "params" else "npy"
        path = os.path.join(_jax_tmpdir(), f"{len(_jax_files)}-{key[0]}.{ext}")
        make(path)
        _jax_files[key] = path
    return _jax_files[key]


def _params_file(sizes):
    """The common initial parameters (initial_params) of a network, as an .npz file W0.., b0.."""
    W, b = initial_params(sizes)
    arrays = {**{f"W{l}": w for l, w in enumerate(W)}, **{f"b{l}": v for l, v in enumerate(b)}}
    return _jax_file(("params", tuple(sizes)), lambda p: np.savez(p, **arrays))


class JaxWorker:
    """One bench/jax_peer.py process: `threads` 1 (XLA on one thread) or 0 (XLA's default)."""

    def __init__(self, threads, python=None):
        import subprocess

        self.proc = subprocess.Popen(
            [python or JAX_PYTHON, str(HERE / "jax_peer.py"), "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        hello = self._read()
        if not hello.get("ok"):
            self.close()
            raise Skip(f"jax not installed (benchmark peer, not a dependency): {hello.get('error')}")
        self.info = hello

    def _read(self):
        import json

        line = self.proc.stdout.readline()
        if not line:
            return {"ok": False, "error": f"the worker ({JAX_PYTHON}) exited with {self.proc.wait()}"}
        return json.loads(line)

    def call(self, cmd, **kw):
        import json

        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        if not reply.get("ok"):
            raise RuntimeError(f"jax worker, {cmd}: {reply.get('error')}")
        return reply

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait()


def jax_fastnn_check(worker, case, X, y, rows=JAX_CHECK_ROWS):
    """Max |weight and bias difference| between JAX and fastnn after one epoch of the first `rows`
    rows in the same shuffled order, from the same initial parameters (float64: ~1e-13)."""
    Network = _needs("fastnn not available", "fastnn", "Network")
    rng = np.random.default_rng(1)
    n = min(rows, len(X))
    perm = rng.permutation(n)
    Xc = np.ascontiguousarray(X[:n][perm])
    yc = np.ascontiguousarray(y[:n][perm])
    W, b = initial_params(case.sizes)
    net = Network(case.sizes, cost=case.cost, dtype=case.dtype, seed=0)
    net.weights = [w.astype(case.dtype) for w in W]
    net.biases = [v.astype(case.dtype) for v in b]
    net.SGD((Xc, yc), 1, case.mb, ETA, LMBDA, shuffle=False)
    d = _jax_tmpdir()
    np.save(os.path.join(d, "check-x.npy"), Xc)
    np.save(os.path.join(d, "check-y.npy"), yc)
    worker.call(
        "setup",
        x=os.path.join(d, "check-x.npy"),
        y=os.path.join(d, "check-y.npy"),
        params=_params_file(case.sizes),
        mb=case.mb,
        dtype=case.dtype.name,
        eta=ETA,
        lmbda=LMBDA,
    )
    np.save(os.path.join(d, "check-perm.npy"), np.arange(n))
    worker.call("order", perm=os.path.join(d, "check-perm.npy"))
    worker.call("epoch")
    worker.call("save", path=os.path.join(d, "check-out.npz"))
    with np.load(os.path.join(d, "check-out.npz")) as f:
        diffs = [np.max(np.abs(f[f"W{l}"] - np.asarray(w, np.float64))) for l, w in enumerate(net.weights)]
        diffs += [np.max(np.abs(f[f"b{l}"] - np.asarray(v, np.float64))) for l, v in enumerate(net.biases)]
    return float(max(diffs))


class JaxRunner(Runner):
    """JAX, the whole epoch one compiled XLA call (bench/jax_peer.py); "jax": XLA on one thread,
    "jax-threads": its default threads. epoch() returns the worker's own timing of the compiled call
    (plus the epoch's permutation), without the pipe round trip."""

    def __init__(self, threads_mode):
        super().__init__()
        self.mode = threads_mode
        self.name = "jax" if threads_mode == 1 else "jax-threads"
        self.worker = None

    def setup(self, case, X, y):
        self.worker = JaxWorker(self.mode)
        self.check = jax_fastnn_check(self.worker, case, X, y) if self.mode == 1 else None
        key = ("x", case.dtype.name, X.shape, X.__array_interface__["data"][0])
        xf = _jax_file(key, lambda p: np.save(p, X))
        yf = _jax_file(("y", y.shape, y.__array_interface__["data"][0]), lambda p: np.save(p, y))
        r = self.worker.call(
            "setup",
            x=xf,
            y=yf,
            params=_params_file(case.sizes),
            mb=case.mb,
            dtype=case.dtype.name,
            eta=ETA,
            lmbda=LMBDA,
            seed=0,
        )
        self.compile_s = r["compile_s"]

    def epoch(self):
        reply = self.worker.call("epoch")
        self.cpu.append(reply["cpu_seconds"])
        return reply["seconds"]

    def params(self):
        path = os.path.join(_jax_tmpdir(), f"{self.name}-out.npz")
        self.worker.call("save", path=path)
        with np.load(path) as f:
            L = sum(1 for k in f.files if k.startswith("W"))
            return [f[f"W{l}"] for l in range(L)], [f[f"b{l}"] for l in range(L)]

    def close(self):
        if self.worker is not None:
            self.worker.close()
            self.worker = None


def make_runners(impls, threads):
    table = {
        "fastnn": lambda: FastnnRunner(threads),
        "fastnn-offset": lambda: FastnnOffsetRunner(threads),
        "fastnn-team": lambda: FastnnTeamRunner(threads),
        "fastnn-blas": lambda: FastnnBlasRunner(threads),
        "bound": lambda: BoundRunner("products"),
        "ideal": lambda: BoundRunner("ideal"),
        "jax": lambda: JaxRunner(1),
        "jax-threads": lambda: JaxRunner(0),
        "reference": ReferenceRunner,
        "book": BookRunner,
        "torch": lambda: TorchRunner(threads),
        "sklearn": SklearnRunner,
    }
    return [table[name]() for name in impls]


# ----------------------------------------------------------------------------------------------------------
# measuring
# ----------------------------------------------------------------------------------------------------------
FAST = ("fastnn", "fastnn-offset", "fastnn-team", "fastnn-blas", "bound", "ideal", "jax", "jax-threads")


def _last(times, fast, fast_reps):
    """The round's figure of one runner: the median of its fast repeats, or its one timing."""
    return statistics.median(times[-fast_reps:]) if fast else times[-1]


def _timed(r):
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        own = r.epoch()  # a runner timing itself (a worker process) returns its seconds
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        if own is None:
            r.cpu.append(cpu)
        return dt if own is None else own


def paired_ratio(times, a, b):
    """Median over sub-rounds of times[a][i] / times[b][i] (a and b timed back to back)."""
    ta, tb = times.get(a), times.get(b)
    if not ta or not tb or len(ta) != len(tb):
        return None
    return statistics.median(x / y for x, y in zip(ta, tb))


def run_case(case, data, impls, repeats, threads, log, fast_reps=3):
    """One warm-up epoch each, then `repeats` rounds. In each round the fast implementations (fastnn, bound,
    ideal) run `fast_reps` sub-rounds back to back (so fastnn / bound is also measured as a paired ratio,
    robust to a machine whose load changes), then the slow ones once; the starting implementation rotates."""
    (Xtr, ytr), (Xva, yva) = data
    try:  # 64-byte aligned rows, as fastnn's loaders and SGD's own conversion give them
        from fastnn._validation import aligned_copy

        X = aligned_copy(np.asarray(Xtr), case.dtype)
    except ImportError:
        X = np.ascontiguousarray(Xtr, dtype=case.dtype)
    runners, notes = [], {}
    for r in make_runners(impls, threads):
        try:
            r.setup(case, X, ytr)
            runners.append(r)
        except Skip as e:
            notes[r.name] = str(e)
        except RuntimeError as e:  # a peer's worker process failed: its column is left out, said why
            notes[r.name] = str(e)
            if hasattr(r, "close"):
                r.close()
    fast = [r for r in runners if r.name in FAST]
    slow = [r for r in runners if r.name not in FAST]
    times = {r.name: [] for r in runners}
    for r in runners:
        _timed(r)
    for r in runners:
        r.cpu.clear()
    log(f"  warm-up epoch done ({', '.join(r.name for r in runners)})")
    sub = 0
    for rnd in range(repeats):
        for _ in range(fast_reps):
            k = sub % max(1, len(fast))
            sub += 1
            for r in fast[k:] + fast[:k]:
                times[r.name].append(_timed(r))
                if hasattr(r, "after_epoch"):
                    r.after_epoch()
        k = rnd % max(1, len(slow))
        for r in slow[k:] + slow[:k]:
            times[r.name].append(_timed(r))
        log(
            f"  round {rnd + 1}: "
            + ", ".join(f"{r.name} {_last(times[r.name], r.name in FAST, fast_reps):.3f}" for r in runners)
        )
    res = {name: statistics.median(ts) for name, ts in times.items() if ts}
    spread = {name: (min(ts), max(ts)) for name, ts in times.items() if ts}
    acc = {}
    for r in runners:
        p = r.params()
        if p is not None:
            acc[r.name] = accuracy_of(p[0], p[1], Xva, yva)
    extra = {
        "paired": {
            ("fastnn", "bound"): paired_ratio(times, "fastnn", "bound"),
            ("ideal", "bound"): paired_ratio(times, "ideal", "bound"),
            ("fastnn-blas", "fastnn"): paired_ratio(times, "fastnn-blas", "fastnn"),
            ("fastnn-offset", "fastnn"): paired_ratio(times, "fastnn-offset", "fastnn"),
            ("jax", "fastnn"): paired_ratio(times, "jax", "fastnn"),
            ("jax-threads", "fastnn"): paired_ratio(times, "jax-threads", "fastnn"),
        }
    }
    extra["cpu"] = {r.name: statistics.median(r.cpu) for r in runners if r.cpu and r.name in FAST}
    for name in ("jax", "jax-threads"):
        ta = [r.cpu for r in runners if r.name == name]
        tf = [r.cpu for r in runners if r.name == "fastnn"]
        if ta and tf and len(ta[0]) == len(tf[0]):
            extra["paired"][(name, "fastnn", "cpu")] = statistics.median(x / y for x, y in zip(ta[0], tf[0]))
    for r in runners:
        if isinstance(r, JaxRunner):
            extra[f"{r.name}_compile"] = r.compile_s
            if r.check is not None:
                extra["jax_check"] = r.check
            r.close()
    fr = next((r for r in runners if r.name == "fastnn"), None)
    if fr is not None and fr.inner:
        extra["fastnn_inner"] = statistics.median(fr.inner)
    return {
        "case": case,
        "median": res,
        "spread": spread,
        "acc": acc,
        "notes": notes,
        "extra": extra,
        "epochs": 1 + repeats * (fast_reps if fast else 1),
        "slow_epochs": 1 + repeats,
        "fast_samples": repeats * fast_reps,
        "slow_samples": repeats,
    }


def run_inference(data_test, dtype, repeats, threads, log, impls=ALL_IMPLS, dense=False):
    """dense: rows of rng.random (all nonzero) instead of the data's test rows (MNIST: ~19 % nonzero)."""
    from_fastnn = None
    compile_s = {}
    sizes = (784, 100, 10)
    if dense:
        X = np.random.default_rng(5).random((N_INFERENCE, sizes[0])).astype(dtype)
    else:
        X = np.ascontiguousarray(data_test[0][:N_INFERENCE], dtype=dtype)
    W, b = initial_params(sizes)
    fns, notes = {}, {}
    try:
        import fastnn

        net = fastnn.Network(sizes, dtype=dtype, seed=0)
        net.weights = [w.astype(dtype) for w in W]
        net.biases = [v.astype(dtype) for v in b]
        fns["fastnn"] = lambda: net.feedforward(X)
        from_fastnn = net
    except Exception as e:  # noqa: BLE001
        notes["fastnn"] = f"fastnn not available ({type(e).__name__}: {e})"
    try:
        from setup_bound import load

        ForwardBound = load().ForwardBound
        fb = ForwardBound(sizes, len(X), dtype, variant="products", weights=W, biases=b)
        fi = ForwardBound(sizes, len(X), dtype, variant="ideal", weights=W, biases=b)
        fns["bound"] = lambda: fb.run(X)
        fns["ideal"] = lambda: fi.run(X)
    except Exception as e:  # noqa: BLE001
        notes["bound"] = f"bench/_bound.pyx could not be built ({type(e).__name__}: {e})"
    try:
        from fastnn.reference import ReferenceNetwork

        sig = inspect.signature(ReferenceNetwork)
        kw = dict(
            cost="cross-entropy",
            output="sigmoid",
            hidden="sigmoid",
            weights=[w.astype(dtype) for w in W],
            biases=[v.astype(dtype) for v in b],
            dtype=dtype,
        )
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            kw = {k: v for k, v in kw.items() if k in sig.parameters}
        ref = ReferenceNetwork(sizes, **kw)
        fns["reference"] = lambda: ref.feedforward(X)
    except Exception as e:  # noqa: BLE001
        notes["reference"] = f"fastnn.reference not available ({type(e).__name__}: {e})"
    try:
        import torch
        from torch import nn

        torch.set_num_threads(threads)
        tdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
        l1, l2 = nn.Linear(784, 100).to(tdt), nn.Linear(100, 10).to(tdt)
        with torch.no_grad():
            for lin, w, v in ((l1, W[0], b[0]), (l2, W[1], b[1])):
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(v))
        model = nn.Sequential(l1, nn.Sigmoid(), l2, nn.Sigmoid())
        Xt = torch.from_numpy(X)

        def tf():
            with torch.no_grad():
                return model(Xt)

        fns["torch"] = tf
    except Exception as e:  # noqa: BLE001
        notes["torch"] = f"PyTorch not installed ({type(e).__name__})"
    jax_workers = []
    for who, mode in (("jax", 1), ("jax-threads", 0)):
        if who not in impls:
            continue
        try:
            w = JaxWorker(mode)
            jax_workers.append(w)
            xf = _jax_file(("xi-dense" if dense else "xi", np.dtype(dtype).name), lambda p: np.save(p, X))
            compile_s[who] = w.call(
                "infer_setup", x=xf, params=_params_file(sizes), dtype=np.dtype(dtype).name
            )["compile_s"]
            fns[who] = lambda w=w: w.call("infer")
        except (Skip, RuntimeError) as e:
            notes[who] = str(e)
    times = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    names = list(fns)
    n_rounds = max(5 * repeats, 15)
    for rnd in range(n_rounds + 1):
        k = rnd % max(1, len(names))
        for name in names[k:] + names[:k]:
            t0, c0 = time.perf_counter(), time.process_time()
            own = fns[name]()  # a worker's reply carries its own timings
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if isinstance(own, dict) and "seconds" in own:
                dt, dc = own["seconds"], own["cpu_seconds"]
            if rnd:
                times[name].append(dt)
                cpu[name].append(dc)
    if from_fastnn is not None and "ideal" in fns:
        err = float(
            np.max(
                np.abs(
                    np.asarray(from_fastnn.feedforward(X), dtype=np.float64)
                    - np.asarray(fi.run(X), dtype=np.float64)
                )
            )
        )
        log(f"  inference: max |fastnn − ideal| = {err:.2e}")
    for w in jax_workers:
        w.close()
    case = Case(100, N_INFERENCE, dtype, inference=True, rows="dense" if dense else "")
    res = {k: statistics.median(v) for k, v in times.items()}
    spread = {k: (min(v), max(v)) for k, v in times.items()}
    extra = {
        "paired": {
            ("fastnn", "bound"): paired_ratio(times, "fastnn", "bound"),
            ("jax", "fastnn"): paired_ratio(times, "jax", "fastnn"),
            ("jax-threads", "fastnn"): paired_ratio(times, "jax-threads", "fastnn"),
        }
    }
    extra.update({f"{who}_compile": v for who, v in compile_s.items()})
    extra["cpu"] = {
        k: statistics.median(v) for k, v in cpu.items() if v and k in ("fastnn", "jax", "jax-threads")
    }
    for who in ("jax", "jax-threads"):
        if cpu.get(who) and cpu.get("fastnn"):
            extra["paired"][(who, "fastnn", "cpu")] = statistics.median(
                x / y for x, y in zip(cpu[who], cpu["fastnn"])
            )
    return {
        "case": case,
        "median": res,
        "spread": spread,
        "acc": {},
        "notes": notes,
        "extra": extra,
        "epochs": n_rounds,
        "inference": True,
    }


# ----------------------------------------------------------------------------------------------------------
# environment
# ----------------------------------------------------------------------------------------------------------
def environment(threads):
    lines = []
    cpu = "unknown"
    fam = model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "unknown":
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("cpu family") and fam is None:
                    fam = line.split(":", 1)[1].strip()
                elif line.startswith("model\t") and model is None:
                    model = line.split(":", 1)[1].strip()
    except OSError:
        cpu = platform.processor() or "unknown"
    lines.append(
        f"CPU: {cpu}"
        + (f" (family {fam}, model {model})" if fam else "")
        + f", {os.cpu_count()} logical CPUs; load average at start "
        + (" ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a")
    )
    lines.append(
        f"Python {platform.python_version()}, numpy {np.__version__}"
        + "".join(f", {m} {v}" for m, v in _versions().items())
    )
    env = {
        k: os.environ.get(k)
        for k in (
            "OPENBLAS_CORETYPE",
            "OPENBLAS_L2_SIZE",
            "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
        )
    }
    lines.append("env: " + ", ".join(f"{k}={'(unset)' if v is None else v}" for k, v in env.items()))
    if env["OPENBLAS_CORETYPE"] or env["OPENBLAS_L2_SIZE"]:
        lines.append(
            "WARNING: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set: run with "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/compare.py`"
        )
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            lines.append(
                f"threadpool: {info.get('user_api')} {info.get('internal_api')} "
                f"{info.get('version')} kernel={info.get('architecture', '-')} "
                f"threads={info.get('num_threads')} ({os.path.basename(info.get('filepath', ''))})"
            )
    except Exception as e:  # noqa: BLE001
        lines.append(f"threadpoolctl unavailable: {e}")
    lines.append(
        f"benchmark threads: {threads} (threadpoolctl.threadpool_limits({threads}) around everything; "
        f"torch.set_num_threads({threads}))"
    )
    return lines


def _versions():
    out = {}
    for mod in ("scipy", "fastnn", "torch", "sklearn", "threadpoolctl"):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", "?")
        except Exception:  # noqa: BLE001
            out[mod] = "not installed"
    return out


# ----------------------------------------------------------------------------------------------------------
# tables and targets
# ----------------------------------------------------------------------------------------------------------
def _ratio(a, b):
    return a / b if (a is not None and b) else None


def fmt_s(x):
    return "—" if x is None else (f"{x:.3f}" if x >= 0.1 else f"{x * 1000:.1f} ms")


def fmt_r(x):
    return "—" if x is None else f"{x:.2f}×"


def fastnn_over_bound(r, who="fastnn"):
    """fastnn / bound (or ideal / bound): the paired ratio when measured, else the ratio of the medians."""
    v = r["extra"].get("paired", {}).get((who, "bound"))
    return v if v is not None else _ratio(r["median"].get(who), r["median"].get("bound"))


def over_fastnn(r, who):
    """who / fastnn: the paired ratio when measured (back-to-back epochs), else the ratio of the medians."""
    v = r["extra"].get("paired", {}).get((who, "fastnn"))
    return v if v is not None else _ratio(r["median"].get(who), r["median"].get("fastnn"))


def targets(results):
    """List of (target, case label, value, ok): the performance issue's targets, exactly as scoped there.

    [784,30,10] mini-batch 10: fastnn ≤ 1.3× the bound (f64, f32); ≥ 2× (f64) / 2.5× (f32) faster than the
    reference; ≥ 8× PyTorch; ≥ 6× (f64) / 10× (f32) MLPClassifier; ≥ 12× the per-example algorithm; f32 ≥ 1.5×
    f64. [784,100,10]: ≤ 1.3× the bound at mini-batch 10 and 100; ≥ 4× PyTorch at 10, ≥ 1.5× at 100.
    Inference of 10,000 rows through [784,100,10]: ≤ 1.2× its bound."""
    rows = []
    train = [r for r in results if not r.get("inference")]
    for r in train:
        c, m = r["case"], r["median"]
        f = m.get("fastnn")
        if f is None:
            continue
        f32 = c.dtype == np.float32

        def add(name, value, ok):
            if value is not None:
                rows.append((name, c.label, value, ok(value)))

        if c.hidden == 30 and c.mb == 10:
            add("fastnn / bound ≤ 1.3", fastnn_over_bound(r), lambda v: v <= 1.3)
            add(
                f"reference / fastnn ≥ {2.5 if f32 else 2}",
                _ratio(m.get("reference"), f),
                lambda v: v >= (2.5 if f32 else 2.0),
            )
            add("torch / fastnn ≥ 8", _ratio(m.get("torch"), f), lambda v: v >= 8)
            add(
                f"sklearn / fastnn ≥ {10 if f32 else 6}",
                _ratio(m.get("sklearn"), f),
                lambda v: v >= (10 if f32 else 6),
            )
            add("book / fastnn ≥ 12", _ratio(m.get("book"), f), lambda v: v >= 12)
        elif c.hidden == 100 and c.mb in (10, 100):
            add("fastnn / bound ≤ 1.3", fastnn_over_bound(r), lambda v: v <= 1.3)
            need = 4 if c.mb == 10 else 1.5
            add(f"torch / fastnn ≥ {need}", _ratio(m.get("torch"), f), lambda v, need=need: v >= need)
    for r in train:
        c = r["case"]
        if c.dtype != np.float32 or c.hidden != 30 or c.mb != 10 or "fastnn" not in r["median"]:
            continue
        twin = next(
            (
                q
                for q in train
                if q["case"].sizes == c.sizes
                and q["case"].mb == c.mb
                and q["case"].dtype == np.float64
                and "fastnn" in q["median"]
            ),
            None,
        )
        if twin is not None:
            v = twin["median"]["fastnn"] / r["median"]["fastnn"]
            rows.append(("fastnn f64 / f32 ≥ 1.5", f"[784,{c.hidden},10] mb {c.mb}", v, v >= 1.5))
    for r in results:  # issue #29: ahead of JAX (one thread) by >= 1.1x in every case
        v = over_fastnn(r, "jax")
        if v is not None:
            rows.append(("jax (1 thread) / fastnn ≥ 1.1", r["case"].label, v, v >= 1.1))
        v = r["extra"].get("paired", {}).get(("jax", "fastnn", "cpu"))
        if v is not None:
            rows.append(("jax (1 thread) / fastnn ≥ 1.1, CPU time", r["case"].label, v, v >= 1.1))
    for r in train:  # issue #26: a user's X, 16 bytes off a 64-byte line, within 3 % of aligned X
        v = r["extra"].get("paired", {}).get(("fastnn-offset", "fastnn"))
        if v is not None:
            rows.append(("fastnn-offset / fastnn ≤ 1.03", r["case"].label, v, v <= 1.03))
    for r in results:
        if r.get("inference"):
            v = fastnn_over_bound(r)
            if v is not None:
                rows.append(("inference fastnn / bound ≤ 1.2", r["case"].label, v, v <= 1.2))
    return rows


def tables(results, impls, markdown):
    """Returns a list of lines: seconds table, ratio table, accuracy table, inference table, targets,
    notes."""
    out = []
    train = [r for r in results if not r.get("inference")]
    infer = [r for r in results if r.get("inference")]
    present = [i for i in impls if any(i in r["median"] for r in results)]

    def table(header, rows):
        if markdown:
            lines = [
                "| " + " | ".join(header) + " |",
                "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
            ]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
        else:
            widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
            lines = [
                "  ".join(
                    str(x).ljust(w) if i == 0 else str(x).rjust(w)
                    for i, (x, w) in enumerate(zip(row, widths))
                )
                for row in [header, *rows]
            ]
            lines.insert(1, "  ".join("-" * w for w in widths))
        return lines

    if train:
        r0 = train[0]
        tp = [i for i in present if any(i in r["median"] for r in train)]
        hdr = ["case"] + [f"{i} s" for i in tp]
        rows = [[r["case"].label] + [fmt_s(r["median"].get(i)) for i in tp] for r in train]
        out.append(
            f"Seconds per epoch, median (after 1 warm-up epoch each; fastnn, bound and ideal: "
            f"{r0['fast_samples']} epochs, the others: {r0['slow_samples']}; all interleaved in one process):"
        )
        out.append("")
        out += table(hdr, rows)
        out.append("")
        others = [i for i in ALL_IMPLS if i not in ("fastnn", "bound", "ideal") and i in tp]
        hdr = (
            ["case"]
            + (["fastnn / bound", "(min / min)", "ideal / bound"] if "bound" in tp else [])
            + [f"{i} / fastnn" for i in others]
        )
        rows = []
        for r in train:
            row = [r["case"].label]
            if "bound" in tp:
                sp = r["spread"]
                row += [
                    fmt_r(fastnn_over_bound(r)),
                    fmt_r(_ratio(sp.get("fastnn", (None,))[0], sp.get("bound", (None,))[0])),
                    fmt_r(fastnn_over_bound(r, "ideal")),
                ]
            row += [fmt_r(over_fastnn(r, i)) for i in others]
            rows.append(row)
        out.append(
            "Ratios, same run (`x / fastnn` > 1: fastnn is faster). `fastnn / bound` and `ideal / bound`: "
            "median of the ratios of back-to-back epochs; `(min / min)`: fastest epoch of each; "
            "the others: ratios of the medians."
        )
        out.append("")
        out += table(hdr, rows)
        out.append("")
        accs = [r for r in train if r["acc"]]
        if accs:
            ai = [i for i in present if any(i in r["acc"] for r in accs)]
            out.append(
                f"Validation accuracy at the end (sanity check that each implementation trains; same initial "
                f"parameters; fastnn and ideal trained {r0['epochs']} epochs, the others "
                f"{r0['slow_epochs']}):"
            )
            out.append("")
            out += table(
                ["case", *ai],
                [
                    [r["case"].label]
                    + ["—" if r["acc"].get(i) is None else f"{100 * r['acc'][i]:.2f}%" for i in ai]
                    for r in accs
                ],
            )
            out.append("")
    if infer:
        ip = [
            i
            for i in ("fastnn", "bound", "ideal", "jax", "jax-threads", "reference", "torch")
            if any(i in r["median"] for r in infer)
        ]
        jp = [i for i in ("jax", "jax-threads") if i in ip]
        hdr = (
            ["inference, 10,000 rows, [784,100,10]"]
            + [f"{i}" for i in ip]
            + ["fastnn / bound"]
            + [f"{i} / fastnn" for i in jp]
        )
        rows = [
            [("f64" if r["case"].dtype == np.float64 else "f32") + (", dense rows" if r["case"].rows else "")]
            + [fmt_s(r["median"].get(i)) for i in ip]
            + [fmt_r(fastnn_over_bound(r))]
            + [fmt_r(over_fastnn(r, i)) for i in jp]
            for r in infer
        ]
        out.append(
            f"Inference, median of {infer[0]['epochs']} calls each, interleaved (bound: the 2 forward gemms "
            "over all rows; ideal: + bias and sigmoid; fastnn / bound: median of the per-round ratios):"
        )
        out.append("")
        out += table(hdr, rows)
        out.append("")
    cpu_rows = [r for r in results if "jax" in r["extra"].get("cpu", {}) and "fastnn" in r["extra"]["cpu"]]
    if cpu_rows:
        jp = [i for i in ("jax", "jax-threads") if any(i in r["extra"]["cpu"] for r in cpu_rows)]
        out.append(
            "CPU seconds per epoch or inference call (process time, all threads; median), the same runs "
            "as above: on a shared host the CPU time does not count the time a process waits for a CPU, "
            "which wall time does (`x / fastnn`: median of the per-round ratios):"
        )
        out.append("")
        out += table(
            ["case", "fastnn CPU s", *[f"{i} CPU s" for i in jp], *[f"{i} / fastnn (CPU)" for i in jp]],
            [
                [r["case"].label, fmt_s(r["extra"]["cpu"]["fastnn"])]
                + [fmt_s(r["extra"]["cpu"].get(i)) for i in jp]
                + [fmt_r(r["extra"]["paired"].get((i, "fastnn", "cpu"))) for i in jp]
                for r in cpu_rows
            ],
        )
        out.append("")
    tg = targets(results)
    if tg:
        out.append("Targets (speed-ups over the other implementations checked on the mini-batch-10 cases):")
        out.append("")
        out += table(
            ["target", "case", "measured", "met"],
            [[t, c, f"{v:.2f}×", "yes" if ok else "**NO**" if markdown else "NO"] for t, c, v, ok in tg],
        )
        n_ok = sum(ok for *_, ok in tg)
        out.append("")
        out.append(f"{n_ok} of {len(tg)} target checks met.")
        out.append("")
    notes = []
    for r in results:
        for k, v in r["notes"].items():
            notes.append(f"{k}: skipped ({v})")
        jx = [
            f"{who} compile {r['extra'][who + '_compile']:.2f} s"
            for who in ("jax", "jax-threads")
            if r["extra"].get(who + "_compile") is not None
        ]
        if "jax_check" in r["extra"]:
            jx.append(
                f"after one epoch of {JAX_CHECK_ROWS:,} rows from the same start in the same order, "
                f"max |JAX − fastnn| over weights and biases = {r['extra']['jax_check']:.1e}"
            )
        if jx:
            notes.append(f"{r['case'].label}: " + "; ".join(jx) + " (compile time not in the epoch's)")
        fi = r["extra"].get("fastnn_inner")
        if fi is not None and "fastnn" in r["median"]:
            notes.append(
                f"{r['case'].label}: fastnn in-epoch time (History) {fmt_s(fi)}, per-call overhead "
                f"of SGD(epochs=1) {fmt_s(r['median']['fastnn'] - fi)}"
            )
    if notes:
        out.append("Notes:")
        out.append("")
        out += [f"- {n}" for n in dict.fromkeys(notes)]
        out.append("")
    return out


# ----------------------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="10,000 training rows and 3 repeats")
    ap.add_argument(
        "--cases",
        default="all",
        help="comma-separated case ids ("
        + ", ".join(c.id for c in DEFAULT_CASES)
        + ", inference, inference-dense) or 'all'",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed epochs per implementation (default 5; quick: 3); at least 3",
    )
    ap.add_argument(
        "--sub-rounds",
        type=int,
        default=3,
        help="back-to-back epochs of the fast implementations per round (default 3)",
    )
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch threads (default 1)")
    ap.add_argument("--markdown", action="store_true", help="also print the tables as markdown")
    ap.add_argument("--out", default=None, help="write the markdown report to this file")
    ap.add_argument("--impls", default=",".join(ALL_IMPLS), help="subset of " + ",".join(ALL_IMPLS))
    ap.add_argument("--n-train", type=int, default=None, help="training rows (default 50,000; quick: 10,000)")
    ap.add_argument(
        "--jax-python",
        default=None,
        help="the Python that runs the JAX worker (default: $FASTNN_JAX_PYTHON or this Python)",
    )
    ap.add_argument(
        "--allow-synthetic",
        action="store_true",
        help="without MNIST ($FASTNN_DATA or ../shared/data/mnist), run on synthetic rows of its "
        "shape instead of stopping (their timings and accuracies are not MNIST's)",
    )
    args = ap.parse_args(argv)

    global JAX_PYTHON
    if args.jax_python:
        JAX_PYTHON = args.jax_python
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if repeats < 3:
        ap.error("--repeats must be >= 3 (the median of at least 3)")
    if args.sub_rounds < 1:
        ap.error("--sub-rounds must be >= 1")
    n_train = args.n_train or (10_000 if args.quick else 50_000)
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    bad = [i for i in impls if i not in ALL_IMPLS]
    if bad:
        ap.error(f"unknown --impls {bad}; choose from {ALL_IMPLS}")
    wanted = (
        [c.strip() for c in args.cases.split(",")]
        if args.cases != "all"
        else [c.id for c in DEFAULT_CASES] + ["inference", "inference-dense"]
    )
    by_id = {c.id: c for c in DEFAULT_CASES}
    bad = [w for w in wanted if w not in by_id and w not in ("inference", "inference-dense")]
    if bad:
        ap.error(f"unknown --cases {bad}; choose from {list(by_id)}, inference or inference-dense")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    # import everything that loads a BLAS / thread pool BEFORE limiting, so that the limits reach them all
    import scipy.linalg  # noqa: F401  (scipy's OpenBLAS, used by cython_blas)

    for mod in ("fastnn", "fastnn.network", "fastnn.reference", "torch", "sklearn.neural_network"):
        try:
            __import__(mod)
        except Exception:  # noqa: BLE001
            pass
    from threadpoolctl import threadpool_limits

    t_start = time.time()
    with threadpool_limits(limits=args.threads):
        env_lines = environment(args.threads)
        for line in env_lines:
            log(line)
        try:
            (Xtr, ytr), (Xva, yva), (Xte, yte), src = load_data(n_train, args.allow_synthetic)
        except FileNotFoundError as e:
            ap.error(str(e))
        log(f"data: {src}")
        results = []
        for cid in wanted:
            if cid in ("inference", "inference-dense"):
                continue
            case = by_id[cid]
            log(f"case {case.label} ...")
            results.append(
                run_case(case, ((Xtr, ytr), (Xva, yva)), impls, repeats, args.threads, log, args.sub_rounds)
            )
        for cid in ("inference", "inference-dense"):
            if cid not in wanted:
                continue
            for dt in (np.float64, np.float32):
                log(f"{cid} {np.dtype(dt).name} ...")
                results.append(
                    run_inference((Xte, yte), dt, repeats, args.threads, log, impls, dense=cid != "inference")
                )
        load_end = os.getloadavg() if hasattr(os, "getloadavg") else None

    header = [
        f"fastnn benchmark — `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/compare.py"
        f"{' ' + ' '.join(argv if argv is not None else sys.argv[1:]) if (argv or sys.argv[1:]) else ''}`",
        "",
    ]
    info = [
        *env_lines,
        f"data: {src}; η = {ETA}, λ = {LMBDA}, sigmoid hidden + sigmoid/cross-entropy output",
        f"total {time.time() - t_start:.0f} s; load average at end "
        + (" ".join(f"{x:.2f}" for x in load_end) if load_end else "n/a"),
    ]
    print("\n".join(header[:1]))
    print("\n".join(info))
    print()
    print("\n".join(tables(results, impls, markdown=False)))
    if args.markdown or args.out:
        md = header + [f"- {line}" for line in info] + [""] + tables(results, impls, markdown=True)
        text = "\n".join(md).rstrip() + "\n"
        if args.markdown:
            print("\n---- markdown ----\n")
            print(text)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(text)
            log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
