"""GFLOP/s of each of fastnn's own small-matrix kernels, per ISA path, on the chapter's shapes.

    env -u OPENBLAS_CORETYPE python bench/kernels.py [--repeat 2000] [--rounds 5]

Each kernel runs `repeat` times inside one compiled call (no Python in between); best of `rounds`,
interleaved across ISA paths. FLOPs: forward and update 2·m·n_in·n_out, backward the same.
The forward kernel includes bias + sigmoid; the update includes the bias step (counted as GEMM
FLOPs only). The first layer's forward/update read rows of a 50,000-row X through a random
permutation, as in training, but the same m rows in every call: they are in cache after the first
(in training the rows come from memory, prefetched; bench/flop_limit.py times whole epochs).
"""

import argparse
import time

import numpy as np

from fastnn import _core
from fastnn._validation import aligned_copy

SHAPES = [  # (label, m, n_in, n_out, first layer?)
    ("784→30 b10", 10, 784, 30, True),
    ("30→10 b10", 10, 30, 10, False),
    ("784→100 b10", 10, 784, 100, True),
    ("100→10 b10", 10, 100, 10, False),
    ("784→30 b100", 100, 784, 30, True),
]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--isa", nargs="*", default=list(_core.KERNELS["available"]))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print("| kernel | shape | dtype | " + " | ".join(f"{i} GFLOP/s" for i in args.isa) + " |")
    print("|---|---|---|" + "---:|" * len(args.isa))
    for dt in (np.float64, np.float32):
        X = aligned_copy(rng.random((50_000, 784)), dt)  # 64-byte aligned rows, as in training
        for label, m, n_in, n_out, first in SHAPES:
            W = aligned_copy(rng.standard_normal((n_out, n_in)) * 0.05, dt)  # as a network's W¹
            b = np.zeros(n_out, dtype=dt)
            A = X if first else rng.random((m, n_in)).astype(dt)
            rows = rng.permutation(len(X))[:m].astype(np.intp) if first else None
            D = (rng.standard_normal((m, n_out)) * 0.01).astype(dt)
            Ap = rng.random((m, n_in)).astype(dt)
            flops = 2 * m * n_in * n_out * args.repeat
            kinds = {
                "forward": lambda isa: _core.kernel_forward(
                    A, W, b, rows=rows, m=m, isa=isa, repeat=args.repeat
                ),
                "update": lambda isa: _core.kernel_update(
                    W, b, D, A, rows=rows, alpha=-1e-9, isa=isa, repeat=args.repeat
                ),
            }
            if not first:
                kinds["backward"] = lambda isa: _core.kernel_backward(D, W, Ap, isa=isa, repeat=args.repeat)
            for kind, fn in kinds.items():
                best = {isa: np.inf for isa in args.isa}
                for _ in range(args.rounds):
                    for isa in args.isa:
                        t = time.thread_time()
                        fn(isa)
                        best[isa] = min(best[isa], time.thread_time() - t)
                print(
                    f"| {kind} | {label} | {np.dtype(dt).name} | "
                    + " | ".join(f"{flops / best[i] / 1e9:.1f}" for i in args.isa)
                    + " |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
