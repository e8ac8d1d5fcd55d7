"""How far is an epoch from the machine's FLOP limit?  (issue #11)

    env -u OPENBLAS_CORETYPE python bench/flop_limit.py [--repeats 7] [--out bench/results/flop_limit.md]

In one process, on one thread, interleaved round by round: a 1536² numpy matmul (float64 and float32;
OpenBLAS runs near peak there) and one epoch of fastnn on 50,000 MNIST rows for each case, with
fastnn's own kernels and with the BLAS path (bench/_kernel_mode.py: "own" / "blas" for each SGD
call, whatever the import-time choice). Data: compare.load_data ($FASTNN_DATA, else
../shared/data/mnist; synthetic rows of the same shape only with --allow-synthetic).
For each, the best of the rounds. Reported:

    ratio = best epoch time / (GEMM FLOPs the epoch needs / best large-GEMM rate of that dtype)

Beside each case, the floor of this design: the same epoch's products in the own kernels alone
(forward with bias + activation [+ dropout], backward, update with the bias step [+ momentum]), each
kernel called n/m times in one compiled loop on one fixed mini-batch of rows, so the input rows
are in cache and nothing else of the epoch (input streaming, the cost's δ, the shuffle, the
trainer's bookkeeping) takes any time. An epoch cannot be faster than its kernels.

FLOPs counted: forward 2·n·Σ n_in·n_out, weight update the same, δ propagation for every layer but
the first. Options rows (momentum, dropout) are reported as the extra time over the plain epoch.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # _kernel_mode; fastnn itself as installed (or on PYTHONPATH)

from _kernel_mode import kernel_mode  # noqa: E402
from compare import load_data  # noqa: E402

import fastnn  # noqa: E402
from fastnn import _core  # noqa: E402
from fastnn._validation import aligned_copy  # noqa: E402

CASES = [  # (name, sizes, mini-batch, dtype, SGD options, target ratio or None)
    ("[784,30,10] b10 f64", (784, 30, 10), 10, np.float64, {}, 1.25),
    ("[784,30,10] b10 f32", (784, 30, 10), 10, np.float32, {}, 1.25),
    ("[784,100,10] b10 f64", (784, 100, 10), 10, np.float64, {}, 1.12),
    ("[784,100,10] b10 f32", (784, 100, 10), 10, np.float32, {}, 1.12),
    ("[784,30,10] b10 f64 momentum 0.9", (784, 30, 10), 10, np.float64, {"momentum": 0.9}, None),
    ("[784,30,10] b10 f64 dropout 0.5", (784, 30, 10), 10, np.float64, {"dropout": 0.5}, None),
    ("[784,30,10] b100 f64", (784, 30, 10), 100, np.float64, {}, None),
    ("[784,100,10] b100 f32", (784, 100, 10), 100, np.float32, {}, None),
]


def epoch_flops(sizes, n):
    pairs = list(zip(sizes[:-1], sizes[1:]))
    fwd = 2 * n * sum(a * b for a, b in pairs)
    return 2 * fwd + 2 * n * sum(a * b for a, b in pairs[1:])


def kernels_alone(sizes, mb, dt, opts, X, n, clock):
    """A function timing one epoch's worth (n/mb mini-batches) of the own kernels alone (see the
    module docstring): every layer's forward and update, the backward for every layer but the first."""
    rng = np.random.default_rng(2)
    reps = n // mb
    dropout = opts.get("dropout", 0.0)
    mom = "momentum" in opts
    layers = []
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        first = l == 0
        hidden = l < len(sizes) - 2
        layers.append(
            dict(
                A=X if first else aligned_copy(rng.random((mb, n_in)), dt),
                rows=rng.permutation(len(X))[:mb].astype(np.intp) if first else None,
                W=aligned_copy(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), dt),
                b=np.zeros(n_out, dtype=dt),
                VW=aligned_copy(np.zeros((n_out, n_in)), dt) if mom else None,
                Vb=np.zeros(n_out, dtype=dt) if mom else None,
                D=aligned_copy(rng.standard_normal((mb, n_out)) * 0.01, dt),
                drop=dropout if hidden else 0.0,
                first=first,
                mask=aligned_copy((rng.random((mb, n_in)) >= dropout) / (1 - dropout), dt)
                if dropout and not first
                else None,
            )
        )

    def run():
        t = clock()
        for L in layers:
            _core.kernel_forward(L["A"], L["W"], L["b"], rows=L["rows"], m=mb, dropout=L["drop"], repeat=reps)
            if not L["first"]:
                _core.kernel_backward(L["D"], L["W"], L["A"], mask=L["mask"], repeat=reps)
            _core.kernel_update(
                L["W"],
                L["b"],
                L["D"],
                L["A"],
                rows=L["rows"],
                VW=L["VW"],
                Vb=L["Vb"],
                alpha=-1e-9,
                mu=0.9 if mom else 0.0,
                repeat=reps,
            )
        return clock() - t

    return run


def host():
    model = "?"
    flags = set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx512f", "avx2", "fma") if f in flags]
    return (
        f"{platform.node()}: {model}, {os.cpu_count()} logical CPUs, {' '.join(isa)}; "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="rounds (best of; >= 5)")
    ap.add_argument("--out", help="write the markdown table here")
    ap.add_argument("--no-blas", action="store_true", help="skip the BLAS-path epochs")
    ap.add_argument("--cases", help="substring filter on case names")
    ap.add_argument(
        "--allow-synthetic",
        action="store_true",
        help="without MNIST, time synthetic rows of its shape instead of stopping",
    )
    ap.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="wall",
        help="wall: elapsed time (default; the issue's measure, on an idle machine), cpu: this "
        "thread's CPU time (a shared machine's other processes do not count)",
    )
    args = ap.parse_args(argv)
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    from threadpoolctl import threadpool_info, threadpool_limits

    if args.repeats < 5:
        ap.error(f"--repeats: expected >= 5 (best of at least 5), got {args.repeats}")
    try:
        (X64, y), _, _, source = load_data(50_000, args.allow_synthetic)  # MNIST: 64-byte aligned rows
    except FileNotFoundError as e:
        ap.error(str(e))
    X32 = aligned_copy(X64, np.float32)  # what SGD itself would convert to
    cases = [c for c in CASES if not args.cases or args.cases in c[0]]
    modes = ["own"] if args.no_blas or _core.KERNELS["isa"] is None else ["own", "blas"]
    if _core.KERNELS["isa"] is None:
        modes = ["blas"]
    best = {}
    gemm = {np.float64: [], np.float32: []}
    A = {dt: np.random.default_rng(1).random((1536, 1536)).astype(dt) for dt in gemm}
    nets = {}
    alone = {}
    alone_best = {}
    with threadpool_limits(1):
        for dt in gemm:  # warm-up
            A[dt] @ A[dt]
        for _r in range(args.repeats):
            for dt in gemm:
                t = clock()
                A[dt] @ A[dt]
                gemm[dt].append(clock() - t)
            for name, sizes, mb, dt, opts, _ in cases:
                X = X64 if dt == np.float64 else X32
                for mode in modes:
                    key = (name, mode)
                    if key not in nets:
                        nets[key] = fastnn.Network(sizes, dtype=dt, seed=0)
                    net = nets[key]
                    with kernel_mode(mode):  # "own": every layer on fastnn's kernels
                        t = clock()
                        net.SGD((X, y), 1, mb, 0.1, 5.0, n_threads=1, **opts)
                        best.setdefault(key, []).append(clock() - t)
                if "own" in modes:
                    if name not in alone:
                        alone[name] = kernels_alone(sizes, mb, dt, opts, X, len(X64), clock)
                    alone_best.setdefault(name, []).append(alone[name]())
        blas = [
            i.get("internal_api", "?") + " " + i.get("version", "?")
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    rate = {dt: 2 * 1536**3 / min(ts) for dt, ts in gemm.items()}
    lines = [
        "# FLOP limit: fastnn epochs vs the large-GEMM rate "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"- host: {host()}",
        f"- BLAS: {', '.join(blas) or '?'}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; 1 thread",
        f"- fastnn kernels: {_core.KERNELS}",
        f"- data: {source}; best of {args.repeats} rounds, interleaved; clock: "
        f"{'thread CPU time' if args.clock == 'cpu' else 'wall time'}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        f"- 1536² matmul: float64 {rate[np.float64] / 1e9:.1f} GFLOP/s, "
        f"float32 {rate[np.float32] / 1e9:.1f} GFLOP/s",
        "",
        "| case | GFLOP/epoch | own kernels: best s | ratio to FLOP limit | BLAS path: best s | ratio "
        "| own vs BLAS | target | own kernels alone, rows in cache: s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    plain = {}
    for name, sizes, mb, dt, opts, target in cases:
        fl = epoch_flops(sizes, len(X64))
        limit = fl / rate[dt]
        row = [name, f"{fl / 1e9:.2f}"]
        ratios = {}
        for mode in ("own", "blas"):
            ts = best.get((name, mode))
            if ts:
                ratios[mode] = min(ts) / limit
                row += [f"{min(ts):.4f}", f"{ratios[mode]:.2f}×"]
            else:
                row += ["–", "–"]
        row.append(
            f"{min(best[(name, 'blas')]) / min(best[(name, 'own')]):.2f}× faster"
            if "own" in ratios and "blas" in ratios
            else "–"
        )
        if not opts:
            plain[(sizes, mb, dt)] = {m: min(best[(name, m)]) for m in modes}
        if target is not None and "own" in ratios:
            row.append(f"≤ {target}× — {'met' if ratios['own'] <= target else 'NOT met'}")
        elif opts and (sizes, mb, dt) in plain and "own" in ratios:
            extra = min(best[(name, "own")]) / plain[(sizes, mb, dt)]["own"] - 1
            row.append(f"+{100 * extra:.0f} % over plain (≤ +10 %) — {'met' if extra <= 0.10 else 'NOT met'}")
        else:
            row.append("")
        if name in alone_best:
            row += [f"{min(alone_best[name]):.4f}", f"{min(alone_best[name]) / limit:.2f}×"]
        else:
            row += ["–", "–"]
        lines.append("| " + " | ".join(row) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
