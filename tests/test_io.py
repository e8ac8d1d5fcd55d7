"""fastnn.io: save/load round trips, network2 compatibility, atomic writes, validation of bad files."""

import json
import os
import re
import stat

import numpy as np
import pytest

import fastnn
from fastnn import io as fio
from fastnn.network import Network

PAIRS = [
    ("quadratic", "sigmoid"),
    ("quadratic", "linear"),
    ("cross-entropy", "sigmoid"),
    ("log-likelihood", "softmax"),
]
DTYPES = [np.float64, np.float32]


def _net(
    sizes=(6, 5, 4, 3),
    cost="cross-entropy",
    output=None,
    hidden="sigmoid",
    weight_init="default",
    dtype=np.float64,
    seed=0,
):
    return Network(
        list(sizes), cost=cost, output=output, hidden=hidden, weight_init=weight_init, dtype=dtype, seed=seed
    )


def _X(n=7, d=6, seed=1, dtype=np.float64):
    return np.random.default_rng(seed).random((n, d)).astype(dtype)


def _assert_same_network(a, b):
    assert tuple(a.sizes) == tuple(b.sizes)
    assert a.cost is b.cost
    assert a.output == b.output and a.hidden == b.hidden and a.weight_init == b.weight_init
    assert np.dtype(a.dtype) == np.dtype(b.dtype)
    assert len(a.weights) == len(b.weights) == len(a.sizes) - 1
    for wa, wb, ba, bb in zip(a.weights, b.weights, a.biases, b.biases):
        assert wa.dtype == wb.dtype == np.dtype(a.dtype)
        np.testing.assert_array_equal(wa, wb)  # bit-for-bit: floats are written losslessly
        np.testing.assert_array_equal(np.ravel(ba), np.ravel(bb))
    X = _X(dtype=a.dtype, d=a.sizes[0])
    np.testing.assert_array_equal(a.feedforward(X), b.feedforward(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


# --------------------------------------------------------------------------------------------------
# round trips
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("cost,output", PAIRS)
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu"])
def test_round_trip_is_exact(tmp_path, dtype, cost, output, hidden):
    net = _net(cost=cost, output=output, hidden=hidden, dtype=dtype, seed=3)
    path = tmp_path / "model.json"
    net.save(path)
    loaded = fastnn.load(path)
    _assert_same_network(net, loaded)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_round_trip_after_training_and_large_init(tmp_path, dtype):
    net = _net(sizes=(6, 8, 3), weight_init="large", dtype=dtype, seed=5)
    rng = np.random.default_rng(0)
    X = rng.random((40, 6)).astype(dtype)
    y = rng.integers(0, 3, 40)
    net.SGD((X, y), 2, 5, 0.5, lmbda=0.1)
    path = tmp_path / "trained.json"
    fio.save(net, str(path))
    _assert_same_network(net, fio.load(str(path)))


def test_awkward_float_values_round_trip(tmp_path):
    """Subnormals, huge/tiny magnitudes, -0.0 and values with 17 significant digits."""
    for dtype in DTYPES:
        net = _net(sizes=(4, 3), dtype=dtype)
        info = np.finfo(dtype)
        w = np.array(
            [
                [info.tiny, -info.tiny / 4, 0.1, -0.0],
                [info.max / 2, info.eps, 1 / 3, np.nextafter(dtype(1), dtype(2))],
                [-1e-30, 2.0**-20, 123456.789, np.pi],
            ],
            dtype=dtype,
        )
        net.weights = [w]
        net.biases = [np.array([np.e, -np.e, 1e-7], dtype=dtype)]
        path = tmp_path / f"awkward-{np.dtype(dtype).name}.json"
        net.save(path)
        loaded = fastnn.load(path)
        assert loaded.weights[0].tobytes() == net.weights[0].tobytes()  # -0.0 included
        assert loaded.biases[0].tobytes() == np.ascontiguousarray(net.biases[0]).tobytes()


def test_float32_written_with_short_decimals(tmp_path):
    net = _net(sizes=(2, 2), dtype=np.float32)
    net.weights = [np.array([[0.1, 0.2], [0.3, -0.7]], dtype=np.float32)]
    net.biases = [np.array([1.5, 0.25], dtype=np.float32)]
    path = tmp_path / "f32.json"
    net.save(path)
    data = json.loads(path.read_text())
    assert data["weights"] == [[[0.1, 0.2], [0.3, -0.7]]]
    assert data["dtype"] == "float32"


def test_file_layout_is_network2_compatible(tmp_path):
    net = _net(sizes=(5, 4, 3), cost="cross-entropy", seed=2)
    path = tmp_path / "m.json"
    net.save(path)
    data = json.loads(path.read_text())
    assert data["format"] == fio.FORMAT
    assert data["version"] == fio.FORMAT_VERSION
    assert data["sizes"] == [5, 4, 3]
    assert data["cost"] == "CrossEntropyCost"
    assert data["output"] == "sigmoid" and data["hidden"] == "sigmoid" and data["dtype"] == "float64"
    # network2's shapes: weights (sizes[l+1], sizes[l]), biases column vectors (sizes[l+1], 1)
    assert [np.array(w).shape for w in data["weights"]] == [(4, 5), (3, 4)]
    assert [np.array(b).shape for b in data["biases"]] == [(4, 1), (3, 1)]
    # what network2.load does: np.array on each list; its feedforward gives our outputs
    ws = [np.array(w) for w in data["weights"]]
    bs = [np.array(b) for b in data["biases"]]
    x = _X(n=1, d=5)[0]
    a = x.reshape(-1, 1)
    for w, b in zip(ws, bs):
        a = 1.0 / (1.0 + np.exp(-(np.dot(w, a) + b)))
    np.testing.assert_allclose(a.ravel(), net.feedforward(x.reshape(1, -1))[0], rtol=1e-12)


@pytest.mark.parametrize(
    "cost,cls",
    [
        ("quadratic", "QuadraticCost"),
        ("cross-entropy", "CrossEntropyCost"),
        ("log-likelihood", "LogLikelihoodCost"),
    ],
)
def test_cost_written_as_class_name(tmp_path, cost, cls):
    path = tmp_path / "m.json"
    _net(cost=cost).save(path)
    assert json.loads(path.read_text())["cost"] == cls
    assert fastnn.load(path).cost.__name__ == cls


def test_save_via_method_and_function_write_the_same(tmp_path):
    net = _net(seed=9)
    net.save(tmp_path / "a.json")
    fio.save(net, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    _assert_same_network(fastnn.load(tmp_path / "a.json"), fio.load(tmp_path / "b.json"))


def test_save_overwrites_and_keeps_permissions(tmp_path):
    path = tmp_path / "m.json"
    _net(seed=1).save(path)
    os.chmod(path, 0o640)
    net2 = _net(seed=2)
    net2.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    _assert_same_network(net2, fastnn.load(path))
    assert sorted(os.listdir(tmp_path)) == ["m.json"]


def test_save_through_symlink_replaces_target(tmp_path):
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    _net(seed=1).save(target)
    os.symlink(target, link)
    net2 = _net(seed=2)
    net2.save(link)
    assert os.path.islink(link)
    _assert_same_network(net2, fastnn.load(target))


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastnn.load(tmp_path / "nope.json")


# --------------------------------------------------------------------------------------------------
# network2 files
# --------------------------------------------------------------------------------------------------
def _network2_file(path, sizes, cost, seed=0):
    """Write what network2.Network.save writes: biases (n, 1), weights (n_out, n_in), no fastnn fields."""
    rng = np.random.default_rng(seed)
    biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
    weights = [rng.standard_normal((y, x)) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]
    data = {
        "sizes": sizes,
        "weights": [w.tolist() for w in weights],
        "biases": [b.tolist() for b in biases],
        "cost": cost,
    }
    with open(path, "w") as f:
        json.dump(data, f)  # network2 uses json.dump with the default separators
    return weights, biases


def _network2_feedforward(weights, biases, x):
    """network2.Network.feedforward on one column vector."""
    a = x.reshape(-1, 1)
    for w, b in zip(weights, biases):
        a = 1.0 / (1.0 + np.exp(-(np.dot(w, a) + b)))
    return a.ravel()


@pytest.mark.parametrize("cost,name", [("CrossEntropyCost", "cross-entropy"), ("QuadraticCost", "quadratic")])
def test_load_network2_file(tmp_path, cost, name):
    sizes = [8, 6, 5, 4]
    path = tmp_path / "network2.json"
    weights, biases = _network2_file(path, sizes, cost)
    net = fastnn.load(path)
    assert list(net.sizes) == sizes
    assert net.cost.name == name and net.cost.__name__ == cost
    assert net.output == "sigmoid" and net.hidden == "sigmoid"
    assert np.dtype(net.dtype) == np.float64
    for w, b, w2, b2 in zip(net.weights, net.biases, weights, biases):
        np.testing.assert_array_equal(w, w2)
        np.testing.assert_array_equal(np.ravel(b), b2.ravel())

    # the same parameters put into a Network by hand predict the same
    same = Network(sizes, cost=name)
    same.weights = weights
    same.biases = [b.ravel() for b in biases]
    X = _X(n=20, d=8, seed=4)
    np.testing.assert_array_equal(net.feedforward(X), same.feedforward(X))
    np.testing.assert_array_equal(net.predict(X), same.predict(X))
    # and network2's own feedforward, example by example
    for x, row in zip(X, net.feedforward(X)):
        np.testing.assert_allclose(row, _network2_feedforward(weights, biases, x), rtol=1e-12)


def test_network2_file_saved_again_keeps_network2_fields(tmp_path):
    src = tmp_path / "n2.json"
    _network2_file(src, [4, 3, 2], "CrossEntropyCost")
    net = fastnn.load(src)
    dst = tmp_path / "again.json"
    net.save(dst)
    a, b = json.loads(src.read_text()), json.loads(dst.read_text())
    for key in ("sizes", "weights", "biases", "cost"):
        assert a[key] == b[key]


def test_load_accepts_flat_biases_and_integer_values(tmp_path):
    path = tmp_path / "flat.json"
    path.write_text(
        json.dumps(
            {"sizes": [2, 2], "weights": [[[1, 0], [0, -1]]], "biases": [[0, 0.5]], "cost": "QuadraticCost"}
        )
    )
    net = fastnn.load(path)
    np.testing.assert_array_equal(net.weights[0], [[1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_array_equal(np.ravel(net.biases[0]), [0.0, 0.5])


# --------------------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------------------
def _boom(*args, **kwargs):
    raise OSError(28, "No space left on device (simulated)")


@pytest.mark.parametrize("target", ["os.replace", "os.fsync", "write"])
def test_failed_save_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch, target):
    path = tmp_path / "model.json"
    old = _net(seed=1)
    old.save(path)
    before = path.read_bytes()

    if target == "write":
        real_fdopen = os.fdopen

        class _FailingFile:
            def __init__(self, f):
                self._f = f

            def write(self, data):
                self._f.write(data[: len(data) // 2])  # half written, then the disk is full
                raise OSError(28, "No space left on device (simulated)")

            def __getattr__(self, name):
                return getattr(self._f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self._f.close()
                return False

        monkeypatch.setattr(fio.os, "fdopen", lambda *a, **k: _FailingFile(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(fio.os, target.split(".")[1], _boom)

    with pytest.raises(OSError, match="simulated"):
        _net(seed=2).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.json"]
    _assert_same_network(old, fastnn.load(path))


def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    _net(seed=1).save(path)
    before = path.read_bytes()

    def interrupt(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(fio.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _net(seed=2).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(fio.os, "replace", _boom)
    with pytest.raises(OSError):
        _net().save(tmp_path / "new.json")
    assert os.listdir(tmp_path) == []


def test_save_into_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        _net().save(tmp_path / "no" / "such" / "dir.json")


def test_save_refuses_non_finite_parameters(tmp_path):
    net = _net(sizes=(3, 2))
    try:
        net.weights[0][1, 2] = np.nan  # the weights are views of the network's buffer
    except ValueError:
        pytest.skip("the weights are read-only views")
    if not np.isnan(net.weights[0][1, 2]):
        w = net.weights[0].copy()
        w[1, 2] = np.nan
        try:
            net.weights = [w]
        except ValueError:
            pytest.skip("Network refuses NaN weights")
    path = tmp_path / "nan.json"
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        net.save(path)
    assert not path.exists()
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------------
# validation of bad files: each raises ValueError naming the file and the first bad field
# --------------------------------------------------------------------------------------------------
def _good():
    net = _net(sizes=(3, 4, 2), seed=0)
    return fio.to_dict(net)


def _set(path, value):
    def mutate(d):
        obj = d
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
        return d

    return mutate


def _delete(key):
    def mutate(d):
        del d[key]
        return d

    return mutate


CORRUPT_DICTS = {
    "top-level-list": (lambda d: [d], "top level"),
    "wrong-format": (_set(["format"], "keras"), "format"),
    "wrong-version": (_set(["version"], 99), "version"),
    "version-string": (_set(["version"], "1"), "version"),
    "version-missing": (_delete("version"), "version"),
    "missing-sizes": (_delete("sizes"), "sizes"),
    "missing-weights": (_delete("weights"), "weights"),
    "missing-biases": (_delete("biases"), "biases"),
    "missing-cost": (_delete("cost"), "cost"),
    "sizes-not-list": (_set(["sizes"], 3), "sizes"),
    "sizes-one-layer": (_set(["sizes"], [3]), "sizes"),
    "sizes-zero": (_set(["sizes", 1], 0), "sizes[1]"),
    "sizes-float": (_set(["sizes", 0], 3.0), "sizes[0]"),
    "sizes-bool": (_set(["sizes", 2], True), "sizes[2]"),
    "unknown-cost": (_set(["cost"], "HingeCost"), "cost"),
    "cost-not-string": (_set(["cost"], 1), "cost"),
    "bad-output": (_set(["output"], "tanh"), "output"),
    "output-cost-mismatch": (_set(["output"], "softmax"), "output"),
    "bad-hidden": (_set(["hidden"], "gelu"), "hidden"),
    "bad-dtype": (_set(["dtype"], "float16"), "dtype"),
    "bad-weight-init": (_set(["weight_init"], "xavier"), "weight_init"),
    "weights-count": (lambda d: (d["weights"].pop(), d)[1], "weights"),
    "biases-count": (lambda d: (d["biases"].append([[0.0], [0.0]]), d)[1], "biases"),
    "weights-not-list": (_set(["weights"], {"0": 1}), "weights"),
    "weights-shape": (_set(["weights", 1], [[0.0] * 4] * 3), "weights[1]"),
    "weights-transposed": (
        lambda d: _set(["weights", 0], np.array(d["weights"][0]).T.tolist())(d),
        "weights[0]",
    ),
    "weights-ragged": (lambda d: (d["weights"][0][2].pop(), d)[1], "weights[0]"),
    "weights-string": (_set(["weights", 1, 0, 0], "0.5"), "weights[1]"),
    "weights-null": (_set(["weights", 0, 1, 1], None), "weights[0]"),
    "weights-bool": (_set(["weights", 1], [[True] * 4] * 2), "weights[1]"),
    "weights-nan": (_set(["weights", 1, 1, 3], float("nan")), "weights[1]"),
    "weights-inf": (_set(["weights", 0, 0, 0], float("-inf")), "weights[0]"),
    "biases-shape": (_set(["biases", 0], [[0.0]] * 3), "biases[0]"),
    "biases-row-vector": (_set(["biases", 1], [[0.0, 0.0]]), "biases[1]"),
    "biases-inf": (_set(["biases", 1, 0, 0], float("inf")), "biases[1]"),
    "float32-overflow": (
        lambda d: _set(["weights", 0, 0, 0], 1e300)(_set(["dtype"], "float32")(d)),
        "weights[0]",
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_DICTS))
def test_corrupt_model_names_file_and_field(tmp_path, case):
    mutate, field = CORRUPT_DICTS[case]
    path = tmp_path / f"{case}.json"
    path.write_text(
        json.dumps(mutate(_good()))
    )  # json writes NaN/Infinity tokens, as a careless writer would
    with pytest.raises(ValueError) as info:
        fastnn.load(path)
    message = str(info.value)
    assert str(path) in message
    assert f"{field}:" in message or f"{field}[" in message, message


CORRUPT_TEXTS = {
    "not-json": (b"this is not json\n", "invalid JSON"),
    "empty": (b"", "empty"),
    "whitespace": (b"  \n", "empty"),
    "binary": (b"\x80\x81\xfe\xff", "UTF-8"),
    "html": (b"<html><body>404</body></html>", "invalid JSON"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_TEXTS))
def test_non_json_files(tmp_path, case):
    content, expected = CORRUPT_TEXTS[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=expected) as info:
        fastnn.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.99])
def test_truncated_file(tmp_path, fraction):
    good = tmp_path / "good.json"
    _net(sizes=(3, 4, 2)).save(good)
    data = good.read_bytes()
    path = tmp_path / "truncated.json"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ValueError, match="truncated") as info:
        fastnn.load(path)
    assert str(path) in str(info.value)


def test_error_names_first_bad_field_only(tmp_path):
    d = _good()
    d["weights"][0][0][0] = float("nan")
    d["weights"][1][0][0] = float("nan")
    path = tmp_path / "m.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"weights\[0\]\[0\]\[0\]"):
        fastnn.load(path)


# =================================================================================================
# Model files: what tests/test_io.py does not cover already
# =================================================================================================
def test_refused_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.json"
    net = fastnn.Network([4, 5, 3], seed=0)
    net.save(path)
    before = path.read_bytes()
    net.weights[0][0, 0] = np.inf  # only possible by writing into the views
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        net.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]


def test_load_of_a_directory_or_binary_file_is_a_clear_error(tmp_path):
    with pytest.raises(OSError):
        fastnn.load(tmp_path)
    p = tmp_path / "noise.json"
    p.write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match=re.escape(str(p)) + ".*not UTF-8"):
        fastnn.load(p)
