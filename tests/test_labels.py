"""One label -> class mapping (issues #23 and #24): the classes of a data file are the labels present
(integers of any size or names such as iris's 'setosa'), stored in the model by `fastnn train`, so a
label's value never sets the network's width and `fastnn predict` prints the original labels; more
than 10,000 classes are refused; a label's value is reported as it is."""

import json
import re

import numpy as np
import pytest
from conftest import cli_main as main

import fastnn
from fastnn import files

pytestmark = pytest.mark.usefixtures("no_mnist")


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    d = load_iris()
    return d.data, d.target_names[d.target]


def test_iris_csv_string_labels_train_predict(iris, tmp_path, capsys):
    X, names = iris
    # UCI's iris.data layout: no header, the species name last
    with open(tmp_path / "iris.csv", "w") as f:
        for row, name in zip(X, names):
            f.write(",".join(f"{v:g}" for v in row) + f",{name}\n")
    code, out, err = main(
        capsys, "train", "--data", "iris.csv", "--epochs", "60", "--eta", "0.5", "--seed", "0",
        "--save", "iris.json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert "3 classes: setosa, versicolor, virginica" in out, out
    net = fastnn.load(tmp_path / "iris.json")
    assert net.sizes == (4, 30, 3) and net.classes == ["setosa", "versicolor", "virginica"]
    code, out, err = main(capsys, "predict", "iris.json", "--input", "iris.csv")
    assert code == 0, err
    predicted = out.split()
    assert set(predicted) <= {"setosa", "versicolor", "virginica"}
    assert predicted == [net.classes[k] for k in net.predict(X)]
    assert np.mean(np.array(predicted) == names) > 0.6
    code, out, err = main(capsys, "evaluate", "iris.json", "--data", "iris.csv")
    assert code == 0, err
    m = re.search(r"\(([\d,]+)/150\)", out)
    assert int(m.group(1)) == int(np.sum(np.array(predicted) == names))
    code, out, err = main(capsys, "predict", "iris.json", "--input", "iris.csv", "--scores")
    assert code == 0 and out.split("\t")[0] in net.classes, err


def test_quoted_names_and_a_header(tmp_path):
    (tmp_path / "q.csv").write_text('a,b,"kind"\n1,2,"cat"\n3,4,"dog"\n5,6,"cat"\n')
    d = files.read_labelled(tmp_path / "q.csv", label_column="kind")
    assert d.classes == ["cat", "dog"] and d.y.tolist() == [0, 1, 0]
    assert d.label_column == {"name": "kind", "index": 2, "columns": 3}


def test_a_label_value_does_not_set_the_width(tmp_path, capsys):
    """The 27-byte CSV of issue #23: label 3,000,000 built a [4, 30, 3000001] network."""
    (tmp_path / "big.csv").write_text("1,2,3,4,3000000\n5,6,7,8,0\n")
    code, out, err = main(
        capsys, "train", "--data", "big.csv", "--epochs", "1", "--batch", "1",
        "--validation-fraction", "0", "--save", "m.json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    net = fastnn.load(tmp_path / "m.json")
    assert net.sizes == (4, 30, 2) and net.classes == [0, 3000000]
    code, out, err = main(capsys, "predict", "m.json", "--input", "big.csv")
    assert code == 0 and set(out.split()) <= {"0", "3000000"}, err


@pytest.mark.parametrize(
    "label, shown",
    [("1e18", "1000000000000000000"), ("1099511627776", "1099511627776"), ("-7", "-7")],
)
def test_huge_and_negative_labels_are_classes(tmp_path, capsys, label, shown):
    (tmp_path / "d.csv").write_text(f"0.1,0.2,{label}\n0.3,0.4,1\n0.5,0.6,{label}\n")
    code, out, err = main(
        capsys, "train", "--data", "d.csv", "--epochs", "1", "--batch", "1",
        "--validation-fraction", "0", "--save", "m.json", "--no-progress",
    )  # fmt: skip
    assert code == 0 and "Traceback" not in err, err
    net = fastnn.load(tmp_path / "m.json")
    assert net.sizes[-1] == 2 and shown in map(str, net.classes)
    code, out, err = main(capsys, "predict", "m.json", "--input", "d.csv")
    assert code == 0 and set(out.split()) <= {shown, "1"}, err


def test_uint64_label_reported_as_it_is(tmp_path):
    np.savez(tmp_path / "u.npz", X=np.zeros((3, 2)), y=np.array([2**63, 1, 2**63], dtype=np.uint64))
    d = files.read_labelled(tmp_path / "u.npz")
    assert d.classes == [1, 2**63] and d.y.tolist() == [1, 0, 1]
    _, y, _ = files.load_file(tmp_path / "u.npz")
    assert [int(v) for v in y] == [2**63, 1, 2**63]


def test_more_than_10000_classes_refused(tmp_path, capsys):
    n = files.MAX_CLASSES + 1
    rows = "".join(f"0.5,{i}\n" for i in range(n))
    (tmp_path / "many.csv").write_text(rows)
    code, _, err = main(capsys, "train", "--data", "many.csv", "--no-progress")
    assert code == 1 and err.count("\n") == 1, err
    assert "10,001 distinct labels in column 1" in err and "more than 10,000 classes" in err, err
    assert "--label-column" in err


def test_network_too_wide_is_a_value_error():
    with pytest.raises(ValueError, match="sizes"):
        fastnn.Network([2, 30, 10**18])
    with pytest.raises(ValueError, match="sizes"):
        fastnn.Network([10**10, 10**10])


def test_which_column_was_the_label(tmp_path, capsys):
    # no --label-column: say which column was taken and suggest --label-column
    (tmp_path / "f.csv").write_text("0.1,0.2,1.5\n0.3,0.4,0.25\n")
    code, _, err = main(capsys, "train", "--data", "f.csv", "--no-progress")
    assert code == 1 and err.count("\n") == 1, err
    assert "labels must be integers" in err and "column 2" in err and "--label-column" in err, err
    # names in a feature column: which column, and which one was taken as the label
    (tmp_path / "s.csv").write_text("kind,a,b\ncat,1,2\ndog,3,4\n")
    code, _, err = main(capsys, "train", "--data", "s.csv", "--no-progress")
    assert code == 1 and err.count("\n") == 1, err
    assert "column 0 ('kind') holds 'cat'" in err and "column 2 ('b')" in err, err
    assert "--label-column kind" in err, err


def test_evaluate_with_unknown_labels(tmp_path, capsys):
    (tmp_path / "a.csv").write_text("0.1,0.2,cat\n0.3,0.4,dog\n0.2,0.1,cat\n0.4,0.3,dog\n")
    code, _, err = main(
        capsys, "train", "--data", "a.csv", "--epochs", "1", "--batch", "1",
        "--validation-fraction", "0", "--save", "m.json", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    (tmp_path / "b.csv").write_text("0.1,0.2,cat\n0.3,0.4,emu\n")
    code, _, err = main(capsys, "evaluate", "m.json", "--data", "b.csv")
    assert code == 1 and "['emu']" in err and "not among the model's classes" in err, err


def test_model_file_fields_are_validated(tmp_path):
    net = fastnn.Network([2, 3, 2], seed=0)
    net.classes = ["a", "b"]
    net.label_column = {"name": "y", "index": 0, "columns": 3}
    net.save(tmp_path / "m.json")
    back = fastnn.load(tmp_path / "m.json")
    assert back.classes == ["a", "b"] and back.label_column == net.label_column
    good = json.loads((tmp_path / "m.json").read_text())
    assert good["version"] == fastnn.io.FORMAT_VERSION == 2
    bad_values = [
        ("classes", ["a"]),
        ("classes", ["a", "a"]),
        ("classes", ["a", 1]),
        ("classes", [1.5, 2]),
        ("classes", "ab"),
        ("label_column", {"name": "y", "index": 5, "columns": 3}),
        ("label_column", {"name": "y", "index": 0, "columns": 4}),
        ("label_column", {"name": 3, "index": 0, "columns": 3}),
        ("label_column", [0]),
        ("history", {"records": [{"epoch": "x", "eta": 1, "n_training": 2}]}),
        ("history", {"records": [{"nope": 1}]}),
        ("history", []),
    ]
    for field, value in bad_values:
        d = dict(good, **{field: value})
        (tmp_path / "bad.json").write_text(json.dumps(d))
        with pytest.raises(ValueError, match=rf"bad\.json: invalid model file: {field}"):
            fastnn.load(tmp_path / "bad.json")


def test_tune_save_keeps_the_mapping(iris, tmp_path, capsys):
    pytest.importorskip("optuna")
    X, names = iris
    with open(tmp_path / "iris.csv", "w") as f:
        f.write("a,b,c,d,species\n")
        for row, name in zip(X, names):
            f.write(",".join(f"{v:g}" for v in row) + f",{name}\n")
    code, out, err = main(
        capsys, "tune", "--data", "iris.csv", "--trials", "2", "--epochs", "3", "--seed", "0",
        "--save", "best.json", "--no-progress", "-q",
    )  # fmt: skip
    assert code == 0, err
    net = fastnn.load(tmp_path / "best.json")
    assert net.classes == ["setosa", "versicolor", "virginica"] and net.label_column["name"] == "species"
    code, out, err = main(capsys, "predict", "best.json", "--input", "iris.csv")
    assert code == 0 and set(out.split()) <= set(net.classes), err
