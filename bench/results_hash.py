"""SHA-256 of the trained parameters of seeded cases: proof that a change kept results bit-identical.

    python bench/results_hash.py                  # one line per case: name, hash
    python bench/results_hash.py --write FILE     # record the reference (bench/results/results_hash.txt)
    python bench/results_hash.py --check FILE     # exit 1 and list the cases whose hash differs
    python bench/results_hash.py --threads 3 --check FILE   # the same hashes on a team of 3 threads

(fastnn as installed, or the checkout's in-place build with ``PYTHONPATH=$PWD``.)

The cases cross the three costs and output layers, the hidden activations, the options (L2, L1,
momentum, dropout, sample weights, early stopping, η schedule, partial last batch, mini-batch 1),
both dtypes, and the three ways in: the Python API (`Network.SGD`), the CLI (`fastnn train`, its
saved model) and the scikit-learn estimators. Data are synthetic rows from a seeded generator
(numpy's PCG64 stream is stable across releases), so no download is needed.

A hash is of the weights and biases as the machine computed them: it is comparable between two
builds on the same machine and ISA path (the own kernels pick AVX-512/AVX2/portable code at run
time), not across machines. Cases whose name starts with ``dropout`` change on purpose when the
dropout mask stream changes (see CHANGELOG.md); record the reference again on that commit.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

import fastnn

THREADS = 1  # --threads: every case trains on a team of this many threads (results must not change)


def _data(n=530, d=20, k=4, seed=0):
    """Seeded rows in [0, 1) and labels from a fixed linear rule (learnable, not trivial)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    W = rng.standard_normal((d, k))
    y = np.argmax(X @ W + 0.3 * rng.standard_normal((n, k)), axis=1)
    return X, y


def _digest(weights, biases) -> str:
    h = hashlib.sha256()
    for a in (*weights, *biases):
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _api(sizes, dtype="float64", epochs=3, batch=10, eta=0.5, lmbda=0.0, n=530, **kw):
    net_kw = {k: kw.pop(k) for k in ("cost", "output", "hidden", "weight_init") if k in kw}
    X, y = _data(n=n, d=sizes[0], k=sizes[-1])
    if kw.pop("zero_columns", False):
        # like images: a border of columns zero in every row, a band nonzero in 3 % of the rows
        # (zero in some mini-batches only): the packed product skips them (#29)
        d = sizes[0]
        X[:, : d // 4] = 0
        X[:, d // 4 : d // 4 + 40] *= np.random.default_rng(4).random((n, 40)) < 0.03
    net = fastnn.Network(sizes, dtype=np.dtype(dtype), seed=7, **net_kw)
    if kw.pop("with_eval", False):
        Xv, yv = _data(n=120, d=sizes[0], k=sizes[-1], seed=1)
        kw["evaluation_data"] = (Xv, yv)
        kw["monitor_evaluation_accuracy"] = True
    if "sample_weight" in kw:
        kw["sample_weight"] = np.random.default_rng(3).uniform(0.2, 2.0, n)
    net.SGD((X, y), epochs, batch, eta, lmbda, n_threads=THREADS, **kw)
    return _digest(net.weights, net.biases)


def _cli(args, dtype="float64"):
    X, y = _data(n=400, d=16, k=3)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "d.npz")
        np.savez(data, X=X, y=y)
        model = os.path.join(tmp, "m.json")
        cmd = [
            sys.executable,
            "-m",
            "fastnn.cli",
            "train",
            "--data",
            data,
            "--seed",
            "5",
            "--epochs",
            "3",
            "--dtype",
            dtype,
            "--lmbda",
            "0.5",
            "-q",
            "--no-progress",
            "--save",
            model,
            *args,
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        net = fastnn.load(model)
    return _digest(net.weights, net.biases)


def _estimator(kind, **params):
    from fastnn.sklearn import NetworkClassifier, NetworkRegressor

    X, y = _data(n=300, d=12, k=3)
    if kind == "classifier":
        est = NetworkClassifier(
            hidden_layer_sizes=(15,), epochs=3, random_state=2, n_threads=THREADS, **params
        )
        est = est.fit(X, y)
    else:
        Y = np.stack([X[:, 0] - X[:, 1], X[:, 2] * 0.5], axis=1)
        est = NetworkRegressor(
            hidden_layer_sizes=(15,), epochs=3, random_state=2, n_threads=THREADS, **params
        )
        est = est.fit(X, Y)
    net = est.network_
    return _digest(net.weights, net.biases)


CASES = {
    # costs and output layers, both dtypes
    "ce-sigmoid-f64": lambda: _api([20, 30, 4], cost="cross-entropy"),
    "ce-sigmoid-f32": lambda: _api([20, 30, 4], "float32", cost="cross-entropy"),
    "quadratic-sigmoid-f64": lambda: _api([20, 30, 4], cost="quadratic", eta=3.0),
    "quadratic-sigmoid-f32": lambda: _api([20, 30, 4], "float32", cost="quadratic", eta=3.0),
    "loglik-softmax-f64": lambda: _api([20, 30, 4], cost="log-likelihood", output="softmax"),
    "loglik-softmax-f32": lambda: _api([20, 30, 4], "float32", cost="log-likelihood", output="softmax"),
    "quadratic-linear-f64": lambda: _api([20, 30, 4], cost="quadratic", output="linear", eta=0.05),
    # hidden activations, a deep net
    "tanh-f64": lambda: _api([20, 30, 4], hidden="tanh", eta=0.1),
    "relu-f32": lambda: _api([20, 30, 4], "float32", hidden="relu", eta=0.1),
    "deep-f64": lambda: _api([20, 40, 30, 4], hidden="tanh", eta=0.1),
    # regularization, momentum, weights, schedules
    "l2-f64": lambda: _api([20, 30, 4], lmbda=5.0),
    "l1-f32": lambda: _api([20, 30, 4], "float32", lmbda=2.0, regularization="l1"),
    "momentum-f64": lambda: _api([20, 30, 4], eta=0.1, lmbda=1.0, momentum=0.9),
    "momentum-f32": lambda: _api([20, 30, 4], "float32", eta=0.1, momentum=0.5),
    "sample-weight-f64": lambda: _api([20, 30, 4], lmbda=1.0, sample_weight=True),
    "schedule-early-stop-f64": lambda: _api(
        [20, 30, 4], epochs=6, eta=2.0, with_eval=True, eta_schedule=1, early_stopping=3
    ),
    "partial-batch-f64": lambda: _api([20, 30, 4], batch=7, n=530),
    "batch1-f32": lambda: _api([20, 30, 4], "float32", batch=1, epochs=1, eta=0.1),
    "batch128-f64": lambda: _api([20, 100, 4], batch=128, epochs=4, eta=1.0),
    "wide-blas-f64": lambda: _api([64, 800, 10], batch=32, epochs=1, n=300, eta=0.5),
    # layers on the packed product (or BLAS): over 200,000 weights at 32 rows, or over 128 rows
    "gemm-f64": lambda: _api([256, 800, 10], batch=32, epochs=1, n=300, eta=0.5),
    "gemm-deep-momentum-f32": lambda: _api(
        [256, 800, 300, 10], "float32", batch=150, epochs=1, n=300, eta=0.1, lmbda=1.0, momentum=0.5
    ),
    "gemm-l1-f64": lambda: _api([20, 30, 4], batch=200, epochs=3, n=450, lmbda=2.0, regularization="l1"),
    # a first layer on the packed product over inputs with zero columns (skipped: #29)
    "zero-columns-f64": lambda: _api([256, 300, 10], batch=64, epochs=2, n=300, lmbda=1.0, zero_columns=True),
    "zero-columns-momentum-l1-f32": lambda: _api(
        [256, 300, 10],
        "float32",
        batch=100,
        epochs=2,
        n=300,
        eta=0.1,
        lmbda=1.0,
        regularization="l1",
        momentum=0.5,
        zero_columns=True,
    ),
    "no-shuffle-f64": lambda: _api([20, 30, 4], shuffle=False),
    # dropout (the mask stream may change on purpose once: see CHANGELOG.md)
    "dropout-f64": lambda: _api([20, 30, 4], dropout=0.5, eta=0.2),
    "dropout-momentum-f32": lambda: _api([20, 30, 4], "float32", dropout=0.3, momentum=0.5, eta=0.1),
    # the CLI
    "cli-default-f64": lambda: _cli([]),
    "cli-loglik-momentum-f32": lambda: _cli(["--cost", "log-likelihood", "--momentum", "0.5"], "float32"),
    # the estimators
    "estimator-classifier-f64": lambda: _estimator("classifier", eta=0.5, lmbda=0.1),
    "estimator-regressor-f64": lambda: _estimator("regressor", eta=0.05),
    "estimator-classifier-f32": lambda: _estimator("classifier", dtype="float32", momentum=0.5, eta=0.2),
}


def compute(names=None) -> dict[str, str]:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names or CASES:
            out[name] = CASES[name]()
    return out


def _read(path):
    ref = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, digest = line.split()
                ref[name] = digest
    return ref


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--write", metavar="FILE", help="write the hashes to FILE (the reference)")
    g.add_argument("--check", metavar="FILE", help="compare with FILE; exit 1 on any difference")
    ap.add_argument("--threads", type=int, default=1, help="n_threads of every training (default: 1)")
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    args = ap.parse_args(argv)
    global THREADS
    THREADS = args.threads
    hashes = compute(args.cases or None)
    if args.check:
        ref = _read(args.check)
        bad = [n for n, h in hashes.items() if ref.get(n) != h]
        for n, h in hashes.items():
            print(f"{'same' if n not in bad else 'DIFF'}  {n:28s} {h}")
        print(f"{len(hashes) - len(bad)} of {len(hashes)} cases bit-identical to {args.check}")
        return 1 if bad else 0
    lines = [f"{n} {h}" for n, h in hashes.items()]
    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(
                f"# bench/results_hash.py on fastnn {fastnn.__version__}; same machine and ISA path only\n"
            )
            f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
