"""The training history is kept in the model file (issue #24): after ``net = fastnn.load(path)``,
``net.history`` is the history of the run that trained it, so the README's ``net.history.plot()``
works on a loaded model; files without it (fastnn 0.2.0, network2) load with ``history`` None."""

import json

import numpy as np
import pytest
from conftest import classification_data

import fastnn


def test_history_saved_and_restored(tmp_path):
    X, y = classification_data(60)
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 3, 10, 0.5, evaluation_data=(X, y), monitor_evaluation_accuracy=True)
    net.save(tmp_path / "m.json")
    back = fastnn.load(tmp_path / "m.json")
    assert back.history is not None
    assert back.history.to_dict() == net.history.to_dict()
    assert [r.evaluation_accuracy for r in back.history.records] == [
        r.evaluation_accuracy for r in net.history.records
    ]


def test_loaded_history_plots(tmp_path):
    pytest.importorskip("matplotlib")
    X, y = classification_data(60)
    net = fastnn.Network([4, 5, 3], seed=0)
    net.SGD((X, y), 2, 10, 0.5, monitor_training_cost=True)
    net.save(tmp_path / "m.json")
    fastnn.load(tmp_path / "m.json").history.plot(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000


def test_version_1_file_loads_without_history(tmp_path):
    net = fastnn.Network([4, 5, 3], seed=0)
    net.save(tmp_path / "m.json")
    d = json.loads((tmp_path / "m.json").read_text())
    d["version"] = 1  # as fastnn 0.2.0 wrote it
    for k in ("history", "classes", "label_column"):
        d.pop(k, None)
    (tmp_path / "old.json").write_text(json.dumps(d))
    old = fastnn.load(tmp_path / "old.json")
    assert old.history is None and old.classes is None and old.label_column is None
    assert np.array_equal(old.weights[0], net.weights[0])
