#!/usr/bin/env python
"""Count heap allocations made inside fastnn's mini-batch loop (expected: zero).

    python bench/alloc_check.py

Builds a tiny LD_PRELOAD library that counts every malloc/calloc/realloc/posix_memalign/
aligned_alloc call in the process (C, Cython, numpy, OpenBLAS alike), then re-runs this script
under it. One compiled ``Trainer.train`` call is timed for 1 mini-batch and for 5,000 mini-batches
of [784, 30, 10] (and the dropout + momentum variant; each also on a team of 2 threads, which is
created once per call), and for 1 and 400 mini-batches of 100 rows of [784, 800, 10] (its first
layer on the packed product, one thread and a team of 2; over dense inputs and over inputs with
zero columns, which it skips), and [784, 30, 10] over those inputs too (the own kernels leave
their zero vectors out); any allocation per mini-batch would show up as a difference of thousands
between the two counts. Also prints Python-level allocations seen by tracemalloc in the same
window.
"""

import ctypes
import os
import subprocess
import sys
import tempfile
import tracemalloc

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
static long count = 0;
static void *(*real_malloc)(size_t) = 0;
static void *(*real_calloc)(size_t, size_t) = 0;
static void *(*real_realloc)(void *, size_t) = 0;
static int (*real_memalign)(void **, size_t, size_t) = 0;
static void *(*real_aligned)(size_t, size_t) = 0;
static char boot[4096]; static size_t boot_used = 0;   /* dlsym's own calloc before we are set up */
long fnn_alloc_count(void) { return count; }
void *malloc(size_t n) {
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    count++; return real_malloc(n);
}
void *calloc(size_t a, size_t b) {
    if (!real_calloc) {
        if (boot_used + a * b > sizeof boot) return 0;
        void *p = boot + boot_used; boot_used += (a * b + 15) & ~(size_t)15;
        real_calloc = dlsym(RTLD_NEXT, "calloc");
        return p;
    }
    count++; return real_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc");
    count++; return real_realloc(p, n);
}
int posix_memalign(void **p, size_t a, size_t n) {
    if (!real_memalign) real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    count++; return real_memalign(p, a, n);
}
void *aligned_alloc(size_t a, size_t n) {
    if (!real_aligned) real_aligned = dlsym(RTLD_NEXT, "aligned_alloc");
    count++; return real_aligned(a, n);
}
"""


def build_shim():
    d = tempfile.mkdtemp(prefix="fastnn-alloc-")
    src, lib = os.path.join(d, "shim.c"), os.path.join(d, "libcount.so")
    with open(src, "w") as f:
        f.write(SHIM)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", src, "-o", lib, "-ldl"], check=True)
    return lib


def measure():
    import numpy as np
    from threadpoolctl import threadpool_limits

    from fastnn import Network, _core, _state

    count = ctypes.CDLL(None).fnn_alloc_count
    count.restype = ctypes.c_long
    rng = np.random.default_rng(0)
    n, B = 50_000, 10
    X = rng.random((n, 784))  # numpy's allocation: rows 16 bytes off a 64-byte line (staged)
    print(f"X starts {X.ctypes.data % 64} bytes after a 64-byte line")
    y = rng.integers(0, 10, n).astype(np.intp)
    Xz = X.copy()
    Xz[:, :200] = 0  # columns zero in every row: skipped (packed product: rows compacted; own
    # kernels: their vectors left out)
    for label, kw, T, sizes, B, long, *data in (
        ("plain SGD + L2", {}, 1, [784, 30, 10], 10, 5000),
        ("dropout 0.5 + momentum 0.9", dict(momentum=0.9), 1, [784, 30, 10], 10, 5000),
        ("plain SGD + L2, 2 threads", {}, 2, [784, 30, 10], 10, 5000),
        ("dropout+momentum, 2 threads", dict(momentum=0.9), 2, [784, 30, 10], 10, 5000),
        # the first layer on the packed product (csrc/gemm.h)
        ("[784,800,10] mb 100", {}, 1, [784, 800, 10], 100, 400),
        ("[784,800,10] mb 100, 2 thr", dict(momentum=0.9), 2, [784, 800, 10], 100, 400),
        # ... over inputs with zero columns (skipped)
        ("[784,800,10] zero columns", {}, 1, [784, 800, 10], 100, 400, Xz),
        ("[784,800,10] zero cols, 2 thr", dict(momentum=0.9), 2, [784, 800, 10], 100, 400, Xz),
        # the own kernels without the zero input vectors (mini-batches of 10)
        ("[784,30,10] zero columns", {}, 1, [784, 30, 10], 10, 5000, Xz),
        ("[784,30,10] zero cols, 2 thr", dict(momentum=0.9), 2, [784, 30, 10], 10, 5000, Xz),
    ):
        net = Network(sizes, seed=0)
        lay, params = _state.layout(net), _state.parameters(net)
        velocity = np.zeros_like(params) if kw else None
        trainer = _core.Trainer(lay, params, B, velocity, 0.5 if kw else 0.0, 1, n_threads=T)
        t = _core.Targets(lay, y, None, n)
        perm = rng.permutation(n).astype(np.intp)
        trainer.begin(data[0] if data else X, t, perm, 5.0, n, "l2", **kw)
        with threadpool_limits(1):
            trainer.train(0, 1, 0.1)  # warm up BLAS buffers
            results = []
            for batches in (1, long):
                tracemalloc.start()
                before = count()
                trainer.train(0, batches, 0.1)
                after = count()
                py = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                results.append((batches, after - before, py))
        for batches, c, py in results:
            print(
                f"{label:28s} {batches:5d} mini-batches in one call: {c:4d} heap allocations "
                f"(peak Python-traced {py} bytes)"
            )
        per_batch = (results[1][1] - results[0][1]) / (results[1][0] - results[0][0])
        print(
            f"{label:28s} => {per_batch:.4f} allocations per mini-batch"
            f"{' (rows staged to 64-byte lines)' if trainer.staged else ''}"
        )


if __name__ == "__main__":
    if os.environ.get("FASTNN_ALLOC_CHILD") == "1":
        measure()
    else:
        lib = build_shim()
        env = dict(os.environ, LD_PRELOAD=lib, FASTNN_ALLOC_CHILD="1")
        sys.exit(subprocess.run([sys.executable, __file__], env=env).returncode)
