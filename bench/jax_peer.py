#!/usr/bin/env python
"""JAX as a benchmark peer of fastnn: the whole epoch compiled by XLA (``jax.jit`` over a ``lax.scan``
of the mini-batch steps, ``jax.grad`` for the gradients). A worker process, driven by bench/compare.py
(and tests/test_bench_jax.py) over stdin/stdout, one JSON object per line each way.

JAX is a benchmark peer only, never a dependency of fastnn: this file imports numpy and jax and nothing
of fastnn, so it may run under another Python (``compare.py --jax-python PATH``, or $FASTNN_JAX_PYTHON)
than the one that runs fastnn. XLA's thread count is fixed when the process starts, so compare.py starts
one worker per thread setting: one thread is

    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

(``--threads 1``, which sets it before importing jax, and pins the worker to one CPU with
``os.sched_setaffinity``: the flags alone left XLA's CPU runtime working on a second core — CPU time
1.1–2× its wall time in every case of bench/compare.py, measured 2026-12-07), default threads
otherwise (``--threads 0``).

The computation is the fastnn column's: sigmoid hidden layers, sigmoid outputs with the cross-entropy
cost (per mini-batch the mean over its rows of Σ_j −y_j ln a_j − (1 − y_j) ln(1 − a_j), written as
softplus(z) − y z so that jax.grad gives δᴸ = (a − y)/m exactly), network2's L2 decay on the weights
(W ← (1 − ηλ/n) W − η ∂C/∂W; biases b ← b − η ∂C/∂b), the mini-batches of one epoch taken in the
order of a given permutation (the rows gathered inside the compiled epoch). float64 runs with
``jax_enable_x64``.

Commands (one line of JSON each; every reply has "ok"):
  {"cmd": "setup", "x": X.npy, "y": y.npy, "params": P.npz, "mb": m, "dtype": "float64"|"float32",
   "eta": η, "lmbda": λ, "seed": s}          -> compile time of the epoch ("compile_s")
  {"cmd": "order", "perm": perm.npy}         -> the next epochs use this order (default: a fresh
                                                numpy permutation per epoch from `seed`)
  {"cmd": "epoch"}                           -> "seconds": one epoch, wall time of the compiled call
                                                (block_until_ready; the permutation made before)
  {"cmd": "save", "path": out.npz}           -> writes W0.., b0.. (float64)
  {"cmd": "infer_setup", "x": X.npy, "params": P.npz, "dtype": ...} -> "compile_s"
  {"cmd": "infer"}                           -> "seconds": feedforward of all rows
  {"cmd": "info"}                            -> jax version, devices, XLA_FLAGS
  {"cmd": "quit"}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ONE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def _layers(params_file, n_layers=None):
    import numpy as np

    with np.load(params_file) as f:
        L = sum(1 for k in f.files if k.startswith("W"))
        return [np.asarray(f[f"W{l}"]) for l in range(L)], [np.asarray(f[f"b{l}"]) for l in range(L)]


class Peer:
    def __init__(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        import numpy as np

        self.jax, self.jnp, self.np = jax, jnp, np
        self.order = None

    # -- training --------------------------------------------------------------------------------------
    def setup(self, x, y, params, mb, dtype, eta, lmbda, seed=0):
        jax, jnp, np = self.jax, self.jnp, self.np
        dt = np.dtype(dtype)
        X = np.load(x).astype(dt, copy=False)
        labels = np.load(y)
        n, K = X.shape[0], None
        W, b = _layers(params)
        K = W[-1].shape[0]
        Y = np.zeros((n, K), dtype=dt)
        Y[np.arange(n), labels] = 1
        self.n, self.mb, self.dt = n, int(mb), dt
        self.order = None  # a fresh permutation per epoch unless told otherwise
        self.rng = np.random.default_rng(seed)
        self.Xd, self.Yd = jax.device_put(X), jax.device_put(Y)
        self.params = [(jax.device_put(w.astype(dt)), jax.device_put(v.astype(dt))) for w, v in zip(W, b)]
        decay = dt.type(1 - eta * lmbda / n)
        step_size = dt.type(eta)
        m = self.mb
        nb = n // m
        self.n_full = nb * m

        def loss(p, x, yb):
            a = x
            for i, (w, v) in enumerate(p):
                z = a @ w.T + v
                a = jax.nn.sigmoid(z) if i < len(p) - 1 else z
            # cross-entropy of sigmoid outputs, mean over the rows: ∂/∂z = (σ(z) − y) / m
            return jnp.sum(jax.nn.softplus(a) - yb * a) / x.shape[0]

        grad = jax.grad(loss)

        def step(p, idx, X, Y):
            x, yb = jnp.take(X, idx, axis=0), jnp.take(Y, idx, axis=0)
            g = grad(p, x, yb)
            return [(decay * w - step_size * gw, v - step_size * gv) for (w, v), (gw, gv) in zip(p, g)]

        def epoch(p, X, Y, perm):
            batches = perm[: nb * m].reshape(nb, m)

            def body(p, idx):
                return step(p, idx, X, Y), None

            p, _ = jax.lax.scan(body, p, batches)
            if n > nb * m:  # the last, shorter mini-batch (its mean over its own rows)
                p = step(p, perm[nb * m :], X, Y)
            return p

        perm0 = np.arange(n, dtype=np.int64)
        t0 = time.perf_counter()
        self.epoch_fn = jax.jit(epoch).lower(self.params, self.Xd, self.Yd, perm0).compile()
        return {"compile_s": time.perf_counter() - t0}

    def set_order(self, perm):
        self.order = self.np.load(perm).astype(self.np.int64)
        return {}

    def epoch(self):
        np = self.np
        t0, c0 = time.perf_counter(), time.process_time()  # the epoch's permutation included, as fastnn's
        perm = self.order if self.order is not None else self.rng.permutation(self.n).astype(np.int64)
        perm = self.jax.device_put(perm)
        p = self.epoch_fn(self.params, self.Xd, self.Yd, perm)
        self.jax.block_until_ready(p)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        self.params = p
        return {"seconds": dt, "cpu_seconds": cpu}

    def save(self, path):
        np = self.np
        out = {}
        for l, (w, v) in enumerate(self.params):
            out[f"W{l}"] = np.asarray(w, dtype=np.float64)
            out[f"b{l}"] = np.asarray(v, dtype=np.float64)
        np.savez(path, **out)
        return {}

    # -- inference -------------------------------------------------------------------------------------
    def infer_setup(self, x, params, dtype):
        jax, np = self.jax, self.np
        dt = np.dtype(dtype)
        self.Xi = jax.device_put(np.load(x).astype(dt, copy=False))
        W, b = _layers(params)
        self.pi = [(jax.device_put(w.astype(dt)), jax.device_put(v.astype(dt))) for w, v in zip(W, b)]

        def forward(p, x):
            a = x
            for w, v in p:
                a = jax.nn.sigmoid(a @ w.T + v)
            return a

        t0 = time.perf_counter()
        self.forward = jax.jit(forward).lower(self.pi, self.Xi).compile()
        return {"compile_s": time.perf_counter() - t0}

    def infer(self):
        t0, c0 = time.perf_counter(), time.process_time()
        out = self.forward(self.pi, self.Xi)
        out.block_until_ready()
        return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}

    def info(self):
        return {
            "jax": self.jax.__version__,
            "devices": [str(d) for d in self.jax.devices()],
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        }


def serve(threads):
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + ONE_THREAD_FLAGS).strip()
        if hasattr(os, "sched_setaffinity"):  # every thread jax starts inherits it
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    out = sys.stdout
    sys.stdout = sys.stderr  # anything jax prints goes to stderr, the replies alone to stdout
    try:
        peer = Peer()
    except Exception as e:  # noqa: BLE001 (reported to the driver, which skips the column)
        out.write(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"ok": True, **peer.info()}) + "\n")
    out.flush()
    handlers = {
        "setup": peer.setup,
        "order": lambda perm: peer.set_order(perm),
        "epoch": peer.epoch,
        "save": peer.save,
        "infer_setup": peer.infer_setup,
        "infer": peer.infer,
        "info": peer.info,
    }
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req.pop("cmd")
        if cmd == "quit":
            break
        try:
            reply = {"ok": True, **handlers[cmd](**req)}
        except Exception as e:  # noqa: BLE001
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="1: XLA on one thread; 0: its default threads")
    args = ap.parse_args(argv)
    if args.threads not in (0, 1):
        ap.error("--threads: expected 1 (one thread) or 0 (XLA's default)")
    return serve(args.threads)


if __name__ == "__main__":
    sys.exit(main())
