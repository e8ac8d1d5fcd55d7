#!/usr/bin/env python
"""Peak memory of a full MNIST training run against the size of the data itself.

    python bench/memory.py [--epochs 30] [--sizes 784,30,10] [--dtype float64] [--data-dir DIR]

Runs the training in a fresh subprocess (so nothing else inflates its peak): load MNIST, train
``--epochs`` epochs with mini-batch 10, η = 0.5, λ = 5.0, monitoring the validation accuracy each
epoch (as the book's runs do), then report the peak RSS (``ru_maxrss``), the data's own size
(every X and y array's nbytes), and the RSS of the interpreter with fastnn imported before any data
was loaded. Target (performance issue): peak ≤ data + 60 MB.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import numpy as np
import fastnn
from fastnn.data import load_mnist
baseline = rss_mb()
args = json.loads(sys.argv[1])
ds = load_mnist(args["data_dir"], dtype=args["dtype"])
data = sum(a.nbytes for part in ds for a in part) / 2**20
after_load = rss_mb()
(X, y), (Xv, yv), _ = ds
net = fastnn.Network(args["sizes"], seed=0, dtype=args["dtype"])
t = time.perf_counter()
net.SGD((X, y), args["epochs"], 10, 0.5, 5.0, evaluation_data=(Xv, yv),
        monitor_evaluation_accuracy=True)
seconds = time.perf_counter() - t
print(json.dumps(dict(baseline=baseline, data=data, after_load=after_load, peak=rss_mb(),
                      seconds=seconds, accuracy=net.history.records[-1].evaluation_fraction)))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--sizes", default="784,30,10")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument(
        "--data-dir",
        default=os.environ.get("FASTNN_DATA", os.path.join(here, "..", "..", "shared", "data", "mnist")),
    )
    a = ap.parse_args(argv)
    spec = dict(
        epochs=a.epochs, sizes=[int(s) for s in a.sizes.split(",")], dtype=a.dtype, data_dir=a.data_dir
    )
    spec["data_dir"] = os.path.abspath(spec["data_dir"])
    # run from a neutral directory so `import fastnn` finds the installed package, not the source
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    if out.returncode:
        sys.stderr.write(out.stderr)
        return out.returncode
    r = json.loads(out.stdout.strip().splitlines()[-1])
    over = r["peak"] - r["data"]
    print(
        f"{a.epochs} epochs of {spec['sizes']} ({a.dtype}) on MNIST in {r['seconds']:.1f} s, "
        f"final validation accuracy {100 * r['accuracy']:.2f} %"
    )
    print(f"interpreter + numpy + scipy BLAS + fastnn before loading: {r['baseline']:.1f} MB")
    print(f"data (X and y arrays): {r['data']:.1f} MB; RSS after loading: {r['after_load']:.1f} MB")
    print(
        f"peak RSS: {r['peak']:.1f} MB = data + {over:.1f} MB "
        f"(target data + 60 MB: {'met' if over <= 60 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
