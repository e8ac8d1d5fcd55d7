"""`fastnn predict` on a CSV (issue #24): the model remembers the label column it was trained with
(name and position), `predict` drops that column (or the one --label-column names) and refuses a row
width that is neither the model's input width nor that plus the label column. The round trip
train -> predict agrees with `evaluate`, wherever the label column is."""

import re

import numpy as np
import pytest
from conftest import cli_main as main

import fastnn
from fastnn.data import load_digits

pytestmark = pytest.mark.usefixtures("no_mnist")


@pytest.fixture(scope="module")
def digits_rows():
    ds = load_digits()
    X = np.concatenate([ds.training[0], ds.validation[0]])[:600]
    y = np.concatenate([ds.training[1], ds.validation[1]])[:600]
    return X, y


def _write_csv(path, X, y, where, header=True):
    """The digits with the label column 'digit' first, last or in the middle."""
    cols = [f"px{i}" for i in range(X.shape[1])]
    at = {"first": 0, "last": X.shape[1], "middle": 20}[where]
    table = np.insert(X, at, y, axis=1)
    names = [*cols[:at], "digit", *cols[at:]]
    np.savetxt(path, table, delimiter=",", fmt="%.6g", header=",".join(names) if header else "", comments="")
    return at


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("header", [True, False])
def test_csv_round_trip_agrees_with_evaluate(digits_rows, tmp_path, capsys, where, header):
    X, y = digits_rows
    at = _write_csv(tmp_path / "mine.csv", X, y, where, header)
    label = "digit" if header else str(at)
    code, out, err = main(
        capsys,
        "train",
        "--data",
        "mine.csv",
        "--label-column",
        label,
        "--epochs",
        "4",
        "--seed",
        "3",
        "--save",
        "m.json",
        "--no-progress",
    )
    assert code == 0, err
    net = fastnn.load(tmp_path / "m.json")
    assert net.label_column == {"name": "digit" if header else None, "index": at, "columns": 65}
    assert net.classes == list(range(10))

    # evaluate on the whole file (the model's label column, no --label-column needed)
    code, out, err = main(capsys, "evaluate", "m.json", "--data", "mine.csv")
    assert code == 0, err
    m = re.search(r"accuracy [\d.]+ % \(([\d,]+)/([\d,]+)\)", out)
    correct = int(m.group(1).replace(",", ""))
    assert correct == net.accuracy(X, y)

    # predict --input: the same file, the label column dropped by the model's memory
    code, out, err = main(capsys, "predict", "m.json", "--input", "mine.csv")
    assert code == 0, err
    predicted = np.array([int(v) for v in out.split()])
    assert predicted.tolist() == net.predict(X).tolist()
    assert int(np.sum(predicted == y)) == correct  # the same count as evaluate
    # and with --label-column given explicitly
    code, out2, err = main(capsys, "predict", "m.json", "--input", "mine.csv", "--label-column", label)
    assert code == 0 and out2 == out, err
    # predict --data FILE (the model's label column too)
    code, out3, err = main(capsys, "predict", "m.json", "--data", "mine.csv", "-q")
    assert code == 0 and out3 == out, err


def test_label_column_by_name_moves_with_the_header(digits_rows, tmp_path, capsys):
    """A file for prediction whose header has the label column elsewhere: found by its name."""
    X, y = digits_rows
    _write_csv(tmp_path / "train.csv", X, y, "first")
    code, _, err = main(
        capsys, "train", "--data", "train.csv", "--label-column", "digit", "--epochs", "2",
        "--seed", "1", "--save", "m.json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    net = fastnn.load(tmp_path / "m.json")
    _write_csv(tmp_path / "later.csv", X[:50], y[:50], "last")
    code, out, err = main(capsys, "predict", "m.json", "--input", "later.csv")
    assert code == 0, err
    assert [int(v) for v in out.split()] == net.predict(X[:50]).tolist()


def test_predict_refuses_other_row_widths(digits_rows, tmp_path, capsys):
    X, y = digits_rows
    _write_csv(tmp_path / "mine.csv", X, y, "middle")
    code, _, err = main(
        capsys, "train", "--data", "mine.csv", "--label-column", "digit", "--epochs", "1",
        "--save", "m.json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    np.savetxt(tmp_path / "wide.csv", np.column_stack([X[:5], y[:5], y[:5]]), delimiter=",", fmt="%g")
    code, out, err = main(capsys, "predict", "m.json", "--input", "wide.csv")
    assert code == 1 and out == "" and "rows of 66 values" in err and "64 inputs" in err, err
    np.savetxt(tmp_path / "narrow.csv", X[:5, :63], delimiter=",", fmt="%g")
    code, out, err = main(capsys, "predict", "m.json", "--input", "narrow.csv")
    assert code == 1 and "rows of 63 values" in err, err
    # features only: used as they are; --label-column then names a column that is not there
    np.savetxt(tmp_path / "x.csv", X[:5], delimiter=",", fmt="%.6g")
    code, out, err = main(capsys, "predict", "m.json", "--input", "x.csv")
    assert code == 0 and len(out.split()) == 5, err
    code, out, err = main(capsys, "predict", "m.json", "--input", "x.csv", "--label-column", "3")
    assert code == 1 and "the model's inputs alone" in err, err
    np.save(tmp_path / "x.npy", X[:5])
    code, out, err = main(capsys, "predict", "m.json", "--input", "x.npy", "--label-column", "3")
    assert code == 1 and "for CSV/text files" in err, err


def test_old_model_without_label_memory_still_predicts(digits_rows, tmp_path, capsys):
    """A model with no label column (Network.save, 0.2.0 files): a 'label' header column, else the last."""
    X, y = digits_rows
    net = fastnn.Network([64, 30, 10], seed=0)
    net.SGD((X, y), 2, 10, 0.5)
    net.save(tmp_path / "m.json")
    np.savetxt(tmp_path / "l.csv", np.column_stack([X[:20], y[:20]]), delimiter=",", fmt="%.6g")
    code, out, err = main(capsys, "predict", "m.json", "--input", "l.csv")
    assert code == 0 and [int(v) for v in out.split()] == net.predict(X[:20]).tolist(), err
    np.savetxt(tmp_path / "f.csv", np.column_stack([y[:20], X[:20]]), delimiter=",", fmt="%.6g")
    code, out, err = main(capsys, "predict", "m.json", "--input", "f.csv", "--label-column", "0")
    assert code == 0 and [int(v) for v in out.split()] == net.predict(X[:20]).tolist(), err
