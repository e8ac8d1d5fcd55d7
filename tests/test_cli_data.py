"""The first hour on the command line: train/evaluate/predict on your own .npz/CSV data, predict
inputs (CSV header, .npz --key, stdin, raw 0-255 warning), and the MNIST-not-found messages."""

import io
import re
import sys

import numpy as np
import pytest
from conftest import cli_main as main

import fastnn
from fastnn.data import load_digits

pytestmark = pytest.mark.usefixtures("no_mnist")


@pytest.fixture(scope="module")
def digits_xy():
    ds = load_digits()
    X = np.concatenate([ds.training[0], ds.validation[0]])
    y = np.concatenate([ds.training[1], ds.validation[1]])
    return X, y, ds.test


def test_train_on_npz_and_csv_then_evaluate_and_predict(digits_xy, tmp_path, capsys):
    X, y, (Xt, yt) = digits_xy
    np.savez(tmp_path / "d.npz", X=X, y=y)
    header = ",".join([f"p{i}" for i in range(64)] + ["label"])
    # the label in a named column that is not the last one
    table = np.column_stack([y, X])
    np.savetxt(
        tmp_path / "d.csv",
        table,
        delimiter=",",
        fmt="%.6g",
        header="label," + ",".join(f"p{i}" for i in range(64)),
        comments="",
    )
    np.savetxt(
        tmp_path / "test.csv",
        np.column_stack([Xt, yt]),
        delimiter=",",
        fmt="%.6g",
        header=header,
        comments="",
    )
    for data, extra in (("d.npz", []), ("d.csv", ["--label-column", "label"]), ("d.csv", [])):
        code, out, err = main(
            capsys,
            "train",
            "--data",
            data,
            *extra,
            "--epochs",
            "3",
            "--validation-fraction",
            "0.2",
            "--seed",
            "1",
            "--save",
            "m.json",
            "--no-progress",
        )
        assert code == 0, err
        assert re.search(r"data: d\.(npz|csv) \(1,198 training / 299 validation examples", out), out
        assert re.search(r"^validation: accuracy \d+\.\d+ %", out, re.M), out
    net = fastnn.load(tmp_path / "m.json")
    assert net.sizes == (64, 30, 10)
    code, out, err = main(capsys, "evaluate", "m.json", "--data", "test.csv")
    assert code == 0, err
    acc = net.accuracy(Xt, yt)
    assert f"({acc:,}/{len(yt):,})" in out
    code, out, err = main(capsys, "predict", "m.json", "--data", "test.csv", "-q")
    assert code == 0 and [int(v) for v in out.split()] == net.predict(Xt).tolist()


def test_validation_fraction_zero_trains_on_everything(digits_xy, tmp_path, capsys):
    X, y, _ = digits_xy
    np.savez(tmp_path / "d.npz", X=X[:200], y=y[:200])
    code, out, err = main(
        capsys, "train", "--data", "d.npz", "--validation-fraction", "0", "--epochs", "1", "--no-progress"
    )
    assert code == 0, err
    assert re.search(r"^training: accuracy", out, re.M)
    code, out, err = main(
        capsys,
        "train",
        "--data",
        "d.npz",
        "--validation-fraction",
        "0",
        "--early-stopping",
        "2",
        "--no-progress",
    )
    assert code == 2 and "no validation part" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"a,b\n", "a header row and no data"),
        (b"1,x,2\n3,y,4\n", "cannot read the rows as numbers"),
        (b"0.1,0.2,1.5\n", "labels must be integers"),
    ],
)
def test_bad_data_files_are_one_line(tmp_path, capsys, content, message):
    (tmp_path / "bad.csv").write_bytes(content)
    code, _out, err = main(capsys, "train", "--data", "bad.csv", "--no-progress")
    assert code == 1 and err.count("\n") == 1 and message in err and "bad.csv" in err, err


def test_npz_without_X_and_y(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 4)))
    code, _out, err = main(capsys, "train", "--data", "bad.npz")
    assert code == 1 and "'X' or 'x'" in err and "['images']" in err


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("model")
    net = fastnn.Network([64, 30, 10], seed=0)
    net.SGD(load_digits().training, 2, 10, 0.5)
    net.save(d / "m.json")
    return d / "m.json", net


def test_predict_inputs(model, tmp_path, capsys, monkeypatch):
    path, net = model
    Xt = load_digits().test[0][:6]
    want = net.predict(Xt).tolist()
    np.savetxt(
        tmp_path / "h.csv", Xt, delimiter=",", header=",".join(f"p{i}" for i in range(64)), comments=""
    )
    np.savetxt(
        tmp_path / "labelled.csv",
        np.column_stack([Xt, np.arange(6)]),
        delimiter=",",
        header=",".join([f"p{i}" for i in range(64)] + ["label"]),
        comments="",
    )
    np.savez(tmp_path / "one.npz", Xt)
    np.savez(tmp_path / "two.npz", images=Xt, other=np.zeros(3))
    np.save(tmp_path / "x.npy", Xt)
    cases = [
        ["--input", "h.csv"],
        ["--input", "labelled.csv"],
        ["--input", "one.npz"],
        ["--input", "two.npz", "--key", "images"],
        ["--input", "x.npy"],
    ]
    for extra in cases:
        code, out, err = main(capsys, "predict", path, *extra)
        assert code == 0, (extra, err)
        assert [int(v) for v in out.split()] == want and err == "", extra
    code, out, err = main(capsys, "predict", path, "--input", "two.npz")
    assert code == 1 and "--key" in err and "['images', 'other']" in err
    code, out, err = main(capsys, "predict", path, "--input", "two.npz", "--key", "nope")
    assert code == 1 and "no array named 'nope'" in err

    for payload in (open(tmp_path / "h.csv", "rb").read(), open(tmp_path / "x.npy", "rb").read()):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(payload)))
        code, out, err = main(capsys, "predict", path, "--input", "-")
        assert code == 0 and [int(v) for v in out.split()] == want, err

    raw = np.round(Xt * 255)
    np.savetxt(tmp_path / "raw.csv", raw, delimiter=",", fmt="%d")
    code, out, err = main(capsys, "predict", path, "--input", "raw.csv")
    assert code == 0 and "warning: the input looks like raw 0-255 pixels" in err and "--scale 255" in err
    code, out, err = main(capsys, "predict", path, "--input", "raw.csv", "--scale", "255")
    assert code == 0 and err == ""
    assert [int(v) for v in out.split()] == net.predict(raw / 255).tolist()


def test_mnist_not_found_says_so(tmp_path, capsys, monkeypatch):
    code, _out, err = main(capsys, "train", "--sizes", "784,30,10")
    assert code == 1 and "MNIST not found" in err and "fastnn download mnist" in err, err
    assert "looked in" in err and "64 inputs" not in err
    code, _out, err = main(capsys, "train", "--data", "mnist")
    assert code == 1 and "MNIST not found" in err and "fastnn download mnist" in err
    code, _out, err = main(capsys, "train", "--data-dir", "nowhere")
    assert code == 1 and "--data-dir nowhere does not exist" in err and "download mnist --dir" in err
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "typo"))
    code, _out, err = main(capsys, "train", "--epochs", "1")
    assert code == 1 and "$FASTNN_DATA=" in err and "does not exist" in err, err
    with pytest.raises(FileNotFoundError, match="FASTNN_DATA"):
        fastnn.data.load_mnist()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "--epochz", "3"], "did you mean --epochs? (see 'fastnn train --help')"),
        (["trian"], "did you mean train?"),
        (["train", "--hidden", "relux"], "did you mean relu? (see 'fastnn train --help')"),
        (["evaluate", "m.json", "--splt", "test"], "did you mean --split? (see 'fastnn evaluate --help')"),
        (["train", "--data", "digits", "--sizes", "64,5,7"], "10 classes (see 'fastnn train --help')"),
    ],
)
def test_usage_errors_suggest_and_name_the_command_help(capsys, args, expected):
    code, _out, err = main(capsys, *args)
    assert code == 2 and err.startswith("fastnn: error: ") and err.count("\n") == 1, err
    assert expected in err, err


def test_choices_take_any_case(capsys):
    code, out, err = main(
        capsys,
        "train",
        "--data",
        "Digits",
        "--hidden",
        "ReLU",
        "--cost",
        "CrossEntropy",
        "--regularization",
        "L1",
        "--eval",
        "Test",
        "--epochs",
        "1",
        "--sizes",
        "64,5,10",
        "--no-progress",
    )
    assert code == 0, err
    assert "hidden=relu" in out and "l1" in out


def test_raw_pixel_warning_names_the_divisor(model, tmp_path, capsys):
    """0-16 data (scikit-learn's digits as they come) -> --scale 16, not --scale 255."""
    path, _ = model
    raw = np.round(load_digits().test[0][:6] * 16)
    np.savetxt(tmp_path / "raw16.csv", raw, delimiter=",", fmt="%d")
    code, _, err = main(capsys, "predict", path, "--input", "raw16.csv")
    assert code == 0 and "raw 0-16 pixels" in err and "--scale 16" in err and "255" not in err, err
