"""The command line: `python -m fastnn ...` as a subprocess on the digits data, plus in-process checks."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import fastnn_env, run_fastnn

import fastnn
from fastnn import cli
from fastnn.cli._argument_types import _sizes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


run = run_fastnn
_env = fastnn_env


def _has_matplotlib():
    from fastnn.plotting import matplotlib_available

    return matplotlib_available()


TEST_LINE = re.compile(r"^test: accuracy (\d+\.\d+) % \(([\d,]+)/([\d,]+)\), cost (\d+\.\d+)", re.M)


# --------------------------------------------------------------------------------------------------
# train
# --------------------------------------------------------------------------------------------------
def test_train_digits_writes_model_history_and_plot(tmp_path):
    plot = ["--plot", "curves.png"] if _has_matplotlib() else []
    r = run(
        tmp_path,
        "train",
        "--data",
        "digits",
        "--epochs",
        "2",
        "--batch",
        "10",
        "--eta",
        "0.5",
        "--lmbda",
        "1.0",
        "--seed",
        "1",
        "--save",
        "model.json",
        "--json",
        "history.json",
        *plot,
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    out = r.stdout
    assert "lambda=" in out.splitlines()[0]  # the run's first line: the settings, the lambda used
    assert "digits" in out.splitlines()[1]  # then the one-line note on the data used
    epoch_lines = [ln for ln in out.splitlines() if re.match(r"epoch\s+\d+/2\b", ln)]
    assert len(epoch_lines) == 2, out
    for ln in epoch_lines:
        for word in ("train cost", "acc", "validation cost", "eta 0.5", "ex/s"):
            assert word in ln, ln
    m = TEST_LINE.search(out)
    assert m, out
    assert int(m.group(3)) == 300

    history = json.loads((tmp_path / "history.json").read_text())
    assert history == json.loads(json.dumps(history))
    assert len(history["records"]) == 2
    assert history["stop_reason"] == "completed"
    assert [rec["epoch"] for rec in history["records"]] == [1, 2]

    net = fastnn.load(tmp_path / "model.json")
    assert list(net.sizes) == [64, 30, 10]
    if _has_matplotlib():
        png = (tmp_path / "curves.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 1000


@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_plot_png_is_written(tmp_path):
    if not _has_matplotlib():
        pytest.skip("matplotlib is not installed")
    r = run(tmp_path, "train", "--data", "digits", "--epochs", "2", "--plot", "c.png", "-q")
    assert r.returncode == 0, r.stderr
    data = (tmp_path / "c.png").read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []  # no temp files left


@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_quiet_prints_only_the_result_line(tmp_path):
    r = run(tmp_path, "train", "--data", "digits", "--epochs", "1", "-q", "--json", "h.json")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and TEST_LINE.match(lines[0]), r.stdout
    assert len(json.loads((tmp_path / "h.json").read_text())["records"]) == 1


@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_options_are_passed_to_sgd(tmp_path):
    r = run(
        tmp_path,
        "train",
        "--data",
        "digits",
        "--sizes",
        "64,20,10",
        "--cost",
        "log-likelihood",
        "--hidden",
        "tanh",
        "--init",
        "large",
        "--dtype",
        "float32",
        "--epochs",
        "3",
        "--batch",
        "20",
        "--eta",
        "0.1",
        "--lmbda",
        "0.5",
        "--regularization",
        "l1",
        "--momentum",
        "0.5",
        "--dropout",
        "0.1",
        "--early-stopping",
        "5",
        "--eta-schedule",
        "2",
        "--threads",
        "1",
        "--train-size",
        "600",
        "--expand",
        "--seed",
        "3",
        "--save",
        "m.json",
        "--json",
        "h.json",
    )
    assert r.returncode == 0, r.stderr
    net = fastnn.load(tmp_path / "m.json")
    assert list(net.sizes) == [64, 20, 10]
    assert net.cost.name == "log-likelihood" and net.output == "softmax" and net.hidden == "tanh"
    assert net.weight_init == "large" and np.dtype(net.dtype) == np.float32
    h = json.loads((tmp_path / "h.json").read_text())
    assert h["records"][0]["n_training"] == 3000  # 600 examples, expanded 5x
    settings = h["settings"]
    assert settings["regularization"] == "l1" and settings["momentum"] == 0.5
    assert settings["dropout"] == 0.1 and settings["early_stopping"] == 5
    assert settings["mini_batch_size"] == 20 and settings["eta_schedule"] == 2


@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_no_monitor_training_reports_the_tracked_loss(tmp_path):
    r = run(tmp_path, "train", "--data", "digits", "--epochs", "1", "--no-monitor-training", "--eval", "test")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("epoch"))
    assert "train loss" in line and "test cost" in line and "train cost" not in line


@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_no_arguments_runs_a_short_demo_on_digits_when_mnist_is_missing(tmp_path):
    r = run(tmp_path)
    assert r.returncode == 0, r.stderr
    assert "MNIST not found" in r.stdout and "digits" in r.stdout
    assert len([ln for ln in r.stdout.splitlines() if ln.startswith("epoch")]) == cli.DEMO_EPOCHS_DIGITS
    assert TEST_LINE.search(r.stdout)
    accuracy = float(re.search(r"test: accuracy ([0-9.]+) %", r.stdout).group(1))
    assert accuracy > 90


@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_options_without_command_mean_train(tmp_path):
    r = run(tmp_path, "--data", "digits", "--epochs", "1", "-q")
    assert r.returncode == 0, r.stderr
    assert TEST_LINE.match(r.stdout)


@pytest.mark.slow
@pytest.mark.mnist
def test_mnist_is_used_when_found(tmp_path, mnist_dir):
    r = run(
        tmp_path,
        "train",
        "--epochs",
        "1",
        "--train-size",
        "1000",
        "--no-monitor-training",
        FASTNN_DATA=str(mnist_dir),
    )
    assert r.returncode == 0, r.stderr
    data_line = r.stdout.splitlines()[1]  # after the settings line
    assert "MNIST" in data_line and str(mnist_dir) in data_line
    assert "[784, 30, 10]" in r.stdout
    m = TEST_LINE.search(r.stdout)
    assert m and m.group(3) == "10,000"


def test_console_script(tmp_path):
    exe = shutil.which("fastnn")
    if exe is None:
        pytest.skip("the fastnn console script is not installed")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60, env=_env(tmp_path))
    assert r.returncode == 0 and r.stdout.startswith("fastnn ")


# --------------------------------------------------------------------------------------------------
# user mistakes: one line on stderr, non-zero exit, no traceback
# --------------------------------------------------------------------------------------------------
ERROR_CASES = {
    "bad-sizes": (["train", "--data", "digits", "--sizes", "784,x"], "--sizes"),
    "one-layer": (["train", "--data", "digits", "--sizes", "64"], "--sizes"),
    "unknown-cost": (["train", "--data", "digits", "--cost", "hinge"], "cost"),
    "sizes-vs-inputs": (["train", "--data", "digits", "--sizes", "784,30,10"], "64 inputs"),
    "sizes-vs-classes": (["train", "--data", "digits", "--sizes", "64,30,5"], "10 classes"),
    "mnist-missing-dir": (["train", "--data", "mnist", "--data-dir", "{tmp}/nowhere"], "MNIST not found"),
    "mnist-missing": (["train", "--data", "mnist"], "MNIST not found"),
    "output-vs-cost": (
        ["train", "--data", "digits", "--cost", "cross-entropy", "--output", "softmax"],
        "--output",
    ),
    "zero-epochs": (["train", "--epochs", "0"], "--epochs"),
    "negative-eta": (["train", "--eta", "-1"], "--eta"),
    "momentum-one": (["train", "--momentum", "1"], "--momentum"),
    "unknown-option": (["train", "--frobnicate"], "--frobnicate"),
    "unknown-command": (["frobnicate"], "frobnicate"),
    "plot-dir-missing": (["train", "--data", "digits", "--plot", "{tmp}/no/dir/c.png"], "--plot"),
    "batch-too-big": (["train", "--data", "digits", "--train-size", "5", "--batch", "10"], "--batch"),
    "early-stopping-no-eval": (
        ["train", "--data", "digits", "--eval", "none", "--early-stopping", "3"],
        "--early-stopping",
    ),
    "evaluate-missing-model": (["evaluate", "{tmp}/nope.json"], "not found"),
    "evaluate-corrupt-model": (["evaluate", "{tmp}/corrupt.json"], "corrupt.json"),
    "evaluate-history-as-model": (["evaluate", "{tmp}/history.json"], "sizes"),
    "predict-bad-input": (["predict", "{tmp}/model.json", "--input", "{tmp}/bad.npy"], "--input"),
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A directory with a digits model trained for 1 epoch, plus bad files."""
    d = tmp_path_factory.mktemp("cli-model")
    net = fastnn.Network([64, 30, 10], seed=0)
    from fastnn.data import load_digits

    ds = load_digits()
    net.SGD(ds.training, 1, 10, 0.5, lmbda=1.0)
    net.save(d / "model.json")
    (d / "corrupt.json").write_text('{"sizes": [64, 30, 10], "weights": [[[0.1, ')
    (d / "history.json").write_text(net.history.to_json())
    np.save(d / "bad.npy", np.zeros((3, 7)))
    return d


def _assert_one_error_line(code, out, err, expected):
    assert code in (cli.EXIT_FAILURE, cli.EXIT_USAGE), (code, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastnn: error: "), lines[0]
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_user_errors_print_one_line(model_dir, no_mnist, capsys, case):
    """In-process through cli.main: exit code, one line on stderr naming the culprit."""
    args, expected = ERROR_CASES[case]
    args = [a.replace("{tmp}", str(model_dir)) for a in args]
    code = cli.main(args)
    out, err = capsys.readouterr()
    _assert_one_error_line(code, out, err, expected)


@pytest.mark.parametrize(
    "case",
    [
        "unknown-option",  # argparse usage error
        pytest.param("sizes-vs-inputs", marks=pytest.mark.slow),  # error after loading data
        pytest.param("evaluate-corrupt-model", marks=pytest.mark.slow),  # a file error
    ],
)
def test_user_errors_print_one_line_in_a_subprocess(model_dir, tmp_path, case):
    """Smoke test of the real process: exit status and stderr as a user sees them."""
    args, expected = ERROR_CASES[case]
    args = [a.replace("{tmp}", str(model_dir)) for a in args]
    r = run(tmp_path, *args)
    _assert_one_error_line(r.returncode, r.stdout, r.stderr, expected)


def test_missing_matplotlib_is_reported_before_training(monkeypatch, capsys, tmp_path):
    import fastnn.plotting as plotting

    monkeypatch.setattr(plotting, "matplotlib_available", lambda: False)
    called = []
    monkeypatch.setattr(fastnn.Network, "SGD", lambda *a, **k: called.append(1))
    code = cli.main(["train", "--data", "digits", "--plot", str(tmp_path / "c.png")])
    assert code == cli.EXIT_FAILURE and not called
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fastnn[plot]" in err


# --------------------------------------------------------------------------------------------------
# evaluate / predict
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_evaluate_matches_training_report(tmp_path):
    r = run(tmp_path, "train", "--data", "digits", "--epochs", "2", "--seed", "7", "--save", "m.json")
    assert r.returncode == 0, r.stderr
    trained = TEST_LINE.search(r.stdout).groups()
    e = run(tmp_path, "evaluate", "m.json")
    assert e.returncode == 0, e.stderr
    assert TEST_LINE.search(e.stdout).groups() == trained  # same test split, same accuracy and cost

    q = run(tmp_path, "evaluate", "m.json", "--split", "validation", "-q")
    assert q.returncode == 0, q.stderr
    acc, cost = map(float, q.stdout.split())
    from fastnn.data import load_digits

    net = fastnn.load(tmp_path / "m.json")
    Xv, yv = load_digits().validation
    assert acc == pytest.approx(net.accuracy(Xv, yv) / len(yv), abs=1e-6)
    assert cost == pytest.approx(net.total_cost(Xv, yv), rel=1e-5)


@pytest.mark.slow  # a training subprocess (~3 s); test_train_digits_* is the fast smoke test
def test_predict(model_dir, tmp_path):
    from fastnn.data import load_digits

    net = fastnn.load(model_dir / "model.json")
    X = load_digits().test[0]
    r = run(tmp_path, "predict", model_dir / "model.json", "--limit", "7")
    assert r.returncode == 0, r.stderr
    assert [int(v) for v in r.stdout.split()] == net.predict(X[:7]).tolist()

    np.save(tmp_path / "x.npy", X[:4])
    np.savetxt(tmp_path / "x.csv", X[4:6], delimiter=",")
    for name, rows in (("x.npy", X[:4]), ("x.csv", X[4:6])):
        r = run(tmp_path, "predict", model_dir / "model.json", "--input", name)
        assert r.returncode == 0, r.stderr
        assert [int(v) for v in r.stdout.split()] == net.predict(rows).tolist()
        assert r.stderr == ""


# --------------------------------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow  # test_ctrl_c_in_process is the fast version
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")
def test_ctrl_c_saves_the_model_and_exits_130(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "fastnn",
        "train",
        "--data",
        "digits",
        "--epochs",
        "100000",
        "--no-monitor-training",
        "--save",
        "m.json",
        "--json",
        "h.json",
    ]
    p = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        for line in p.stdout:
            if re.match(r"epoch\s+3/", line):
                break
            assert time.monotonic() < deadline, "no epoch line in time"
        p.send_signal(signal.SIGINT)
        _out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == cli.EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    assert "interrupted" in err
    net = fastnn.load(tmp_path / "m.json")  # saved, and a valid model
    assert list(net.sizes) == [64, 30, 10]
    h = json.loads((tmp_path / "h.json").read_text())
    assert h["stop_reason"] == "interrupted" and len(h["records"]) >= 3
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_ctrl_c_in_process(monkeypatch, capsys, tmp_path):
    """The CLI's handling of KeyboardInterrupt out of SGD, without timing games."""
    real_sgd = fastnn.Network.SGD

    def sgd_then_interrupt(self, *args, **kwargs):
        user_callback = kwargs["callback"]

        def callback(rec):
            user_callback(rec)
            if rec.epoch == 2:
                raise KeyboardInterrupt

        kwargs["callback"] = callback
        return real_sgd(self, *args, **kwargs)

    monkeypatch.setattr(fastnn.Network, "SGD", sgd_then_interrupt)
    path = tmp_path / "m.json"
    code = cli.main(["train", "--data", "digits", "--epochs", "10", "--save", str(path)])
    assert code == 130
    captured = capsys.readouterr()
    assert "interrupted after 2 complete epoch(s) of 10" in captured.err
    assert fastnn.load(path).sizes[0] == 64


# --------------------------------------------------------------------------------------------------
# in-process
# --------------------------------------------------------------------------------------------------
def test_main_in_process(capsys, tmp_path):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("fastnn ")
    assert cli.main(["train", "--help"]) == 0
    assert "--early-stopping" in capsys.readouterr().out
    assert (
        cli.main(["train", "--data", "digits", "--epochs", "1", "-q", "--save", str(tmp_path / "m.json")])
        == 0
    )
    assert TEST_LINE.match(capsys.readouterr().out)
    assert cli.main(["train", "--sizes", "1,x"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err.startswith("fastnn: error: argument --sizes")


@pytest.mark.parametrize(
    "text,expected", [("784,30,10", [784, 30, 10]), ("784, 100 ,10", [784, 100, 10]), ("2,1", [2, 1])]
)
def test_sizes_parsing(text, expected):
    assert _sizes(text) == expected


@pytest.mark.parametrize("text", ["784,x", "", "784", "784,0,10", "784,-3,10", "7.5,2", "a,b"])
def test_sizes_parsing_rejects(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        _sizes(text)


# --------------------------------------------------------------------------------------------------
# fastnn.plotting
# --------------------------------------------------------------------------------------------------
def test_plot_history_accepts_history_dict_and_records(tmp_path):
    if not _has_matplotlib():
        pytest.skip("matplotlib is not installed")
    from fastnn.plotting import plot_history

    net = fastnn.Network([4, 3, 2], seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 2, 30)
    net.SGD((X, y), 3, 5, 0.5, evaluation_data=(X, y), monitor_evaluation_accuracy=True, track_loss=True)
    for i, h in enumerate(
        [net.history, net.history.to_dict(), net.history.records, json.loads(net.history.to_json())]
    ):
        path = tmp_path / f"h{i}.png"
        plot_history(h, path, title="t")
        assert path.read_bytes().startswith(PNG_MAGIC)
    empty = tmp_path / "empty.png"
    plot_history([], empty)  # nothing monitored: still a valid picture
    assert empty.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.png", "h0.png", "h1.png", "h2.png", "h3.png"]


def test_plot_history_without_matplotlib_raises_a_clear_import_error(monkeypatch, tmp_path):
    import fastnn.plotting as plotting

    monkeypatch.setattr(plotting, "matplotlib_available", lambda: False)
    with pytest.raises(ImportError, match=r"fastnn\[plot\]"):
        plotting.plot_history([], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_history_returns_the_figure_and_history_plot(tmp_path):
    pytest.importorskip("matplotlib")
    from fastnn.data import load_digits
    from fastnn.plotting import plot_history

    net = fastnn.Network([64, 10, 10], seed=0)
    ds = load_digits()
    net.SGD(ds.training, 2, 10, 0.5, evaluation_data=ds.validation, monitor_evaluation_accuracy=True)
    fig = plot_history(net.history)  # no path: nothing written
    assert type(fig).__name__ == "Figure" and len(fig.axes) == 2
    assert list(tmp_path.iterdir()) == []
    fig = net.history.plot(tmp_path / "c.svg", title="t")
    assert (tmp_path / "c.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert fig._suptitle.get_text() == "t"
