# ruff: noqa: E402  (the imports follow the optuna importorskip)
"""fastnn.tune: the Optuna search on the 8x8 digits (fast), its errors, pruning, divergence,
stopping, the eta threshold; several processes and Dask in the slow tests."""

import re
import threading

import numpy as np
import pytest

from fastnn import _state

optuna = pytest.importorskip("optuna")

from fastnn import Network
from fastnn.tune import (
    TUNABLE,
    Search,
    _trial_seed,
    default_space,
    eta_threshold,
    open_study,
    retrain,
    tune,
)

optuna.logging.set_verbosity(optuna.logging.ERROR)
DEFAULT_NAMES = {"eta", "lmbda", "mini_batch_size", "momentum", "width"}


def states(study):
    return [t.state.name for t in study.trials]


def _search(digits, **settings):
    """A Search on the digits' training split, scored on their validation split."""
    return Search(digits.training, digits.validation, **settings)


def test_tune_returns_a_reproducible_study(digits):
    study = tune(digits.training, digits.validation, n_trials=8, epochs=10, seed=3)
    assert isinstance(study, optuna.Study) and len(study.trials) == 8
    assert set(study.best_params) == DEFAULT_NAMES
    assert study.best_value > 0.9  # digits: 97 % within reach
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    seeds = [t.user_attrs["fastnn"]["seed"] for t in study.trials]
    assert seeds == [_trial_seed(3, k) for k in range(8)] and len(set(seeds)) == 8
    for t in study.trials:  # one report per epoch run
        if t.state.name == "COMPLETE":
            assert sorted(t.intermediate_values) == list(range(1, t.user_attrs["epochs"] + 1))
            assert t.value == pytest.approx(max(t.intermediate_values.values()))  # best kept
    again = tune(digits.training, digits.validation, n_trials=8, epochs=10, seed=3)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
    assert [t.value for t in again.trials] == [t.value for t in study.trials]
    assert study.trials_dataframe().shape[0] == 8


def test_fixed_arguments_leave_the_space_and_reach_every_trial(digits):
    X, y = digits.training
    s = Search(
        (X, y),
        digits.validation,
        n_trials=3,
        epochs=4,
        seed=0,
        sizes=[64, 20, 10],
        lmbda=0.0,
        mini_batch_size=25,
        hidden="tanh",
        space={"momentum": (0.0, 0.5)},
    )
    assert set(s.space) == {"eta", "momentum"}  # sizes given: width fixed
    assert s.training[0] is X  # converted once, shared, not copied
    study = s.run()
    assert all(set(t.params) == {"eta", "momentum"} for t in study.trials)
    assert all(t.params["momentum"] <= 0.5 for t in study.trials)
    _, _, net = s.best_network
    assert net.sizes == (64, 20, 10) and net.hidden == "tanh"
    assert net.history.settings["mini_batch_size"] == 25 and net.history.settings["lmbda"] == 0


def test_threads_share_the_data_and_number_trials_once(digits):
    s = _search(digits, n_trials=6, n_jobs=2, epochs=5, seed=1)
    study = s.run()
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(6))
    assert set(states(study)) <= {"COMPLETE", "PRUNED"}
    assert len({t.user_attrs["fastnn"]["seed"] for t in study.trials}) == 6
    assert s.best_network[0] == study.best_trial.number


def test_retrain_gives_the_same_network(digits):
    s = _search(digits, n_trials=4, epochs=6, seed=5)
    study = s.run()
    number, value, net = s.best_network
    again = retrain(study, digits.training, digits.validation)
    assert number == study.best_trial.number
    np.testing.assert_array_equal(_state.parameters(again), _state.parameters(net))
    assert again.accuracy(*digits.validation) / 300 == pytest.approx(value)


def test_pruned_trials_stop_through_the_callback(digits):
    pruner = optuna.pruners.ThresholdPruner(lower=0.999, n_warmup_steps=2)
    s = _search(digits, n_trials=3, epochs=10, seed=0, pruner=pruner, early_stopping=100)
    study = s.run()
    assert states(study) == ["PRUNED"] * 3
    for t in study.trials:
        assert t.user_attrs["stop_reason"] == "callback"
        assert t.user_attrs["epochs"] == 2 == len(t.intermediate_values)  # warm-up: 2 epochs


def test_a_diverging_trial_fails_with_its_reason_and_the_study_goes_on(digits):
    s = _search(
        digits,
        n_trials=3,
        epochs=5,
        seed=0,
        cost="quadratic",
        output="linear",
        metric="accuracy",
        space={"eta": (1e-3, 1e9, "log")},
    )
    s.study.enqueue_trial({"eta": 1e9})
    s.study.enqueue_trial({"eta": 0.05})
    study = s.run()
    assert states(study)[:2] == ["FAIL", "COMPLETE"] and len(study.trials) == 3
    reason = study.trials[0].user_attrs["fail_reason"]
    assert "diverged in epoch 1" in reason and "eta=1e+09" in reason


def test_the_stop_flag_stops_running_trials(digits):
    stop = threading.Event()
    timer = threading.Timer(0.3, stop.set)
    s = _search(
        digits,
        n_trials=50,
        n_jobs=2,
        epochs=100_000,
        early_stopping=100_000,
        seed=0,
        pruner="none",
        stop=stop,
    )
    timer.start()
    study = s.run()
    timer.cancel()
    assert s.interrupted and len(study.trials) < 50
    for t in study.trials:
        assert t.state.name == "FAIL" and t.user_attrs["fail_reason"].startswith("interrupted")
        assert t.user_attrs.get("epochs", 0) < 100_000


def test_cost_metric_for_regression_is_minimized():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 3))
    Y = np.column_stack([X.sum(axis=1) / 3, X[:, 0] * X[:, 1]])
    s = Search(
        (X[:200], Y[:200]),
        (X[200:], Y[200:]),
        n_trials=4,
        epochs=5,
        seed=0,
        cost="quadratic",
        output="linear",
    )
    assert s.direction == "minimize" and s.settings.metric == "cost"
    study = s.run()
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    net = s.best_network[2]
    assert study.best_value == pytest.approx(net.total_cost(X[200:], Y[200:]))


def test_default_space_follows_the_book():
    space = default_space(50_000)
    assert set(space) == DEFAULT_NAMES
    assert space["lmbda"].low < 5.0 < space["lmbda"].high and space["lmbda"].log
    assert space["eta"].log and space["eta"].low < 0.5 < space["eta"].high
    assert default_space(15)["mini_batch_size"].choices == (10,)
    assert {"cost", "weight_init"} <= set(default_space(100, extended=True))
    assert {"eta", "lmbda", "momentum", "cost", "hidden", "width"} <= set(TUNABLE)


# ---- bad input: one line, before any trial -------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"space": {"learning_rate": (0.1, 1.0)}}, ValueError, "space: unknown parameter 'learning_rate'"),
        ({"space": {"eta": (1.0, 0.1)}}, ValueError, r"space\['eta'\]: empty range, low 1.0 > high 0.1"),
        ({"space": {"hidden": []}}, ValueError, r"space\['hidden'\]: expected at least one choice"),
        ({"space": {"eta": (0.0, 1.0)}}, ValueError, r"eta: expected .*got 0.0"),
        ({"space": {"momentum": (0.0, 1.0)}}, ValueError, r"space\['momentum'\] = 1.0: momentum: expected"),
        (
            {"space": {"mini_batch_size": [10, 5000]}},
            ValueError,
            r"space\['mini_batch_size'\] = 5000: mini_batch_size: expected at most .* \(1197\)",
        ),
        (
            {"space": {"hidden": ["sigmoid", "softplus"]}},
            ValueError,
            r"= 'softplus': hidden: expected one of",
        ),
        ({"eta": 0.5, "space": {"eta": (0.1, 1.0)}}, ValueError, "'eta' is both fixed"),
        ({"learning_rate": 0.5}, TypeError, "learning_rate: not a Network or SGD argument"),
        ({"callback": print}, TypeError, "callback: set by tune"),
        ({"storage": "nosuchdb://x/y"}, ValueError, "storage: cannot open 'nosuchdb://x/y': "),
        ({"storage": "study.db"}, ValueError, "storage: cannot open 'study.db': expected an RDB URL"),
        ({"storage": "sqlite:////no/such/dir/s.db"}, ValueError, "storage: cannot open"),
        ({"storage": "journal:/no/such/dir/s.log"}, ValueError, "directory /no/such/dir does not exist"),
        ({"n_trials": 0}, ValueError, "n_trials"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
        ({"n_trials": None}, ValueError, "n_trials/timeout"),
        ({"sizes": [64, 30, 3]}, ValueError, r"training_data y: expected labels in \[0, 3\)"),
        (
            {"cost": "log-likelihood", "output": "sigmoid"},
            ValueError,
            "^output: expected one of .softmax. with the log-likelihood cost",
        ),
        ({"pruner": "hyperband"}, ValueError, "pruner: expected"),
    ],
)
def test_bad_input_is_one_line_before_any_trial(digits, kwargs, error, match):
    ran = []
    with pytest.raises(error, match=match) as info:
        tune(digits.training, digits.validation, epochs=2, callbacks=[lambda s, t: ran.append(t)], **kwargs)
    assert "\n" not in str(info.value) and not ran


def test_a_study_name_clash_with_another_direction_is_refused(digits, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    open_study(url, "s", direction="minimize")
    with pytest.raises(ValueError, match="optimizes \\(minimize\\), but this search would maximize") as info:
        tune(digits.training, digits.validation, n_trials=2, epochs=2, storage=url, study_name="s")
    assert "\n" not in str(info.value)
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 0


def test_the_same_study_name_resumes_the_study(digits, tmp_path):
    url = f"journal:{tmp_path / 'study.log'}"
    tune(digits.training, digits.validation, n_trials=2, epochs=2, seed=0, storage=url, study_name="s")
    study = tune(
        digits.training, digits.validation, n_trials=2, epochs=2, seed=1, storage=url, study_name="s"
    )
    assert [t.number for t in study.trials] == [0, 1, 2, 3]
    with pytest.raises(
        ValueError,
        match=r"space\['eta'\]: the study 's' searches it as "
        r"FloatDistribution\(.*log=True",
    ) as info:
        tune(
            digits.training,
            digits.validation,
            n_trials=2,
            epochs=2,
            storage=url,
            study_name="s",
            space={"eta": (0.1, 1.0)},
        )
    assert "\n" not in str(info.value)


# ---- the eta threshold ---------------------------------------------------------------------------
def _cost_falls(data, eta, epochs=3):
    net = Network([64, 30, 10], seed=0)
    costs = [net.total_cost(*data)]
    try:
        costs += net.SGD(data, epochs, 10, eta, monitor_training_cost=True)[2]
    except FloatingPointError:
        return False
    return all(b < a for a, b in zip(costs, costs[1:]))


def test_eta_threshold(digits):
    thr = eta_threshold(digits.training, [64, 30, 10])
    assert 0.01 < thr < 1000
    assert not _cost_falls(digits.training, thr * 10)
    assert _cost_falls(digits.training, thr / 2)
    with pytest.raises(TypeError, match="eta: not a Network argument"):
        eta_threshold(digits.training, [64, 30, 10], eta=1.0)


def test_eta_from_threshold_sets_the_eta_range(digits):
    s = _search(digits, n_trials=1, epochs=2, seed=0, eta_from_threshold=True)
    thr = eta_threshold(digits.training, [64, 30, 10], seed=s.seed)
    assert s.eta_threshold == thr
    assert (s.space["eta"].low, s.space["eta"].high) == pytest.approx((thr / 100, thr))


# ---- the command line ----------------------------------------------------------------------------
TRIAL_LINE = re.compile(r"^trial +\d+  ", re.MULTILINE)


def _cli(tmp_path, *args, **kw):
    """`python -m fastnn tune --data digits ARGS` in a subprocess."""
    from conftest import run_fastnn

    return run_fastnn(tmp_path, "tune", "--data", "digits", *args, **kw)


def _main(capsys, monkeypatch, tmp_path, *args):
    """The same in this process (faster): (status, stdout, stderr)."""
    from fastnn import cli

    monkeypatch.chdir(tmp_path)
    status = cli.main(["tune", "--data", "digits", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.slow  # a tune subprocess (~2 s); the in-process CLI tests stay fast
def test_cli_tune_writes_trials_and_the_best_network(tmp_path):
    import json

    import fastnn

    r = _cli(tmp_path, *"--trials 6 --jobs 2 --epochs 8 --seed 0 --json trials.json --save best.json".split())
    assert r.returncode == 0, r.stderr
    lines = TRIAL_LINE.findall(r.stdout)
    assert len(lines) == 6 and r.stdout.count(" epoch(s) ") == 6
    assert "6 trial(s)" in r.stdout and "validation accuracy" in r.stdout  # the best-trials table
    doc = json.loads((tmp_path / "trials.json").read_text())
    assert doc["direction"] == "maximize" and len(doc["trials"]) == 6
    for t in doc["trials"]:
        assert set(t["params"]) == DEFAULT_NAMES and t["state"] in ("COMPLETE", "PRUNED", "FAIL")
        assert len(t["values"]) == t["epochs"] and isinstance(t["seed"], int)
    best = doc["trials"][doc["best_trial"]]
    net = fastnn.load(str(tmp_path / "best.json"))
    assert net.sizes == (64, best["params"]["width"], 10)
    from fastnn.data import load_digits

    Xv, yv = load_digits().validation
    assert net.accuracy(Xv, yv) / len(yv) == pytest.approx(best["value"])
    assert re.search(rf"best trial {best['number']}: test accuracy \d+\.\d\d %", r.stdout)


def test_cli_tune_keeps_given_train_options_fixed(tmp_path, capsys, monkeypatch):
    import json

    status, out, err = _main(
        capsys,
        monkeypatch,
        tmp_path,
        "--trials",
        "2",
        "--epochs",
        "3",
        "--sizes",
        "64,20,10",
        "--eta",
        "0.3",
        "--hidden",
        "tanh",
        "--space",
        "momentum=0:0.5",
        "--json",
        "t.json",
        "-q",
    )
    assert status == 0, err
    assert not TRIAL_LINE.findall(out) and "validation accuracy" in out  # -q: the table only
    doc = json.loads((tmp_path / "t.json").read_text())
    assert all(set(t["params"]) == {"lmbda", "mini_batch_size", "momentum"} for t in doc["trials"])
    assert all(t["params"]["momentum"] <= 0.5 for t in doc["trials"])


def test_cli_eta_threshold(tmp_path, digits, capsys, monkeypatch):
    status, out, err = _main(capsys, monkeypatch, tmp_path, "--eta-threshold", "--seed", "0")
    assert status == 0, err
    value = float(re.search(r"eta threshold: ([0-9.e+-]+)", out).group(1))
    assert value == pytest.approx(eta_threshold(digits.training, [64, 30, 10]), rel=1e-3)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--space", "eta=1:0.1"], "space['eta']: empty range, low 1 > high 0.1"),
        (["--space", "speed=1:2"], "space: unknown parameter 'speed'"),
        (["--space", "eta"], "argument --space: expected NAME=LOW:HIGH[:log] or NAME=a,b,c"),
        (["--eta", "0.5", "--space", "eta=0.1:1"], "'eta' is both fixed"),
        (["--storage", "nosuchdb://x"], "storage: cannot open 'nosuchdb://x'"),
        (["--batch", "5000"], "--batch 5000: larger than the 1,197 training examples"),
    ],
)
def test_cli_tune_bad_input_one_line_no_trial(tmp_path, capsys, monkeypatch, args, message):
    status, out, err = _main(capsys, monkeypatch, tmp_path, "--trials", "2", "--epochs", "2", *args)
    assert status == 2, out + err
    assert err.count("\n") == 1 and err.startswith("fastnn: error: ")
    assert message in err and not TRIAL_LINE.findall(out)


def test_cli_tune_study_clash_with_another_direction(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_study(url, "s", direction="minimize")
    status, _out, err = _main(
        capsys, monkeypatch, tmp_path, "--trials", "2", "--storage", url, "--study", "s"
    )
    assert status == 2 and err.count("\n") == 1
    assert "optimizes (minimize), but this search would maximize" in err


@pytest.mark.slow  # a tune subprocess (~2 s); the in-process CLI tests stay fast
def test_cli_ctrl_c_keeps_finished_trials_and_writes_outputs(tmp_path):
    import json
    import signal
    import time

    from conftest import start_fastnn

    options = (
        "tune --data digits --trials 100000 --jobs 2 --epochs 30 --seed 0 --json t.json --save best.json"
    )
    p = start_fastnn(tmp_path, *options.split())
    seen, lines = 0, []
    while seen < 2:  # two trials completed: Ctrl-C
        line = p.stdout.readline()
        assert line, "".join(lines) + p.stderr.read()
        lines.append(line)
        seen += bool(TRIAL_LINE.match(line)) and " COMPLETE " in line
    p.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, "".join(lines) + out + err
    assert time.monotonic() - t0 < 30
    assert "interrupted: finished trials kept" in err
    doc = json.loads((tmp_path / "t.json").read_text())
    states = [t["state"] for t in doc["trials"]]
    assert "RUNNING" not in states and states.count("COMPLETE") >= 2 and len(states) < 100000
    for t in doc["trials"]:
        if t["state"] == "FAIL" and t["fail_reason"].startswith("interrupted"):
            # (a trial interrupted after its last epoch, before its result was stored, has 30)
            assert t["epochs"] is None or t["epochs"] <= 30
    assert (tmp_path / "best.json").exists()
