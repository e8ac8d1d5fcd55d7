"""Searches beyond one process (slow): two `fastnn tune` processes on one Optuna storage, and
scikit-learn's GridSearchCV on a real dask.distributed LocalCluster."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import fastnn_env, run_fastnn, start_fastnn

optuna = pytest.importorskip("optuna")

pytestmark = pytest.mark.slow
TRIAL_LINE = re.compile(r"^trial +(\d+)  ", re.M)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_two_processes_share_one_study(tmp_path, kind):
    url = f"sqlite:///{tmp_path / 'study.db'}" if kind == "sqlite" else f"journal:{tmp_path / 'study.log'}"
    n = 8
    procs = [
        start_fastnn(
            tmp_path,
            "tune",
            "--data",
            "digits",
            "--trials",
            str(n),
            "--epochs",
            "10",
            "--storage",
            url,
            "--study",
            "shared",
            "--seed",
            str(seed),
            "--json",
            f"p{seed}.json",
        )
        for seed in (1, 2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    mine = [sorted(int(k) for k in TRIAL_LINE.findall(out)) for out, _ in outs]
    assert len(mine[0]) == len(mine[1]) == n and not set(mine[0]) & set(mine[1])

    storage = (
        url
        if kind == "sqlite"
        else optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(tmp_path / "study.log"))
        )
    )
    study = optuna.load_study(study_name="shared", storage=storage)
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(2 * n)) == sorted(mine[0] + mine[1])  # none lost/doubled
    assert all(t.state.name in ("COMPLETE", "PRUNED", "FAIL") for t in study.trials)
    assert all(t.value is not None for t in study.trials if t.state.name == "COMPLETE")
    # each process' JSON holds the whole study as it saw it at its end; the later one holds all
    docs = [json.loads((tmp_path / f"p{s}.json").read_text()) for s in (1, 2)]
    assert max(len(d["trials"]) for d in docs) == 2 * n

    # a third process saves the best trial, which ran in another process: retrained, same network
    r = run_fastnn(
        tmp_path,
        *"tune --data digits --trials 1 --epochs 1 --storage".split(),
        url,
        *"--study shared --save best.json".split(),
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    study = optuna.load_study(study_name="shared", storage=storage)
    best = study.best_trial
    assert best.number < 2 * n and f"retraining trial {best.number}" in r.stdout
    import fastnn
    from fastnn.data import load_digits

    net = fastnn.load(str(tmp_path / "best.json"))
    Xv, yv = load_digits().validation
    assert net.accuracy(Xv, yv) / len(yv) == pytest.approx(best.value)


def test_grid_search_on_a_dask_cluster_matches_one_job(digits):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_backend
    from sklearn.model_selection import GridSearchCV

    from fastnn.sklearn import NetworkClassifier

    X, y = digits.training
    grid = {"eta": [0.1, 1.0], "hidden_layer_sizes": [(10,), (30,)], "lmbda": [0.0, 1.0]}

    def search(n_jobs):
        return GridSearchCV(NetworkClassifier(epochs=8, random_state=0), grid, cv=3, n_jobs=n_jobs).fit(X, y)

    one = search(1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        with parallel_backend("dask"):
            dask = search(-1)
        ran_on = client.run(lambda: __import__("os").getpid())
    assert len(ran_on) == 2
    assert dask.best_params_ == one.best_params_
    np.testing.assert_allclose(
        dask.cv_results_["mean_test_score"], one.cv_results_["mean_test_score"], rtol=0, atol=1e-12
    )
    assert dask.best_score_ > 0.9


def test_bench_script_runs(tmp_path):
    """bench/tune_jobs.py (the README's 1-vs-2-jobs figure) keeps working; tiny settings."""
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[1] / "bench" / "tune_jobs.py"
    env = fastnn_env(tmp_path)
    env.pop("FASTNN_DATA")  # MNIST if shared, else synthetic
    r = subprocess.run(
        [
            sys.executable,
            str(script),
            "--trials",
            "2",
            "--epochs",
            "1",
            "--rounds",
            "1",
            "--json",
            str(tmp_path / "b.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert re.search(r"median: 1 job [0-9.]+ trials/s, 2 jobs [0-9.]+ trials/s: [0-9.]+x", r.stdout)
    doc = json.loads((tmp_path / "b.json").read_text())
    assert len(doc["seconds"]["1"]) == len(doc["seconds"]["2"]) == 1 and doc["speedup_2_jobs"] > 0


def test_cli_plots(tmp_path):
    """--plot DIR: Optuna's history, importances and slice plots as PNGs (slow: matplotlib, fANOVA)."""
    from test_cli import _has_matplotlib

    if not _has_matplotlib():
        pytest.skip("matplotlib not installed")
    r = run_fastnn(
        tmp_path, *"tune --data digits --trials 6 --epochs 5 --seed 0 --plot plots".split(), timeout=600
    )
    assert r.returncode == 0, r.stderr
    for name in ("history", "importances", "slice"):
        assert (tmp_path / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote the {name} plot" in r.stdout
