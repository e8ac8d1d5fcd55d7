"""`fastnn train --checkpoint PATH` when the checkpoint cannot be written (issue #23): a warning
for each epoch whose checkpoint failed, training goes on, --save/--json/--plot are written at the
end, exit status 1; --checkpoint naming the same file as --save/--json, or stdout, is refused with
exit status 2 before any work."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import package_env

import fastnn
from fastnn import _output_files, _state, cli
from fastnn import io as fio


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((300, 4))
    y = (X[:, 0] > X[:, 1]).astype(int) + (X[:, 2] > 0.6)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    return path


def _train(data, *extra):
    return [
        "train",
        "--data",
        str(data),
        "--sizes",
        "4,5,3",
        "--epochs",
        "3",
        "--batch",
        "10",
        *map(str, extra),
    ]


def test_failed_checkpoints_warn_and_the_run_is_kept(tmp_path, data, capsys, monkeypatch):
    real_save = fio.save
    calls = []

    def flaky(net, path, state=False):
        if state:
            calls.append(len(net.history.records))
            if len(calls) in (1, 2):  # the disk is full for the first two epochs, then space again
                raise OSError(28, "No space left on device")
        return real_save(net, path, state=state)

    monkeypatch.setattr(fio, "save", flaky)
    ck, model, hist = tmp_path / "ck.json", tmp_path / "m.json", tmp_path / "h.json"
    code = cli.main(_train(data, "--checkpoint", ck, "--save", model, "--json", hist))
    _out, err = capsys.readouterr()
    assert code == 1, err
    warnings = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(warnings) == 2 and "epoch 1" in warnings[0] and "epoch 2" in warnings[1]
    assert all("No space left on device" in w and "training goes on" in w for w in warnings)
    assert "error: --checkpoint" in err and "2 epochs (1-2)" in err and "Traceback" not in err
    assert calls == [1, 2, 3]  # every epoch trained and tried
    assert fastnn.load(model).sizes == (4, 5, 3)
    assert len(json.loads(hist.read_text())["records"]) == 3
    assert _state.run_state(fastnn.load(ck))["epoch"] == 3  # the epoch that could be written


@pytest.mark.slow  # a child process
def test_file_size_limit_on_the_checkpoint_only(tmp_path, data):
    """A real write failure: RLIMIT_FSIZE lets the small model and history through but not the
    checkpoint (which also holds the shuffling order of 300 rows, the velocity and history)."""
    ck, model, hist = tmp_path / "ck.json", tmp_path / "m.json", tmp_path / "h.json"
    argv = _train(data, "--checkpoint", ck, "--save", model, "--json", hist, "--momentum", "0.5")
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (3500, 3500))
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from fastnn import cli
        sys.exit(cli.main({argv!r}))
    """)
    r = subprocess.run(
        [sys.executable, "-c", code], env=package_env(), capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("warning: --checkpoint") == 3 and "Traceback" not in r.stderr, r.stderr
    assert "error: --checkpoint" in r.stderr
    assert model.stat().st_size < 3500 and fastnn.load(model).sizes == (4, 5, 3)
    assert len(json.loads(hist.read_text())["records"]) == 3
    assert not ck.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(_output_files.TMP_PREFIX)]  # no temp left


@pytest.mark.parametrize("other", ["--save", "--json"])
def test_checkpoint_same_file_as_another_output_is_refused(tmp_path, data, capsys, other):
    target = tmp_path / "x.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    for spelling in (target, link, f"{tmp_path}/./x.json"):
        code = cli.main(_train(data, "--checkpoint", spelling, other, target))
        err = capsys.readouterr().err
        assert code == 2 and "same file" in err and "--checkpoint" in err, err
    assert not target.exists()


@pytest.mark.parametrize("spelling", ["-", "/dev/stdout", "/dev/fd/1", "/dev/null"])
def test_checkpoint_to_stdout_or_a_device_is_refused(tmp_path, data, capsys, spelling):
    code = cli.main(_train(data, "--checkpoint", spelling))
    err = capsys.readouterr().err
    assert code == 2 and "--checkpoint" in err and "not a regular file" in err, err
    assert len(err.strip().splitlines()) == 1


def test_checkpoint_fifo_is_refused(tmp_path, data, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = cli.main(_train(data, "--checkpoint", fifo))
    err = capsys.readouterr().err
    assert code == 2 and "not a regular file" in err, err
