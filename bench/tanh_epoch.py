"""The cost of tanh hidden layers: one SGD epoch of a tanh network, A/B between two builds of fastnn.

    python bench/tanh_epoch.py --builds OLD_DIR NEW_DIR [--repeats 7] [--rows 50000]

Each build directory is put first on PYTHONPATH of a child process (a checkout with its in-place
build, or a copy of the package's parent directory). The children alternate A, B, A, B, ... so that
the load of a shared machine falls on both alike; each child trains every case one epoch to warm
up, then one timed epoch. Printed: the median seconds per case and build, and the ratio NEW / OLD
(issue #23: the accurate tanh must keep the epoch within 2 % of the old one). MNIST's 50,000
training rows when found ($FASTNN_DATA or ~/.fastnn/mnist), else synthetic rows of the same shape.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CASES = [
    ((784, 30, 10), 10, "float64"),
    ((784, 30, 10), 10, "float32"),
    ((784, 100, 10), 10, "float64"),
    ((784, 100, 10), 100, "float64"),
]

CHILD = r"""
import json, sys, time
import numpy as np
import fastnn
from fastnn.data import load_mnist, mnist_available
rows = int(sys.argv[1])
if mnist_available():
    X, y = load_mnist().training
    X, y = X[:rows], y[:rows]
else:
    rng = np.random.default_rng(0)
    X, y = rng.random((rows, 784)), rng.integers(0, 10, rows)
out = {"fastnn": fastnn.__file__, "times": {}}
for sizes, mb, dtype in json.loads(sys.argv[2]):
    Xd = np.ascontiguousarray(X, dtype=dtype)
    net = fastnn.Network(sizes, hidden="tanh", dtype=dtype, seed=0)
    net.SGD((Xd, y), 1, mb, 0.1, 5.0, n_threads=1)  # warm-up
    t0 = time.perf_counter()
    net.SGD((Xd, y), 1, mb, 0.1, 5.0, n_threads=1)
    out["times"][f"{sizes} mb{mb} {dtype}"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def run(build, rows):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(build), PYTHONSAFEPATH="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows), json.dumps(CASES)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builds", nargs=2, metavar=("OLD", "NEW"), required=True)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rows", type=int, default=50_000)
    args = ap.parse_args()
    times = {b: {} for b in args.builds}
    for _ in range(args.repeats):
        for b in args.builds:
            out = run(b, args.rows)
            for case, t in out["times"].items():
                times[b].setdefault(case, []).append(t)
    old, new = args.builds
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.repeats} runs per build, interleaved"
    )
    print(
        f"{'case':32} {'old med':>8} {'new med':>8} {'ratio':>6} {'old min':>8} {'new min':>8} {'ratio':>6}"
    )
    for case in times[old]:
        a, b = statistics.median(times[old][case]), statistics.median(times[new][case])
        a0, b0 = min(times[old][case]), min(times[new][case])
        print(f"{case:32} {a:8.3f} {b:8.3f} {b / a:6.3f} {a0:8.3f} {b0:8.3f} {b0 / a0:6.3f}")
    print()
    # the kernel alone: a hidden layer of 50,000 x 30 weighted inputs (one epoch's forward tanh)
    print("tanh kernel on 50,000 x 30 values (min of 200 calls, ms):")
    for b in args.builds:
        env = dict(os.environ, PYTHONPATH=os.path.abspath(b), PYTHONSAFEPATH="1")
        code = (
            "import time, numpy as np; from fastnn import _core\n"
            "for dt in (np.float64, np.float32):\n"
            "    z = np.random.default_rng(0).normal(0, 2, (50000, 30)).astype(dt); b = np.zeros(30, dt)\n"
            "    best = 1e9\n"
            "    for _ in range(200):\n"
            "        t = time.perf_counter(); _core.kernel_activate(z, b, 'tanh')\n"
            "        best = min(best, time.perf_counter() - t)\n"
            "    print(f'  {np.dtype(dt).name}: {best * 1e3:.3f}', end='')\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        print(f"  {b}:{out.stdout}")


if __name__ == "__main__":
    main()
