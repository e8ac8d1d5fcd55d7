"""What the training kernel's label/perm bounds checks and the per-call label copy cost (issue #10).

    python bench/index_checks.py [--rounds 7] [--sizes 784,30,10] [--mb 10] [--dtype float64]

One run, one process: epochs alternate between checks on and off (``fastnn._core._set_index_checks``)
so that both see the same machine load; prints the median epoch time of each, their ratio, and the
time of building ``Targets`` (which copies the labels, n x 8 bytes) next to the epoch. Uses MNIST
when ``$FASTNN_DATA`` or ~/.fastnn/mnist has it, else 50,000 synthetic rows of the same shape.
"""

import argparse
import statistics
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--sizes", default="784,30,10")
    ap.add_argument("--mb", type=int, default=10)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    args = ap.parse_args()
    import fastnn
    from fastnn import _core, _state
    from fastnn.data import load_mnist, mnist_available

    sizes = [int(s) for s in args.sizes.split(",")]
    dtype = np.dtype(args.dtype)
    if mnist_available() and sizes[0] == 784:
        X, y = load_mnist(dtype=dtype).training
        source = "MNIST"
    else:
        rng = np.random.default_rng(0)
        X = rng.random((50000, sizes[0])).astype(dtype)
        y = rng.integers(0, sizes[-1], len(X))
        source = "synthetic"
    net = fastnn.Network(sizes, dtype=dtype, seed=0)
    times = {True: [], False: []}
    net.SGD((X, y), 1, args.mb, 0.5, 5.0, n_threads=1)  # warm-up
    for r in range(args.rounds):
        for on in (True, False) if r % 2 == 0 else (False, True):
            _core._set_index_checks(on)
            t0 = time.perf_counter()
            net.SGD((X, y), 1, args.mb, 0.5, 5.0, n_threads=1)
            times[on].append(time.perf_counter() - t0)
    _core._set_index_checks(True)
    labels = np.ascontiguousarray(y, dtype=np.intp)
    copies = []
    for _ in range(max(args.rounds, 20)):
        t0 = time.perf_counter()
        _core.Targets(_state.layout(net), labels, None, len(labels))
        copies.append(time.perf_counter() - t0)
    on, off, cp = (statistics.median(times[True]), statistics.median(times[False]), statistics.median(copies))
    print(
        f"{source} {len(X):,} rows, sizes {sizes}, mini-batch {args.mb}, {dtype.name}, "
        f"{args.rounds} rounds each (interleaved)"
    )
    print(
        f"epoch median, checks on : {on * 1000:8.1f} ms   {sorted(round(t * 1000, 1) for t in times[True])}"
    )
    print(
        f"epoch median, checks off: {off * 1000:8.1f} ms   {sorted(round(t * 1000, 1) for t in times[False])}"
    )
    print(f"checks cost: {100 * (on - off) / off:+.2f} % of the epoch median")
    print(f"Targets (label copy + check) median: {cp * 1000:.2f} ms = {100 * cp / on:.2f} % of an epoch")


if __name__ == "__main__":
    main()
