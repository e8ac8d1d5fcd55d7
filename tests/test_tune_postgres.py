"""Many `fastnn tune` workers on one study in a real PostgreSQL server that the tests start
(conftest.postgres_server; slow): four workers sharing a study, a worker killed mid-trial (heartbeat,
retry with the same parameters and seed), the database restarted mid-study, and the password never in
an output."""

import datetime
import json
import re
import signal
import time

import pytest
from conftest import start_fastnn

optuna = pytest.importorskip("optuna")

TRIAL_LINE = re.compile(r"^trial +(\d+)  ", re.M)
FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def _study(url, name):
    return optuna.load_study(study_name=name, storage=url)


def _wait(procs, timeout=300):
    outs = [p.communicate(timeout=timeout) for p in procs]
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outs)]


def _no_password(server, *texts):
    for text in texts:
        assert server.password not in text


def _report(capsys, monkeypatch, tmp_path, url, *args):
    """`fastnn tune --trials 0` (the study's report, no trial run) in this process: (status, out, err)."""
    from fastnn import cli

    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    status = cli.main(["tune", "--data", "digits", "--trials", "0", "--storage", url, "--study", "s", *args])
    out, err = capsys.readouterr()
    return status, out, err


def _tune(tmp_path, url, *args, **env):
    return start_fastnn(
        tmp_path, "tune", "--data", "digits", "--storage", url, "--study", "s", *map(str, args), **env
    )


@pytest.mark.slow
def test_four_workers_share_one_study(tmp_path, postgres_server, postgres_url, capsys, monkeypatch):
    n, workers = 5, 4
    procs = [
        _tune(
            tmp_path,
            postgres_url,
            *f"--trials {n} --epochs 4 --seed {w} --json w{w}.json".split(),
            "--save",
            f"w{w}.model.json",
        )
        for w in range(workers)
    ]
    results = _wait(procs)
    for code, out, err in results:
        assert code == 0, err
        _no_password(postgres_server, out, err)
    ran = [sorted(int(k) for k in TRIAL_LINE.findall(out)) for _, out, _ in results]
    assert all(len(r) == n for r in ran)
    numbers = sorted(k for r in ran for k in r)
    assert numbers == list(range(workers * n))  # every trial once, no number twice

    study = _study(postgres_url, "s")
    trials = study.trials
    assert sorted(t.number for t in trials) == numbers
    assert all(t.state.name in FINISHED for t in trials)  # none left RUNNING
    assert len({t.user_attrs["worker"] for t in trials}) == workers
    by_number = {t.number: t for t in trials}

    import fastnn
    from fastnn.data import load_digits

    Xv, yv = load_digits().validation
    for w in range(workers):
        doc = json.loads((tmp_path / f"w{w}.json").read_text())
        assert doc["study"] == "s" and postgres_server.password not in json.dumps(doc)
        assert "***" in doc["storage"]
        for rec in doc["trials"]:  # what the worker saw agrees with the database
            t = by_number[rec["number"]]
            if rec["state"] in FINISHED:
                assert rec["params"] == t.params and rec["seed"] == t.user_attrs["fastnn"]["seed"]
                assert rec["state"] == t.state.name and rec["value"] == t.value
            else:
                # another worker's trial, finished since; seen while it was starting, so only the
                # parameters it had suggested by then (none, some or all), never different ones
                assert rec["state"] == "RUNNING"
                assert rec["params"].items() <= t.params.items()
                assert rec["seed"] in (None, t.user_attrs["fastnn"]["seed"])
        assert len({by_number[k].user_attrs["worker"] for k in ran[w]}) == 1  # its own, one process
        # the best trial as this worker saw it at its end, saved (retrained if it ran elsewhere)
        best = by_number[doc["best_trial"]]
        net = fastnn.load(str(tmp_path / f"w{w}.model.json"))
        assert net.accuracy(Xv, yv) / len(yv) == pytest.approx(best.value, abs=0)
    # the last worker to finish saw every trial finished, and the study's best
    assert any(
        json.loads((tmp_path / f"w{w}.json").read_text())["best_trial"] == study.best_trial.number
        for w in range(workers)
    )

    # a report afterwards (no trial run) agrees with the database
    code, out, err = _report(capsys, monkeypatch, tmp_path, postgres_url, "--json", "r.json")
    assert code == 0, err
    assert f"study 's': {workers * n} trial(s)" in out and "reporting only" in out
    assert not TRIAL_LINE.findall(out)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [(t["number"], t["state"], t["value"]) for t in doc["trials"]] == [
        (t.number, t.state.name, t.value) for t in sorted(trials, key=lambda t: t.number)
    ]
    _no_password(postgres_server, out, err)


def _slow_trial_args(trials, epochs=600):
    """Trials of about 1 s per 150 epochs on the digits (fixed sizes and batch, no pruning, no early
    stop), a heartbeat every second, dead after 2 s, retried once."""
    return (
        f"--trials {trials} --epochs {epochs} --sizes 64,60,10 --batch 10 --early-stopping 100000 "
        f"--no-prune --heartbeat 1 --grace 2 --retries 1"
    ).split()


def _wait_for(predicate, procs, timeout=120, what="condition"):
    """predicate()'s first true value, polled; fails at once if one of `procs` has ended."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                out, err = p.communicate()
                raise AssertionError(f"a worker ended ({p.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _running(url):
    """The RUNNING trials that are training: an epoch reported, so every parameter suggested (a trial
    is RUNNING from its creation, before its worker has suggested anything)."""
    try:
        return [t for t in _study(url, "s").trials if t.state.name == "RUNNING" and t.intermediate_values]
    except KeyError:  # the study is not created yet
        return []


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_retried_by_a_survivor(
    tmp_path, postgres_server, postgres_url, capsys, monkeypatch
):
    victim = _tune(tmp_path, postgres_url, *_slow_trial_args(1, 400), "--seed", 1)
    first = _wait_for(lambda: _running(postgres_url), [victim], what="the victim's trial")[0]
    survivor = _tune(tmp_path, postgres_url, *_slow_trial_args(2, 400), "--seed", 2, "--json", "s.json")
    time.sleep(0.3)  # mid-trial (400 epochs: seconds), its first heartbeat recorded at its start
    assert victim.poll() is None, victim.communicate()
    victim.send_signal(signal.SIGKILL)
    killed_at = datetime.datetime.now()
    victim.communicate()
    [(code, out, err)] = _wait([survivor])
    assert code == 0, err
    _no_password(postgres_server, out, err)

    study = _study(postgres_url, "s")
    by_number = {t.number: t for t in study.trials}
    dead = by_number[first.number]
    assert dead.state.name == "FAIL"  # failed by the survivor's heartbeat check
    [retry] = [t for t in study.trials if t.system_attrs.get("failed_trial") == first.number]
    assert retry.state.name == "COMPLETE" and retry.params == dead.params
    assert retry.user_attrs["fastnn"]["seed"] == dead.user_attrs["fastnn"]["seed"]  # the same training
    assert retry.user_attrs["worker"] != dead.user_attrs["worker"]
    assert f"retry of trial {first.number}, whose worker died" in out
    assert all(t.state.name in FINISHED for t in study.trials)
    lag = (retry.datetime_start - killed_at).total_seconds()
    print(f"\nSIGKILL to the retried trial's start: {lag:.2f} s (grace 2 s, survivor already running)")
    assert lag < 60

    code, out, err = _report(capsys, monkeypatch, tmp_path, postgres_url)
    assert code == 0, err
    assert f"study 's': {len(study.trials)} trial(s)" in out
    assert "1 failed (1 lost with their worker and retried)" in out
    head = next(line for line in out.splitlines() if line.startswith("study 's': "))
    assert "running" not in head and "waiting" not in head


@pytest.mark.slow
def test_the_database_restarted_mid_study(tmp_path, postgres_server, postgres_url):
    args = [*_slow_trial_args(3, epochs=150), "--reconnect", 60]
    procs = [_tune(tmp_path, postgres_url, *args, "--seed", w) for w in (1, 2)]
    _wait_for(
        lambda: (
            any(t.state.name == "COMPLETE" for t in _study(postgres_url, "s").trials)
            if _running(postgres_url)
            else False
        ),
        procs,
        what="a finished trial",
    )
    complete = [t for t in _study(postgres_url, "s").trials if t.state.name == "COMPLETE"]
    before = {t.number: (t.params, t.value) for t in complete}
    postgres_server.stop("fast")
    time.sleep(1.5)
    postgres_server.start()
    results = _wait(procs)
    for code, out, err in results:
        assert code == 0, err
        _no_password(postgres_server, out, err)
    assert any("retrying the connection" in err for _, _, err in results)
    study = _study(postgres_url, "s")
    after = {t.number: (t.params, t.value) for t in study.trials if t.state.name == "COMPLETE"}
    assert before.items() <= after.items()  # nothing committed was lost
    assert sum(t.state.name == "COMPLETE" for t in study.trials) >= 4


@pytest.mark.slow
def test_a_database_gone_for_good_stops_the_worker_with_one_line(tmp_path, postgres_server, postgres_url):
    proc = _tune(tmp_path, postgres_url, *_slow_trial_args(3), "--reconnect", 3, "--seed", 1)
    _wait_for(lambda: _running(postgres_url), [proc], what="a running trial")
    postgres_server.stop("fast")
    try:
        [(code, out, err)] = _wait([proc], timeout=120)
    finally:
        postgres_server.start()
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert re.match(
        r"fastnn: error: storage postgresql\+psycopg://fastnn:\*\*\*@127\.0\.0\.1:\d+/\S+: "
        r"unreachable for \d+ s \(",
        last,
    ), err
    assert "Traceback" not in err
    _no_password(postgres_server, out, err)


@pytest.mark.slow
def test_tune_in_process_on_postgres(postgres_url, digits):
    from fastnn.tune import open_study, tune

    study = tune(
        digits.training,
        digits.validation,
        n_trials=3,
        epochs=2,
        seed=0,
        storage=postgres_url,
        study_name="api",
        heartbeat=5,
        retries=1,
    )
    assert len(study.trials) == 3
    again = open_study(postgres_url, "api")
    assert [t.value for t in again.trials] == [t.value for t in study.trials]
    assert study._storage._backend.heartbeat_interval == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"heartbeat": -1}, "heartbeat"),
        ({"heartbeat": 10, "grace_period": 10}, "grace_period: expected more than the heartbeat"),
        ({"heartbeat": 0, "grace_period": 10}, "grace_period: needs a heartbeat"),
        ({"retries": -1}, "retries"),
        ({"reconnect": -1}, "reconnect"),
        ({"dask_client": "tcp://x:8786"}, "dask_client: expected a dask.distributed.Client"),
    ],
)
def test_bad_failure_options_are_refused_before_any_trial(digits, kwargs, match):
    from fastnn.tune import tune

    with pytest.raises((ValueError, TypeError), match=match):
        tune(digits.training, digits.validation, n_trials=1, epochs=1, **kwargs)


def test_cli_defaults_equal_the_library_defaults():
    from fastnn import tune
    from fastnn.cli import tune as cli_tune

    assert (cli_tune.DEFAULT_HEARTBEAT, cli_tune.DEFAULT_RETRIES, cli_tune.DEFAULT_RECONNECT) == (
        tune.DEFAULT_HEARTBEAT,
        tune.DEFAULT_RETRIES,
        tune.DEFAULT_RECONNECT,
    )
