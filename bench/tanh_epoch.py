"""The cost of tanh hidden layers: one SGD epoch of a tanh network, A/B between two builds of fastnn.

    python bench/tanh_epoch.py --builds OLD_DIR NEW_DIR [--repeats 7] [--rows 50000] [--kernel-calls 200]
                               [--clock wall|cpu]

Each build directory is put first on PYTHONPATH of a child process (a checkout with its in-place
build, or a copy of the package's parent directory). The children alternate A, B, A, B, ... so that
the load of a shared machine falls on both alike; each child trains every case one epoch to warm
up, then one timed epoch. Printed: the median seconds per case and build, and the ratio NEW / OLD
(issue #23: the accurate tanh must keep the epoch within 2 % of the old one). MNIST's 50,000
training rows ($FASTNN_DATA or ~/.fastnn/mnist); without them the children stop with exit status 2
unless --allow-synthetic (random rows of MNIST's shape). Then the tanh kernel alone, on --rows x 30
normal values (sd 2), the minimum of --kernel-calls calls per build and dtype. The load average is
printed before and after: quote it beside the figures. --clock cpu times with the child's CPU time
(time.process_time; the children train on one thread) instead of the wall clock: on a loaded machine
the wall clock counts the time a child waits for a core, the CPU time much less of it.
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
from fastnn.data import find_mnist, load_mnist
rows, allow_synthetic = int(sys.argv[1]), sys.argv[3] == "1"
clock = time.process_time if sys.argv[4] == "cpu" else time.perf_counter
try:
    found, reason = find_mnist()
except FileNotFoundError as e:  # $FASTNN_DATA names no directory
    found, reason = None, str(e)
if found is not None:
    X, y = load_mnist(found).training
    X, y = X[:rows], y[:rows]
    data = f"MNIST ({len(X):,} rows)"
elif allow_synthetic:
    rng = np.random.default_rng(0)
    X, y = rng.random((rows, 784)), rng.integers(0, 10, rows)
    data = f"SYNTHETIC rows ({rows:,}; MNIST not found)"
else:
    print(f"MNIST not found: {reason}\npass --allow-synthetic to time random rows", file=sys.stderr)
    sys.exit(2)
out = {"fastnn": fastnn.__file__, "data": data, "times": {}}
for sizes, mb, dtype in json.loads(sys.argv[2]):
    Xd = np.ascontiguousarray(X, dtype=dtype)
    net = fastnn.Network(sizes, hidden="tanh", dtype=dtype, seed=0)
    net.SGD((Xd, y), 1, mb, 0.1, 5.0, n_threads=1)  # warm-up
    t0 = clock()
    net.SGD((Xd, y), 1, mb, 0.1, 5.0, n_threads=1)
    out["times"][f"{sizes} mb{mb} {dtype}"] = clock() - t0
print(json.dumps(out))
"""


KERNEL = r"""
import sys, time, numpy as np
from fastnn import _core
rows, calls = int(sys.argv[1]), int(sys.argv[2])
clock = time.process_time if sys.argv[3] == "cpu" else time.perf_counter
for dt in (np.float64, np.float32):
    z = np.random.default_rng(0).normal(0, 2, (rows, 30)).astype(dt)
    b = np.zeros(30, dt)
    best = 1e9
    for _ in range(calls):
        t = clock()
        _core.kernel_activate(z, b, "tanh")
        best = min(best, clock() - t)
    print(np.dtype(dt).name, best * 1e3)
"""


def child(build, code, *args):
    """Run `code` in a child whose fastnn is the build's; its stdout, or exit with its error."""
    env = dict(os.environ, PYTHONPATH=os.path.abspath(build), PYTHONSAFEPATH="1", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(proc.returncode if proc.returncode in (1, 2) else 1)
    return proc.stdout


def load_average():
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builds", nargs=2, metavar=("OLD", "NEW"), required=True)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--kernel-calls", type=int, default=200, help="calls of the kernel alone per build")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall clock or CPU time")
    ap.add_argument("--allow-synthetic", action="store_true", help="random rows when MNIST is not found")
    args = ap.parse_args()
    for name in ("repeats", "rows", "kernel_calls"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    print(f"start: {load_average()}")
    times = {b: {} for b in args.builds}
    for _ in range(args.repeats):
        for b in args.builds:
            out = json.loads(
                child(b, CHILD, str(args.rows), json.dumps(CASES), str(int(args.allow_synthetic)), args.clock)
            )
            for case, t in out["times"].items():
                times[b].setdefault(case, []).append(t)
    old, new = args.builds
    print(
        f"end of the epochs: {load_average()}; {args.repeats} runs per build, interleaved; "
        f"{out['data']}; {args.clock} clock"
    )
    print(
        f"{'case':32} {'old med':>8} {'new med':>8} {'ratio':>6} {'old min':>8} {'new min':>8} {'ratio':>6}"
    )
    for case in times[old]:
        a, b = statistics.median(times[old][case]), statistics.median(times[new][case])
        a0, b0 = min(times[old][case]), min(times[new][case])
        print(f"{case:32} {a:8.3f} {b:8.3f} {b / a:6.3f} {a0:8.3f} {b0:8.3f} {b0 / a0:6.3f}")
    print()
    # the kernel alone: a hidden layer of ROWS x 30 weighted inputs (one epoch's forward tanh)
    print(
        f"tanh kernel on {args.rows:,} x 30 values "
        f"(min of {args.kernel_calls} calls, ms, {args.clock} clock):"
    )
    ms = {}
    for b in args.builds:
        for line in child(b, KERNEL, str(args.rows), str(args.kernel_calls), args.clock).split("\n"):
            if line.strip():
                dt, t = line.split()
                ms.setdefault(dt, []).append(float(t))
    for dt, (a, b) in ms.items():
        print(f"  {dt}: old {a:.3f}  new {b:.3f}  new / old {b / a:.3f}")
    print(f"end: {load_average()}")


if __name__ == "__main__":
    main()
