"""A FIFO that nobody reads as an output (issue #23): never an endless hang — waited for
``fastnn._output_files.FIFO_WAIT`` seconds, then an OSError naming it; the command line reports it after
writing the other outputs (exit 1)."""

import json
import os
import threading
import time

import numpy as np
import pytest

from fastnn import _output_files, cli
from fastnn import io as fio


def test_fifo_without_reader_is_refused_after_the_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(_output_files, "FIFO_WAIT", 0.3)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(OSError, match="a FIFO with no reader"):
        fio.write_output(fifo, b"data")
    assert 0.25 < time.monotonic() - t0 < 5


def test_fifo_whose_reader_comes_late_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(_output_files, "FIFO_WAIT", 5.0)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []

    def late_reader():
        time.sleep(0.3)
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=late_reader)
    reader.start()
    fio.write_output(fifo, b"x" * 200_000)  # more than a pipe's buffer: blocking writes after open
    reader.join(10)
    assert got == [b"x" * 200_000]


def test_cli_save_to_a_fifo_without_reader(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_output_files, "FIFO_WAIT", 0.3)
    rng = np.random.default_rng(0)
    X = rng.random((50, 3))
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 0.5).astype(int))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    hist = tmp_path / "h.json"
    code = cli.main(
        [
            "train",
            "--data",
            str(tmp_path / "d.npz"),
            "--epochs",
            "2",
            "--save",
            str(fifo),
            "--json",
            str(hist),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "a FIFO with no reader" in err and "Traceback" not in err, err
    assert len(json.loads(hist.read_text())["records"]) == 2
