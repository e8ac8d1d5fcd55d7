"""Checkpoints: net.save(path, state=True) + fastnn.load + SGD(resume=True), and
`fastnn train --checkpoint PATH --resume`: 10 epochs, a checkpoint, 10 more == 20 in one go, bit
for bit (momentum, dropout, the eta schedule and early stopping included)."""

import json

import numpy as np
import pytest

import fastnn
from fastnn import _state, cli
from fastnn.data import load_digits


@pytest.fixture(scope="module")
def data():
    return load_digits()


KW = dict(
    lmbda=1.0,
    monitor_evaluation_accuracy=True,
    monitor_evaluation_cost=True,
    momentum=0.5,
    dropout=0.2,
    eta_schedule=3,
    early_stopping=50,
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ten_plus_ten_is_twenty_bit_for_bit(data, tmp_path, dtype):
    (X, y), valid, _ = data
    one = fastnn.Network([64, 20, 10], seed=5, dtype=dtype)
    lists20 = one.SGD((X, y), 20, 10, 0.5, evaluation_data=valid, **KW)

    two = fastnn.Network([64, 20, 10], seed=5, dtype=dtype)
    lists10 = two.SGD((X, y), 10, 10, 0.5, evaluation_data=valid, **KW)
    two.save(tmp_path / "ck.json", state=True)
    back = fastnn.load(tmp_path / "ck.json")
    assert back.seed == 5 and len(back.history.records) == 10
    more = back.SGD((X, y), 10, 10, 0.5, evaluation_data=valid, resume=True, **KW)

    assert np.array_equal(_state.parameters(back), _state.parameters(one))
    assert np.array_equal(_state.velocity(back), _state.velocity(one))
    assert lists10[1] + more[1] == lists20[1] and lists10[0] + more[0] == lists20[0]
    assert [r.eta for r in back.history.records] == [r.eta for r in one.history.records]
    assert [r.epoch for r in back.history.records] == list(range(1, 21))
    assert back.history.best_epoch == one.history.best_epoch
    assert back.history.restored_best == one.history.restored_best
    assert min(r.eta for r in one.history.records) < 0.5  # the schedule did act


def test_resume_without_a_run_or_on_other_data_is_an_error(data):
    (X, y), _, _ = data
    net = fastnn.Network([64, 5, 10], seed=0)
    with pytest.raises(ValueError, match="resume: this network has no training run"):
        net.SGD((X, y), 1, 10, 0.5, resume=True)
    net.SGD((X, y), 1, 10, 0.5)
    before = _state.parameters(net).copy()
    with pytest.raises(ValueError, match="trained on 1197 rows, this training_data has 100"):
        net.SGD((X[:100], y[:100]), 1, 10, 0.5, resume=True)
    assert np.array_equal(_state.parameters(net), before)


def test_a_plain_save_has_no_state_and_a_bad_state_is_named(data, tmp_path):
    (X, y), _, _ = data
    net = fastnn.Network([64, 5, 10], seed=0)
    net.SGD((X, y), 1, 10, 0.5, momentum=0.5)
    net.save(tmp_path / "plain.json")
    assert "state" not in json.loads((tmp_path / "plain.json").read_text())
    net.save(tmp_path / "ck.json", state=True)
    d = json.loads((tmp_path / "ck.json").read_text())
    d["state"]["run"]["perm"][0] = d["state"]["run"]["perm"][1]
    (tmp_path / "bad.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"bad\.json: invalid checkpoint: state\.run\.perm"):
        fastnn.load(tmp_path / "bad.json")


def _train(capsys, *extra):
    code = cli.main(
        [
            "train",
            "--data",
            "digits",
            "--sizes",
            "64,15,10",
            "--seed",
            "3",
            "--momentum",
            "0.3",
            "--eta-schedule",
            "2",
            "--no-progress",
            "-q",
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_cli_checkpoint_and_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path))
    _train(
        capsys,
        "--epochs",
        "8",
        "--save",
        str(tmp_path / "straight.json"),
        "--json",
        str(tmp_path / "h20.json"),
    )
    _train(capsys, "--epochs", "4", "--checkpoint", str(tmp_path / "ck.json"), "--resume")
    _train(
        capsys,
        "--epochs",
        "8",
        "--checkpoint",
        str(tmp_path / "ck.json"),
        "--resume",
        "--save",
        str(tmp_path / "resumed.json"),
        "--json",
        str(tmp_path / "h.json"),
    )
    a, b = fastnn.load(tmp_path / "straight.json"), fastnn.load(tmp_path / "resumed.json")
    assert np.array_equal(_state.parameters(a), _state.parameters(b))
    h, h20 = (json.loads((tmp_path / n).read_text()) for n in ("h.json", "h20.json"))
    assert [r["evaluation_accuracy"] for r in h["records"]] == [
        r["evaluation_accuracy"] for r in h20["records"]
    ]
    # the history JSON carries the run's settings and the final result
    assert h["run"]["sizes"] == [64, 15, 10] and h["run"]["seed"] == 3 and h["run"]["cost"] == "cross-entropy"
    assert h["run"]["momentum"] == 0.3 and h["run"]["data_name"] == "digits"
    assert h["result"]["split"] == "test" and h["result"]["epochs"] == 8
    assert h["result"] == dict(h20["result"], seconds=h["result"]["seconds"])


def test_cli_resume_of_another_network_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path))
    _train(capsys, "--epochs", "1", "--checkpoint", str(tmp_path / "ck.json"))
    code = cli.main(
        [
            "train",
            "--data",
            "digits",
            "--sizes",
            "64,20,10",
            "--checkpoint",
            str(tmp_path / "ck.json"),
            "--resume",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--resume:" in err and "[64, 15, 10]" in err
    code = cli.main(["train", "--data", "digits", "--resume"])
    assert code == 2 and "--resume needs --checkpoint" in capsys.readouterr().err
