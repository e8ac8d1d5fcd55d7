"""fastnn.export: ONNX (checked with ONNX Runtime), PyTorch interop, the estimators' to_onnx/coefs_,
the `fastnn export` command and the user guide's "Use the model elsewhere" example (docs/guide.md)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import package_env, run_python

import fastnn
from fastnn import _state, cli
from fastnn.export import from_torch, to_onnx, to_torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUTS = (
    ("cross-entropy", "sigmoid"),
    ("quadratic", "sigmoid"),
    ("log-likelihood", "softmax"),
    ("quadratic", "linear"),
)
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _z_last(net, X):
    """Weighted input of the output layer, in float64 from the stored parameters (numpy)."""
    a = np.asarray(X, dtype=np.float64)
    L = len(net.weights)
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        z = a @ np.asarray(w, np.float64).T + np.asarray(b, np.float64)
        if l < L - 1:
            a = {
                "sigmoid": lambda t: 1 / (1 + np.exp(-t)),
                "tanh": np.tanh,
                "relu": lambda t: np.maximum(t, 0),
            }[net.hidden](z)
    return z


def _rule(net, X):
    """predict's rule: argmax of zᴸ; one sigmoid output: zᴸ ≥ 0."""
    z = _z_last(net, X)
    if z.shape[1] == 1 and net.output == "sigmoid":
        return (z[:, 0] >= 0).astype(np.int64)
    return z.argmax(axis=1)


# ------------------------------------------------------------------------------------------------
# ONNX: every hidden activation x output x dtype, batch 1 and 1,000
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cost,output", OUTPUTS, ids=[f"{c}+{o}" for c, o in OUTPUTS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnx_runtime_equals_feedforward_and_predict(hidden, cost, output, dtype):
    net = fastnn.Network([12, 9, 7, 5], cost=cost, output=output, hidden=hidden, dtype=dtype, seed=3)
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    session = _session(model)
    out_name = {"linear": "output", "sigmoid": "activations", "softmax": "probabilities"}[output]
    assert [i.name for i in session.get_inputs()] == ["X"]
    assert [o.name for o in session.get_outputs()] == [out_name, "label"]
    rng = np.random.default_rng(7)
    tol = TOL[dtype]
    for n in (1, 1000):
        X = rng.standard_normal((n, 12)).astype(dtype)
        a, label = session.run(None, {"X": X})
        assert a.dtype == dtype and a.shape == (n, 5)
        np.testing.assert_allclose(a, net.feedforward(X), rtol=tol, atol=tol)
        assert label.dtype == np.int64 and label.shape == (n,)
        np.testing.assert_array_equal(label, net.predict(X))
        np.testing.assert_array_equal(label, _rule(net, X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(
    "cost,output", [("cross-entropy", "sigmoid"), ("quadratic", "linear"), ("log-likelihood", "softmax")]
)
def test_onnx_one_output(cost, output, dtype):
    """One output neuron: label = (z >= 0) for a sigmoid, argmax (always 0) otherwise, as predict."""
    net = fastnn.Network([6, 4, 1], cost=cost, output=output, dtype=dtype, seed=1)
    session = _session(to_onnx(net))
    X = np.random.default_rng(2).standard_normal((1000, 6)).astype(dtype)
    a, label = session.run(None, {"X": X})
    np.testing.assert_allclose(a, net.feedforward(X), rtol=TOL[dtype], atol=TOL[dtype])
    expected = _rule(net, X)
    if output == "sigmoid":
        assert 0 < expected.sum() < len(X)  # both labels occur
    np.testing.assert_array_equal(label, expected)
    np.testing.assert_array_equal(label, net.predict(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_onnx_label_uses_z_where_saturated_outputs_tie(dtype):
    net = fastnn.Network([2, 3], cost="cross-entropy", dtype=dtype)
    net.weights = [np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])]
    net.biases = [np.array([60.0, 50.0, 50.0])]
    X = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 30.0], [5.0, 5.0]], dtype=dtype)
    a, label = _session(to_onnx(net)).run(None, {"X": X})
    assert np.all(a == 1.0)  # every output saturated: argmax of a is useless
    np.testing.assert_array_equal(label, [0, 1, 2, 0])
    np.testing.assert_array_equal(label, net.predict(X))


def test_onnx_model_details(tmp_path):
    net = fastnn.Network([784, 30, 10], cost="log-likelihood", hidden="relu", dtype=np.float32, seed=0)
    path = tmp_path / "net.onnx"
    model = to_onnx(net, path)
    assert path.read_bytes() == model.SerializeToString()
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    meta = {p.key: p.value for p in loaded.metadata_props}
    assert meta["sizes"] == "[784, 30, 10]" and meta["cost"] == "log-likelihood"
    assert meta["output"] == "softmax" and meta["hidden"] == "relu" and meta["dtype"] == "float32"
    assert meta["fastnn_version"] == fastnn.__version__
    assert loaded.producer_name == "fastnn" and loaded.producer_version == fastnn.__version__
    assert loaded.opset_import[0].version == 17
    ops = [n.op_type for n in loaded.graph.node]
    assert ops.count("Gemm") == 2 and "Relu" in ops and "Softmax" in ops and "ArgMax" in ops
    for node in loaded.graph.node:
        if node.op_type == "Gemm":
            assert {a.name: a.i for a in node.attribute}["transB"] == 1
        if node.op_type == "Softmax":
            assert {a.name: a.i for a in node.attribute}["axis"] == 1
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in loaded.graph.initializer}
    np.testing.assert_array_equal(inits["W1"], net.weights[0])  # weights as stored (n_out, n_in)
    np.testing.assert_array_equal(inits["b2"], net.biases[1])
    dim = loaded.graph.input[0].type.tensor_type.shape.dim
    assert dim[0].dim_param == "N" and dim[1].dim_value == 784
    assert loaded.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("sizes", [(3, 4, 2), (3, 4, 1)], ids=["softmax", "one-sigmoid"])
def test_onnx_every_supported_opset_runs(sizes):
    cost = "log-likelihood" if sizes[-1] == 2 else "cross-entropy"
    net = fastnn.Network(list(sizes), cost=cost, seed=4)
    X = np.random.default_rng(4).standard_normal((30, 3))
    for opset in range(13, onnx.defs.onnx_opset_version() + 1):
        model = to_onnx(net, opset=opset)
        assert model.opset_import[0].version == opset
        try:
            session = _session(model)
        except Exception as e:  # an onnx newer than the installed ONNX Runtime
            if opset > 17 and "opset" in str(e).lower():
                break
            raise
        a, label = session.run(None, {"X": X})
        np.testing.assert_allclose(a, net.feedforward(X), rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(label, _rule(net, X))


def test_onnx_options_and_errors(tmp_path):
    net = fastnn.Network([3, 4, 2], seed=0)
    only_label = to_onnx(net, probabilities=False)
    assert [o.name for o in only_label.graph.output] == ["label"]
    X = np.random.default_rng(0).random((5, 3))
    (label,) = _session(only_label).run(None, {"X": X})
    np.testing.assert_array_equal(label, net.predict(X))
    m13 = to_onnx(net, opset=13)
    assert m13.opset_import[0].version == 13
    np.testing.assert_array_equal(_session(m13).run(["label"], {"X": X})[0], net.predict(X))
    with pytest.raises(ValueError, match=r"opset: expected an integer in \[13, "):
        to_onnx(net, opset=12)
    with pytest.raises(TypeError, match="opset: expected an integer"):
        to_onnx(net, opset="17")
    with pytest.raises(TypeError, match=r"net: expected a fastnn\.Network, got str"):
        to_onnx("model.json")
    # a failed write leaves the previous file intact and no temporary file behind
    path = tmp_path / "keep.onnx"
    path.write_bytes(b"old")
    with pytest.raises(ValueError):
        to_onnx(net, path, opset=99)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["keep.onnx"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_onnx_with_a_users_cost_class():
    class MyCost:  # network2-style, not a built-in: training only
        @staticmethod
        def fn(a, y):
            return np.sum((a - y) ** 2)

        @staticmethod
        def delta(z, a, y):
            return 2 * (a - y) * a * (1 - a)

    net = fastnn.Network([3, 4, 2], cost=MyCost, seed=0)
    model = to_onnx(net)
    assert {p.key: p.value for p in model.metadata_props}["cost"] == "custom:MyCost"
    X = np.random.default_rng(0).random((20, 3))
    a, label = _session(model).run(None, {"X": X})
    np.testing.assert_allclose(a, net.feedforward(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(label, net.predict(X))


def test_onnx_missing_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "fastnn\[onnx\]"'):
        to_onnx(fastnn.Network([2, 2]))


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------
def test_cli_export(tmp_path, capsys):
    net = fastnn.Network([5, 6, 3], cost="log-likelihood", hidden="tanh", dtype=np.float32, seed=2)
    net.save(tmp_path / "m.json")
    out = tmp_path / "m.onnx"
    assert cli.main(["export", str(tmp_path / "m.json"), str(out), "--opset", "15"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "wrote" in captured.err
    model = onnx.load(str(out))
    assert model.opset_import[0].version == 15
    X = np.random.default_rng(1).random((50, 5)).astype(np.float32)
    a, label = _session(model).run(None, {"X": X})
    np.testing.assert_allclose(a, net.feedforward(X), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(label, net.predict(X))


@pytest.mark.parametrize("case", ["missing", "bad", "opset", "outdir", "no-onnx"])
def test_cli_export_errors(tmp_path, capsys, monkeypatch, case):
    good = tmp_path / "m.json"
    fastnn.Network([2, 3, 2], seed=0).save(good)
    bad = tmp_path / "bad.json"
    bad.write_text('{"sizes": [2, 2]')
    out = str(tmp_path / "m.onnx")
    argv, code, pattern = {
        "missing": (["export", str(tmp_path / "nope.json"), out], 1, "model file not found"),
        "bad": (["export", str(bad), out], 1, "not a fastnn/network2 model file"),
        "opset": (["export", str(good), out, "--opset", "7"], 2, r"--opset 7: expected an integer"),
        "outdir": (["export", str(good), str(tmp_path / "no" / "m.onnx")], 1, "does not exist"),
        "no-onnx": (["export", str(good), out], 1, r'pip install "fastnn\[onnx\]"'),
    }[case]
    if case == "no-onnx":
        monkeypatch.setitem(sys.modules, "onnx", None)
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fastnn: error: ")
    assert re.search(pattern, err), err
    assert not os.path.exists(out)


# ------------------------------------------------------------------------------------------------
# scikit-learn estimators
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "cost,output", [("log-likelihood", None), ("cross-entropy", None), ("quadratic", "linear")]
)
def test_classifier_to_onnx_gives_classes_values(iris, cost, output, dtype):
    from fastnn.sklearn import NetworkClassifier

    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = NetworkClassifier((8,), cost=cost, output=output, epochs=5, dtype=dtype, random_state=0).fit(
        X, names
    )
    model = clf.to_onnx()
    onnx.checker.check_model(model, full_check=True)
    proba, label = _session(model).run(None, {"X": X.astype(dtype)})
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=tol, atol=tol)
    assert label.dtype == object and set(label) <= set(names)
    np.testing.assert_array_equal(label, clf.predict(X))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([10, 20, 30]),
        np.array([-3, 5, 7], dtype=np.int32),
        np.array(["x", "why", "zed"], dtype=object),
        np.array([False, True]),
    ],
    ids=["int", "int32", "object", "bool"],
)
def test_classifier_to_onnx_label_types(iris, labels, tmp_path):
    from fastnn.sklearn import NetworkClassifier

    X, y = iris
    y = labels[y % len(labels)]
    clf = NetworkClassifier((6,), epochs=3, random_state=1).fit(X, y)
    path = tmp_path / "clf.onnx"
    clf.to_onnx(path)
    _, label = ort.InferenceSession(str(path)).run(None, {"X": X})
    # strings come back as ONNX Runtime's object arrays of str; other types keep their dtype
    expected = object if clf.classes_.dtype.kind in "USO" else clf.classes_.dtype
    assert label.dtype == expected
    np.testing.assert_array_equal(label, clf.predict(X))


def test_regressor_to_onnx(iris):
    from fastnn.sklearn import NetworkRegressor

    X, _ = iris
    one = NetworkRegressor((8,), epochs=5, random_state=0).fit(X[:, :3], X[:, 3])
    (out,) = _session(one.to_onnx()).run(None, {"X": X[:, :3]})
    assert out.shape == (len(X),)
    np.testing.assert_allclose(out, one.predict(X[:, :3]), rtol=1e-12, atol=1e-12)
    two = NetworkRegressor((8,), epochs=5, random_state=0, dtype="float32").fit(X[:, :2], X[:, 2:])
    (out,) = _session(two.to_onnx()).run(None, {"X": X[:, :2].astype(np.float32)})
    assert out.shape == (len(X), 2)
    np.testing.assert_allclose(out, two.predict(X[:, :2]), rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_coefs_and_intercepts_in_mlpclassifier_layout(iris):
    from sklearn.exceptions import NotFittedError
    from sklearn.neural_network import MLPClassifier

    from fastnn.sklearn import NetworkClassifier

    X, y = iris
    clf = NetworkClassifier((8, 5), epochs=3, random_state=0)
    assert not hasattr(clf, "coefs_")
    with pytest.raises(NotFittedError):
        _ = clf.intercepts_
    with pytest.raises(NotFittedError):
        clf.to_onnx()
    clf.fit(X, y)
    mlp = MLPClassifier((8, 5), max_iter=5, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [c.shape for c in mlp.coefs_] == [(4, 8), (8, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [b.shape for b in mlp.intercepts_]
    net = clf.network_
    for c, b, w, nb in zip(clf.coefs_, clf.intercepts_, net.weights, net.biases):
        np.testing.assert_array_equal(c, w.T)
        np.testing.assert_array_equal(b, nb)
        assert np.shares_memory(c, _state.parameters(net)) and np.shares_memory(b, _state.parameters(net))
        with pytest.raises(ValueError, match="read-only"):
            c[0, 0] = 1.0
        with pytest.raises(ValueError, match="read-only"):
            b[0] = 1.0
    assert net.weights[0].flags.writeable  # the network's own views stay writable
    # MLPClassifier-style code reading a fastnn model: a forward pass through coefs_/intercepts_
    a = X
    for c, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        a = 1 / (1 + np.exp(-(a @ c + b)))
    z = a @ clf.coefs_[-1] + clf.intercepts_[-1]
    np.testing.assert_array_equal(clf.classes_[z.argmax(1)], clf.predict(X))
    coefs_before = clf.coefs_[0].copy()
    clf.partial_fit(X, y)  # views follow further training
    assert not np.array_equal(clf.coefs_[0], coefs_before)


# ------------------------------------------------------------------------------------------------
# the user guide's example, run as written
# ------------------------------------------------------------------------------------------------
def _guide_block(title):
    text = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def _env():
    """The subprocess imports the same fastnn as this process (installed or built in place)."""
    return package_env()


def test_guide_onnx_example_runs_as_written(tmp_path):
    blocks = _guide_block("Use the model elsewhere")
    code = blocks[0]
    assert len(code.strip().splitlines()) == 6
    run = run_python(code, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "model.onnx").exists()


@pytest.mark.slow
def test_guide_torch_example_runs_as_written(tmp_path, torch):
    onnx_block, torch_block = _guide_block("Use the model elsewhere")[:2]
    code = onnx_block + torch_block + "assert net.sizes == (784, 30, 10)\n"
    run = run_python(code, cwd=tmp_path)
    assert run.returncode == 0, run.stderr


# ------------------------------------------------------------------------------------------------
# PyTorch (never a dependency: skipped without torch; slow, for torch's import time)
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cost,output", OUTPUTS, ids=[f"{c}+{o}" for c, o in OUTPUTS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_to_torch_equals_feedforward_and_round_trips(torch, hidden, cost, output, dtype):
    net = fastnn.Network([10, 8, 6, 4], cost=cost, output=output, hidden=hidden, dtype=dtype, seed=5)
    module = to_torch(net)
    assert isinstance(module, torch.nn.Sequential) and not module.training
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 3
    assert all(m.weight.dtype == (torch.float32 if dtype == np.float32 else torch.float64) for m in linears)
    if output == "softmax":
        assert isinstance(module[-1], torch.nn.Softmax) and module[-1].dim == 1
    X = np.random.default_rng(0).standard_normal((1000, 10)).astype(dtype)
    with torch.no_grad():
        a = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(a, net.feedforward(X), rtol=TOL[dtype], atol=TOL[dtype])
    back = from_torch(module, cost=cost)
    assert (back.sizes, back.cost, back.output, back.hidden, back.dtype) == (
        net.sizes,
        net.cost,
        net.output,
        net.hidden,
        net.dtype,
    )
    for w, v in zip(back.weights + back.biases, net.weights + net.biases):
        np.testing.assert_array_equal(w, v)
    # copies, not views of torch's memory
    with torch.no_grad():
        linears[0].weight.zero_()
    assert np.any(back.weights[0] != 0)


@pytest.mark.slow
def test_from_torch_mapping(torch):
    nn = torch.nn
    torch.manual_seed(0)
    X = torch.randn(200, 6, dtype=torch.float64)

    def check(module, expected_output, expected_cost, transform=lambda t: t, **kw):
        net = from_torch(module, **kw)
        assert net.output == expected_output and net.cost.name == expected_cost
        with torch.no_grad():
            ref = transform(module(X)).numpy()
        np.testing.assert_allclose(net.feedforward(X.numpy()), ref, rtol=1e-12, atol=1e-12)
        return net

    logits = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 4)).double()
    net = check(logits, "softmax", "log-likelihood", lambda t: torch.softmax(t, 1), cost="log-likelihood")
    assert net.hidden == "relu" and net.sizes == (6, 9, 4)
    check(logits, "linear", "quadratic")  # logits, no cost given
    check(logits, "linear", "quadratic", cost="quadratic")
    logsm = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3), nn.LogSoftmax(dim=1)).double()
    check(logsm, "softmax", "log-likelihood", torch.exp)
    sm = (
        nn.Sequential(
            nn.Linear(6, 5), nn.Sigmoid(), nn.Dropout(0.5), nn.Linear(5, 3, bias=False), nn.Softmax(dim=-1)
        )
        .double()
        .eval()
    )
    check(sm, "softmax", "log-likelihood")
    sig = nn.Sequential(nn.Sequential(nn.Linear(6, 5), nn.Sigmoid()), nn.Linear(5, 1), nn.Sigmoid()).double()
    check(sig, "sigmoid", "cross-entropy")
    check(sig, "sigmoid", "quadratic", cost="quadratic")
    f32 = from_torch(nn.Sequential(nn.Linear(6, 2)))
    assert f32.dtype == np.float32 and f32.sizes == (6, 2)


@pytest.mark.slow
def test_from_torch_refuses_what_fastnn_cannot_represent(torch):
    nn = torch.nn
    cases = [
        (nn.Sequential(nn.Linear(4, 5), nn.GELU(), nn.Linear(5, 2)), r"module\[1\] \(GELU"),
        (
            nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Sigmoid(), nn.Linear(5, 2)),
            r"module\[1\] \(BatchNorm1d",
        ),
        (nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), r"module\[0\] \(Flatten"),
        (nn.Sequential(nn.Linear(4, 5), nn.Linear(5, 2)), r"module\[1\].*without an activation"),
        (
            nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2)),
            "mix activations",
        ),
        (nn.Sequential(nn.Linear(4, 5), nn.Softmax(dim=1), nn.Linear(5, 2)), r"module\[1\].*hidden"),
        (nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2), nn.ReLU()), r"module\[3\]"),
        (nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=0)), r"module\[1\].*dim=1"),
        (nn.Sequential(nn.Linear(4, 2), nn.Sigmoid(), nn.Tanh()), r"module\[2\].*follows another"),
        (nn.Sequential(nn.Tanh(), nn.Linear(4, 2)), r"module\[0\].*before the first Linear"),
        (nn.Sequential(), "no Linear layer"),
        (nn.Sequential(nn.Linear(4, 2).half()), "float32 or all float64"),
    ]
    for module, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            from_torch(module)
    with pytest.raises(ValueError, match="cost='cross-entropy' cannot be used with logits"):
        from_torch(nn.Sequential(nn.Linear(4, 2)), cost="cross-entropy")
    with pytest.raises(ValueError, match="cost='quadratic' cannot be used with a trailing softmax"):
        from_torch(nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=1)), cost="quadratic")
    with pytest.raises(TypeError, match=r"expected a torch\.nn\.Sequential.*got Linear"):
        from_torch(nn.Linear(4, 2))
    with pytest.raises(TypeError, match=r"net: expected a fastnn\.Network"):
        to_torch(nn.Linear(4, 2))


def test_torch_missing_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        to_torch(fastnn.Network([2, 2]))
    with pytest.raises(ImportError, match="pip install torch"):
        from_torch(object())


# ------------------------------------------------------------------------------------------------
# MNIST end to end: fastnn train -> save -> load -> to_onnx -> ONNX Runtime
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow  # MNIST training + ONNX Runtime
@pytest.mark.mnist
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_mnist_onnx_accuracy_equals_fastnn_to_the_last_image(mnist_dir, mnist, tmp_path, dtype, capsys):
    model_json, model_onnx = tmp_path / "model.json", tmp_path / "model.onnx"
    assert (
        cli.main(
            [
                "train",
                "--data-dir",
                str(mnist_dir),
                "--sizes",
                "784,30,10",
                "--epochs",
                "1",
                "--train-size",
                "10000",
                "--dtype",
                dtype,
                "--seed",
                "1",
                "-q",
                "--no-progress",
                "--save",
                str(model_json),
            ]
        )
        == 0
    )
    assert cli.main(["export", str(model_json), str(model_onnx), "-q"]) == 0
    capsys.readouterr()
    net = fastnn.load(model_json)
    Xt, yt = mnist.test
    Xt = Xt.astype(dtype)
    assert onnx.load(str(model_onnx)).SerializeToString() == to_onnx(net).SerializeToString()
    _, label = ort.InferenceSession(str(model_onnx)).run(None, {"X": Xt})
    fastnn_correct = net.accuracy(Xt, yt)
    assert fastnn_correct > 8000
    assert int(np.sum(label == yt)) == fastnn_correct
    np.testing.assert_array_equal(label, net.predict(Xt))


def test_cli_export_onto_a_directory_is_refused(tmp_path, capsys):
    fastnn.Network([2, 3, 2], seed=0).save(tmp_path / "m.json")
    (tmp_path / "d").mkdir()
    assert cli.main(["export", str(tmp_path / "m.json"), str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastnn: error: cannot write") and err.count("\n") == 1
    assert os.listdir(tmp_path / "d") == []


@pytest.mark.slow  # a subprocess importing the exporter (~2 s)
def test_importing_the_exporter_imports_neither_onnx_nor_torch():
    code = (
        "import sys, fastnn.export, fastnn.sklearn, fastnn.cli; "
        "assert not {'onnx', 'onnxruntime', 'torch'} & set(sys.modules), sorted(sys.modules)"
    )
    run = run_python(code)
    assert run.returncode == 0, run.stderr[-2000:]


def test_cli_export_to_stdout(tmp_path):
    model = tmp_path / "m.json"
    fastnn.Network([3, 4, 2], seed=0).save(model)
    run = subprocess.run(
        [sys.executable, "-m", "fastnn", "export", str(model), "-"],
        check=False,
        env=_env(),
        capture_output=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert b"wrote the model to stdout" in run.stderr
    assert run.stdout == to_onnx(fastnn.load(model)).SerializeToString()


def test_onnx_output_named_for_what_it_is():
    """Sigmoid outputs are not probabilities (rows do not sum to 1): 'activations'; softmax:
    'probabilities'."""
    sig = fastnn.Network([6, 4, 3], seed=0)
    soft = fastnn.Network([6, 4, 3], cost="log-likelihood", seed=0)
    assert [o.name for o in _session(to_onnx(sig)).get_outputs()] == ["activations", "label"]
    assert [o.name for o in _session(to_onnx(soft)).get_outputs()] == ["probabilities", "label"]
    X = np.random.default_rng(0).standard_normal((50, 6))
    a = _session(to_onnx(sig)).run(["activations"], {"X": X})[0]
    assert not np.allclose(a.sum(axis=1), 1.0)
    p = _session(to_onnx(soft)).run(["probabilities"], {"X": X})[0]
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


def test_onnx_float32_export_of_a_float64_network(tmp_path, capsys):
    net = fastnn.Network([6, 4, 3], seed=0)
    net.classes = ["a", "b", "c"]
    X = np.random.default_rng(1).standard_normal((200, 6))
    session = _session(to_onnx(net, dtype="float32"))
    assert session.get_inputs()[0].type == "tensor(float)"
    a, label = session.run(None, {"X": X.astype(np.float32)})
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, net.feedforward(X), rtol=1e-5, atol=1e-6)
    assert np.mean(label == net.predict(X)) > 0.98
    assert net.dtype == np.float64 and net.classes == ["a", "b", "c"]  # the network is unchanged
    meta = {p.key: p.value for p in to_onnx(net).metadata_props}
    assert json.loads(meta["classes"]) == ["a", "b", "c"]
    with pytest.raises(TypeError, match="dtype: expected float32 or float64"):
        to_onnx(net, dtype="float16")
    net.save(tmp_path / "m.json")
    code = cli.main(["export", str(tmp_path / "m.json"), str(tmp_path / "m.onnx"), "--dtype", "float32"])
    err = capsys.readouterr().err
    assert code == 0 and "float32, outputs activations" in err, err
    assert _session(onnx.load(str(tmp_path / "m.onnx"))).get_inputs()[0].type == "tensor(float)"
