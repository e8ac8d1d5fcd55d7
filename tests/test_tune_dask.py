"""Trials of a search on a Dask cluster (slow): ``tune(..., dask_client=...)`` and ``fastnn tune
--dask ADDRESS`` on a ``dask.distributed.LocalCluster`` of two worker processes, with the study in the
scheduler's memory (optuna-integration's DaskStorage) or in a PostgreSQL database."""

import json
import re

import pytest
from conftest import run_fastnn

optuna = pytest.importorskip("optuna")
distributed = pytest.importorskip("dask.distributed")
pytest.importorskip("optuna_integration")

pytestmark = pytest.mark.slow

#: A fixed set of trials: the same best trial wherever they run (a trial's seed is its number's).
ENQUEUED = [
    {"eta": eta, "lmbda": lmbda, "mini_batch_size": 10, "momentum": 0.0, "width": width}
    for eta, lmbda, width in [
        (0.1, 0.1, 10),
        (1.0, 0.5, 30),
        (3.0, 0.1, 20),
        (0.3, 1.0, 40),
        (8.0, 3.0, 10),
        (0.5, 0.01, 60),
    ]
]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


@pytest.fixture
def client(cluster):
    with distributed.Client(cluster) as client:
        yield client


def _search(digits, **options):
    from fastnn.tune import Search

    search = Search(
        digits.training, digits.validation, n_trials=len(ENQUEUED), epochs=6, seed=3, pruner="none", **options
    )
    for params in ENQUEUED:
        search.study.enqueue_trial(params)
    search.run()
    return search


def _summary(study):
    return sorted((t.number, t.state.name, t.value, tuple(sorted(t.params.items()))) for t in study.trials)


def test_trials_on_a_local_cluster_match_the_local_run(digits, client):
    local = _search(digits)
    seen = []
    dask = _search(digits, dask_client=client, callbacks=[lambda study, t: seen.append(t.number)])
    assert _summary(dask.study) == _summary(local.study)
    assert dask.study.best_trial.number == local.study.best_trial.number
    assert dask.study.best_trial.params == local.study.best_trial.params
    assert sorted(seen) == list(range(len(ENQUEUED)))  # every trial reported once to the callbacks
    # the trials ran in both worker processes, not here
    pids = set(client.run(lambda: __import__("os").getpid()).values())
    ran_in = {int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in dask.study.trials}
    assert ran_in == pids and len(pids) == 2
    # the best network came back from its worker: the same as the local run's
    number, value, net = dask.best_network
    assert number == local.best_network[0] and value == local.best_network[1]
    assert (net.weights[0] == local.best_network[2].weights[0]).all()
    assert type(dask.study._storage).__name__ == "DaskStorage"  # no storage given: the scheduler's


def test_trials_on_a_local_cluster_with_a_postgres_study(digits, client, postgres_url, postgres_server):
    local = _search(digits)
    dask = _search(digits, dask_client=client, storage=postgres_url, study_name="d", heartbeat=5)
    stored = optuna.load_study(study_name="d", storage=postgres_url)
    assert _summary(stored) == _summary(local.study)
    assert len({t.user_attrs["worker"] for t in stored.trials}) == 2
    assert dask.study.best_trial.number == local.study.best_trial.number


def test_cli_tune_on_a_dask_scheduler(tmp_path, cluster):
    r = run_fastnn(
        tmp_path,
        *"tune --data digits --trials 4 --epochs 3 --seed 0 --json t.json --save best.json --dask".split(),
        cluster.scheduler_address,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert f"on the Dask cluster at {cluster.scheduler_address}" in r.stdout
    assert sorted(int(k) for k in re.findall(r"^trial +(\d+)  ", r.stdout, re.M)) == [0, 1, 2, 3]
    assert "retraining" not in r.stdout  # the best network came back from the worker that trained it
    doc = json.loads((tmp_path / "t.json").read_text())
    assert len(doc["trials"]) == 4 and len({t["worker"] for t in doc["trials"]}) == 2
    import fastnn

    assert fastnn.load(str(tmp_path / "best.json")).sizes[0] == 64


def test_cli_dask_unreachable_and_jobs(tmp_path):
    quick = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}  # the default is 30 s
    r = run_fastnn(tmp_path, *"tune --data digits --trials 1 --dask tcp://127.0.0.1:9".split(), **quick)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("fastnn: error: --dask tcp://127.0.0.1:9: cannot reach the scheduler")
    r = run_fastnn(tmp_path, *"tune --data digits --trials 1 --jobs 2 --dask tcp://127.0.0.1:9".split())
    assert r.returncode == 2 and "--jobs 2: not used with --dask" in r.stderr


def test_cli_ctrl_c_stops_the_trials_on_the_workers(tmp_path, cluster):
    """Ctrl-C in the client: no new trial, the running ones stop at the end of their epoch on the
    workers (a distributed.Event), the finished ones are kept and reported."""
    import signal
    import time

    from conftest import start_fastnn

    options = (
        "tune --data digits --trials 1000 --epochs 2000 --early-stopping 100000 --no-prune --json t.json"
    )
    p = start_fastnn(tmp_path, *options.split(), "--dask", cluster.scheduler_address)
    lines = []
    while not any(line.startswith("fastnn: study '") for line in lines):  # the search has started
        line = p.stdout.readline()
        assert line, "".join(lines) + p.stderr.read()
        lines.append(line)
    time.sleep(3)  # trials running on both workers
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, "".join(lines) + out + err
    assert "interrupted: finished trials kept" in err
    doc = json.loads((tmp_path / "t.json").read_text())
    states = [t["state"] for t in doc["trials"]]
    assert "RUNNING" not in states and len(states) < 20
    stopped = [t for t in doc["trials"] if (t["fail_reason"] or "").startswith("interrupted after epoch")]
    assert stopped and all(t["epochs"] < 2000 for t in stopped)
