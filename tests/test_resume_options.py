"""`fastnn train --resume` (issue #24): --epochs at or below the checkpoint's epoch, or a training
option other than the checkpoint's run (--eta, --lmbda, --batch, --seed, --momentum, ...), is
refused with exit 2 and a message, unless --force-resume is given."""

import numpy as np
import pytest
from conftest import cli_main

import fastnn
from fastnn import _state, cli

pytestmark = pytest.mark.usefixtures("no_mnist")

BASE = [
    "train",
    "--data",
    "digits",
    "--sizes",
    "64,15,10",
    "--seed",
    "3",
    "--momentum",
    "0.3",
    "--no-progress",
    "-q",
]


def run(capsys, *extra):
    return cli_main(capsys, *BASE, *extra)


@pytest.fixture
def checkpoint(tmp_path, capsys):
    code, _, err = run(capsys, "--epochs", "3", "--checkpoint", tmp_path / "ck.json")
    assert code == 0, err
    return tmp_path / "ck.json"


def test_epochs_not_beyond_the_checkpoint_refused(checkpoint, capsys, tmp_path):
    for epochs in ("2", "3"):
        code, _, err = run(
            capsys, "--epochs", epochs, "--checkpoint", checkpoint, "--resume", "--save", "m.json"
        )
        assert code == 2 and err.count("\n") == 1, err
        assert f"after epoch 3 already and --epochs {epochs} is the total" in err and "--force-resume" in err
        assert not (tmp_path / "m.json").exists()
    # the override: nothing trained, the outputs written from the checkpoint
    code, _, err = run(
        capsys, "--epochs", "3", "--checkpoint", checkpoint, "--resume", "--force-resume", "--save", "m.json"
    )
    assert code == 0, err
    assert np.array_equal(
        _state.parameters(fastnn.load(tmp_path / "m.json")), _state.parameters(fastnn.load(checkpoint))
    )


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--eta", "0.1"], "--eta 0.5; these options give --eta 0.1"),
        (["--lmbda", "2"], "--lmbda"),
        (["--batch", "20"], "--batch 10; these options give --batch 20"),
        (["--seed", "4"], "--seed 3; these options give --seed 4"),
        (["--momentum", "0.5"], "--momentum 0.3; these options give --momentum 0.5"),
        (["--dropout", "0.2"], "--dropout"),
        (["--no-shuffle"], "shuffling on; these options give shuffling off"),
    ],
)
def test_changed_options_refused(checkpoint, capsys, extra, says):
    code, _, err = run(capsys, "--epochs", "5", "--checkpoint", checkpoint, "--resume", *extra)
    assert code == 2 and err.count("\n") == 1, err
    assert says in err and "--force-resume" in err, err
    code, _, err = run(
        capsys, "--epochs", "5", "--checkpoint", checkpoint, "--resume", "--force-resume", *extra
    )
    assert code == 0, err


def test_same_options_resume(checkpoint, capsys):
    code, _, err = run(capsys, "--epochs", "5", "--checkpoint", checkpoint, "--resume")
    assert code == 0, err


def test_force_resume_needs_resume(capsys):
    code, _, err = run(capsys, "--epochs", "1", "--force-resume")
    assert code == 2 and "--force-resume is for --resume" in err


def test_default_lambda_is_the_books_lambda_over_n(capsys):
    """λ = n / 10,000 (5.0 for MNIST's 50,000 images), printed in the settings line."""
    code = cli.main(
        ["train", "--data", "digits", "--epochs", "1", "--seed", "1", "--no-progress", "--json", "h.json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    n = len(fastnn.data.load_digits().training[1])
    first = out.splitlines()[0]  # the run's first line says the lambda used
    assert f"lambda={n / 10_000:.4g} (default: n / 10,000 for n = {n:,} training examples)" in first, out
    import json

    with open("h.json") as f:
        doc = json.load(f)
    assert doc["settings"]["lmbda"] == n / 10_000 and doc["run"]["lmbda"] == n / 10_000
    code = cli.main(["train", "--data", "digits", "--epochs", "1", "--lmbda", "5", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0 and "lambda=5\n" in out and "default: n" not in out, out
