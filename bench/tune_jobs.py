"""Trials per second of ``fastnn.tune`` with 1 and with 2 jobs (threads) on MNIST [784,30,10].

A fixed list of trials (``study.enqueue_trial``: the same η values every run, mini-batch 10, λ 5.0),
a fixed number of epochs per trial (no early stopping, no pruning), validation accuracy after every
epoch as in a real search. Rounds alternate 1 job / 2 jobs so both see the same machine load;
the script prints every round, the medians and their ratio, and — as the ceiling on this machine at
this moment — the same two trainings run back to back vs in two plain threads.

    python bench/tune_jobs.py [--trials 8] [--epochs 2] [--rounds 3] [--json out.json]

Data: MNIST from $FASTNN_DATA or ../shared/data/mnist (synthetic data of the same shape otherwise,
see compare.load_data).
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import load_data


def run_search(train, val, n_trials, epochs, n_jobs):
    """(seconds, cores busy on average: process CPU time / wall time) for one search of n_trials
    enqueued trials."""
    import optuna

    from fastnn.tune import Search

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    search = Search(
        train,
        val,
        sizes=[784, 30, 10],
        n_trials=n_trials,
        n_jobs=n_jobs,
        epochs=epochs,
        seed=0,
        pruner="none",
        space={"eta": (0.01, 10.0, "log")},
        mini_batch_size=10,
        lmbda=5.0,
        momentum=0.0,
        early_stopping=10**6,
    )
    for k in range(n_trials):
        search.study.enqueue_trial({"eta": 0.1 + 0.05 * k})
    t0, c0 = time.perf_counter(), time.process_time()
    study = search.run()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert len(study.trials) == n_trials and all(t.state.name == "COMPLETE" for t in study.trials)
    assert all(t.user_attrs["epochs"] == epochs for t in study.trials)
    return seconds, cpu / seconds


def run_plain(train, epochs, threads):
    """Seconds for two plain SGD calls, one after the other (threads=False) or in two threads."""
    import fastnn

    nets = [fastnn.Network([784, 30, 10], seed=k) for k in range(2)]

    def job(net):
        net.SGD(train, epochs, 10, 0.5, lmbda=5.0, n_threads=1)

    t0 = time.perf_counter()
    if threads:
        ts = [threading.Thread(target=job, args=(n,)) for n in nets]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    else:
        for n in nets:
            job(n)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)

    train, val, _, source = load_data(50_000)
    print(
        f"data: {source}; {args.trials} trials x {args.epochs} epoch(s), [784,30,10], "
        f"mini-batch 10; load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs",
        flush=True,
    )
    run_search(train, val, 2, 1, 1)  # warm-up
    times = {1: [], 2: []}
    cores = {1: [], 2: []}
    plain = {False: [], True: []}
    for r in range(args.rounds):
        for jobs in (1, 2):
            s, busy = run_search(train, val, args.trials, args.epochs, jobs)
            times[jobs].append(s)
            cores[jobs].append(busy)
            print(
                f"round {r + 1}: {jobs} job(s): {s:.2f} s = {args.trials / s:.3f} trials/s, "
                f"{busy:.2f} cores busy (load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
        for threads in (False, True):
            plain[threads].append(run_plain(train, args.epochs, threads))
    med = {j: statistics.median(v) for j, v in times.items()}
    ratio = med[1] / med[2]
    plain_ratio = statistics.median(plain[False]) / statistics.median(plain[True])
    print(
        f"median: 1 job {args.trials / med[1]:.3f} trials/s, 2 jobs {args.trials / med[2]:.3f} "
        f"trials/s: {ratio:.2f}x; cores busy {statistics.median(cores[1]):.2f} vs "
        f"{statistics.median(cores[2]):.2f}"
    )
    print(
        f"two plain SGD calls in two threads vs one after the other, same rounds: "
        f"{plain_ratio:.2f}x (the ceiling on this machine now)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "trials": args.trials,
                    "epochs": args.epochs,
                    "rounds": args.rounds,
                    "source": source,
                    "seconds": {str(k): v for k, v in times.items()},
                    "cores_busy": {str(k): v for k, v in cores.items()},
                    "plain_seconds": {"sequential": plain[False], "threads": plain[True]},
                    "speedup_2_jobs": ratio,
                    "speedup_plain_threads": plain_ratio,
                },
                indent=1,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
