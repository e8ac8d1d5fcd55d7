"""Trials per second of one study in PostgreSQL run by 1 and by 4 ``fastnn tune`` worker processes.

Starts a throw-away PostgreSQL server (the tests' ``PostgresServer``, tests/conftest.py: Debian's
``postgresql`` package, run as the ``postgres`` user when root), then, in alternating rounds, runs
``--trials`` trials of the digits (fixed sizes and mini-batch, ``--epochs`` epochs each, no pruning,
no early stopping) in a new study: all by one worker, or a quarter each by four workers started
together. A round's figure is trials / (last trial's end - first trial's start) from the database
(the workers' start-up, ~2 s of imports each, is left out; it is printed apart). Also measured: the
time from SIGKILL of a worker mid-trial to the start of its trial's retry on a worker already running
(heartbeat 1 s, grace 2 s).

    python bench/tune_workers.py [--trials 24] [--epochs 60] [--rounds 3] [--json out.json]
"""

import argparse
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import PostgresServer, fastnn_env  # noqa: E402


def worker(url, study, trials, epochs, seed, *extra):
    d = tempfile.mkdtemp(prefix="fastnn-bench-")
    cmd = [sys.executable, "-m", "fastnn", "tune", "--data", "digits", "--storage", url, "--study", study]
    cmd += f"--trials {trials} --epochs {epochs} --sizes 64,40,10 --batch 10 --early-stopping 100000".split()
    cmd += ["--no-prune", "--seed", str(seed), "--quiet", *extra]
    return subprocess.Popen(
        cmd, cwd=d, env=fastnn_env(d), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(procs):
    for p in procs:
        _, err = p.communicate(timeout=1800)
        if p.returncode:
            sys.exit(f"a worker failed ({p.returncode}):\n{err}")


def span(url, study):
    import optuna

    trials = optuna.load_study(study_name=study, storage=url).trials
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return len(trials), (end - start).total_seconds()


def round_(server, name, n_workers, trials, epochs):
    url = server.create_database(name)
    t0 = time.monotonic()
    finish([worker(url, "s", trials // n_workers, epochs, w) for w in range(n_workers)])
    wall = time.monotonic() - t0
    n, seconds = span(url, "s")
    assert n == trials, (n, trials)
    return n / seconds, wall


def kill_to_retry(server, epochs):
    """Seconds from SIGKILL of a worker mid-trial to its trial's retry starting on a survivor that
    was already running a trial at the kill."""
    import optuna

    url = server.create_database("kill")
    args = ["--heartbeat", "1", "--grace", "2", "--retries", "1"]
    victim = worker(url, "s", 1, epochs * 20, 1, *args)
    first = _wait(url, lambda t: t.state.name == "RUNNING")
    survivor = worker(url, "s", 3, epochs, 2, *args)
    _wait(url, lambda t: t.state.name == "RUNNING" and t.number != first.number)
    victim.send_signal(signal.SIGKILL)
    killed = datetime.datetime.now()
    victim.communicate()
    finish([survivor])
    study = optuna.load_study(study_name="s", storage=url)
    [retry] = [t for t in study.trials if t.system_attrs.get("failed_trial") == first.number]
    return (retry.datetime_start - killed).total_seconds()


def _wait(url, predicate):
    while True:
        found = [t for t in _trials(url) if predicate(t)]
        if found:
            return found[0]
        time.sleep(0.05)


def _trials(url):
    import optuna

    try:
        return optuna.load_study(study_name="s", storage=url).trials
    except KeyError:
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        sys.exit("PostgreSQL not installed (apt-get install postgresql)")
    root = tempfile.mkdtemp(prefix="fastnn-pg-")
    server = PostgresServer(Path(found[-1]).parent, root)
    rates = {1: [], 4: []}
    walls = {1: [], 4: []}
    try:
        for r in range(args.rounds):
            for n in (1, 4):
                rate, wall = round_(server, f"r{r}_w{n}", n, args.trials, args.epochs)
                rates[n].append(rate)
                walls[n].append(wall)
                print(
                    f"round {r}: {n} worker(s): {rate:.2f} trials/s ({wall:.1f} s wall with start-up)",
                    flush=True,
                )
        lag = kill_to_retry(server, args.epochs)
    finally:
        server.stop("immediate")
    if args.rounds:
        m1, m4 = statistics.median(rates[1]), statistics.median(rates[4])
        print(
            f"median: 1 worker {m1:.2f} trials/s, 4 workers {m4:.2f} trials/s: {m4 / m1:.2f}x "
            f"({os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f})"
        )
    print(f"SIGKILL to the retried trial's start: {lag:.2f} s (heartbeat 1 s, grace 2 s)")
    if args.json:
        doc = {
            "trials_per_second": rates,
            "wall_seconds": walls,
            "kill_to_retry_seconds": lag,
            "loadavg": os.getloadavg(),
            "trials": args.trials,
            "epochs": args.epochs,
        }
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
