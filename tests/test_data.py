"""Tests for fastnn.data: IDX/pickle readers, MNIST lookup, digits, expansion, one-hot."""

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from fastnn.data import (
    Dataset,
    expand,
    find_mnist,
    load_digits,
    load_mnist,
    load_pickle,
    mnist_available,
    onehot,
    read_idx,
)

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


# --------------------------------------------------------------------------------------------------
# helpers writing small IDX files
# --------------------------------------------------------------------------------------------------
def idx_bytes(arr, magic=None):
    arr = np.asarray(arr, dtype=np.uint8)
    if magic is None:
        magic = 0x00000800 | arr.ndim
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.tobytes()


def write(path, data, gz):
    path = Path(str(path) + ".gz") if gz else Path(path)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return path


def make_mnist(directory, n_train=6, n_test=3, shape=(28, 28), gz=True, dotted=False, seed=0):
    """Write a tiny, valid MNIST in `directory`; return the uint8 arrays and the file paths."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    arrays["train_images"][0, 0, 0] = 255  # exercise both ends of the range
    arrays["train_images"][0, 0, 1] = 0
    paths = {}
    for role, name in NAMES.items():
        if dotted:
            stem, _, rest = name.rpartition("-idx")
            name = f"{stem}.idx{rest}"
        paths[role] = write(directory / name, idx_bytes(arrays[role]), gz)
    return arrays, paths


# --------------------------------------------------------------------------------------------------
# IDX round trip
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("dotted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_load_mnist_roundtrip(tmp_path, gz, dotted, dtype):
    arrays, _ = make_mnist(tmp_path, gz=gz, dotted=dotted)
    ds = load_mnist(tmp_path, dtype=dtype, validation_size=2)
    assert isinstance(ds, Dataset)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = ds
    img = arrays["train_images"].reshape(6, 784)
    lab = arrays["train_labels"]
    for X, y, u8, lab_ in (
        (Xtr, ytr, img[:4], lab[:4]),
        (Xva, yva, img[4:], lab[4:]),
        (Xte, yte, arrays["test_images"].reshape(3, 784), arrays["test_labels"]),
    ):
        assert X.dtype == np.dtype(dtype) and X.flags.c_contiguous and X.shape == (len(u8), 784)
        assert y.dtype == np.int64 and y.shape == (len(u8),)
        np.testing.assert_array_equal(X, u8.astype(dtype) / dtype(255))
        np.testing.assert_array_equal(np.rint(X * 255).astype(np.uint8), u8)
        np.testing.assert_array_equal(y, lab_)
    assert Xtr.min() == 0.0 and Xtr.max() == 1.0
    assert ds.n_inputs == 784
    assert ds.n_classes == max(int(lab.max()), int(arrays["test_labels"].max())) + 1
    assert "training=(X(4, 784)" in repr(ds)


def test_load_mnist_mixed_compression_and_zero_validation(tmp_path):
    arrays, paths = make_mnist(tmp_path, gz=True)
    # replace one file by its uncompressed version
    raw = gzip.decompress(paths["test_labels"].read_bytes())
    paths["test_labels"].unlink()
    (tmp_path / NAMES["test_labels"]).write_bytes(raw)
    ds = load_mnist(tmp_path, validation_size=0)
    assert ds.training[0].shape == (6, 784) and ds.validation[0].shape == (0, 784)
    np.testing.assert_array_equal(ds.test[1], arrays["test_labels"])


def test_load_mnist_other_image_size(tmp_path):
    make_mnist(tmp_path, shape=(5, 4))
    ds = load_mnist(tmp_path, validation_size=1)
    assert ds.training[0].shape == (5, 20) and ds.test[0].shape == (3, 20)


def test_validation_size_too_large(tmp_path):
    make_mnist(tmp_path)
    with pytest.raises(ValueError, match="validation_size"):
        load_mnist(tmp_path)  # default 10000 > 6 images
    with pytest.raises(ValueError, match="validation_size"):
        load_mnist(tmp_path, validation_size=-1)
    with pytest.raises(TypeError, match="validation_size"):
        load_mnist(tmp_path, validation_size=2.5)


def test_argument_types(tmp_path):
    make_mnist(tmp_path)
    with pytest.raises(TypeError, match="dtype"):
        load_mnist(tmp_path, dtype=np.int32, validation_size=2)
    with pytest.raises(TypeError, match="path"):
        load_mnist(123)


def test_read_idx_generic(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = write(tmp_path / "x", idx_bytes(a), gz=False)
    out = read_idx(p)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, a)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "y", idx_bytes(a), gz=True)), a)


# --------------------------------------------------------------------------------------------------
# corrupt files
# --------------------------------------------------------------------------------------------------
def replace(paths, role, data, gz=True):
    paths[role].unlink()
    return write(paths[role].with_suffix("") if gz else paths[role], data, gz)


def test_bad_magic_swapped(tmp_path):
    arrays, paths = make_mnist(tmp_path)
    # a label file where the images should be
    replace(paths, "train_images", idx_bytes(arrays["train_labels"]))
    with pytest.raises(ValueError) as e:
        load_mnist(tmp_path, validation_size=2)
    msg = str(e.value)
    assert NAMES["train_images"] in msg and "bad magic 0x00000801" in msg and "0x00000803" in msg


def test_bad_magic_not_idx(tmp_path):
    _, paths = make_mnist(tmp_path)
    replace(paths, "test_labels", b"\x12\x34\x08\x01" + b"\x00" * 20)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*bad magic 0x12340801"):
        load_mnist(tmp_path, validation_size=2)


def test_bad_type_code(tmp_path):
    arrays, paths = make_mnist(tmp_path)
    replace(paths, "train_labels", idx_bytes(arrays["train_labels"], magic=0x00000D01))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.*0x00000D01.*unsigned byte"):
        load_mnist(tmp_path, validation_size=2)


def test_wrong_dims_between_files(tmp_path):
    _arrays, paths = make_mnist(tmp_path)
    replace(paths, "test_images", idx_bytes(np.zeros((3, 27, 28), np.uint8)))
    with pytest.raises(ValueError) as e:
        load_mnist(tmp_path, validation_size=2)
    msg = str(e.value)
    assert NAMES["test_images"] in msg and NAMES["train_images"] in msg and "27x28" in msg


def test_zero_dimension(tmp_path):
    _, paths = make_mnist(tmp_path)
    replace(paths, "train_images", idx_bytes(np.zeros((6, 0, 28), np.uint8)))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.*dimension"):
        load_mnist(tmp_path, validation_size=2)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated(tmp_path, gz):
    arrays, paths = make_mnist(tmp_path, gz=gz)
    data = idx_bytes(arrays["train_images"])
    replace(paths, "train_images", data[:-100], gz=gz)
    with pytest.raises(ValueError) as e:
        load_mnist(tmp_path, validation_size=2)
    msg = str(e.value)
    assert NAMES["train_images"] in msg
    assert f"expected {len(data)} bytes" in msg and f"got {len(data) - 100}" in msg
    assert "truncated" in msg


def test_truncated_header(tmp_path):
    _, paths = make_mnist(tmp_path)
    replace(paths, "test_images", b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.*truncated header"):
        load_mnist(tmp_path, validation_size=2)
    replace(paths, "test_images", b"\x00\x00")
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.*too short"):
        load_mnist(tmp_path, validation_size=2)


def test_trailing_data(tmp_path):
    arrays, paths = make_mnist(tmp_path)
    replace(paths, "test_labels", idx_bytes(arrays["test_labels"]) + b"\x00")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*expected 11 bytes.*got 12"):
        load_mnist(tmp_path, validation_size=2)


def test_truncated_gzip_stream(tmp_path):
    _, paths = make_mnist(tmp_path)
    gzdata = paths["train_images"].read_bytes()
    paths["train_images"].write_bytes(gzdata[: len(gzdata) // 2])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz.*gzip"):
        load_mnist(tmp_path, validation_size=2)


def test_count_mismatch(tmp_path):
    arrays, paths = make_mnist(tmp_path)
    replace(paths, "train_labels", idx_bytes(arrays["train_labels"][:5]))
    with pytest.raises(ValueError) as e:
        load_mnist(tmp_path, validation_size=2)
    msg = str(e.value)
    assert NAMES["train_images"] in msg and NAMES["train_labels"] in msg
    assert "6 images" in msg and "5 labels" in msg


def test_label_out_of_range(tmp_path):
    arrays, paths = make_mnist(tmp_path)
    labels = arrays["test_labels"].copy()
    labels[1] = 10
    replace(paths, "test_labels", idx_bytes(labels))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*label 10 at index 1.*0\.\.9"):
        load_mnist(tmp_path, validation_size=2)


# --------------------------------------------------------------------------------------------------
# lookup
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No $FASTNN_DATA and an empty home directory (so ~/.fastnn/mnist does not exist)."""
    monkeypatch.delenv("FASTNN_DATA", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_missing_file(tmp_path):
    _, paths = make_mnist(tmp_path / "d")
    paths["test_labels"].unlink()
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path / "d", validation_size=2)
    msg = str(e.value)
    assert "'t10k-labels-idx1-ubyte'" in msg
    assert "train-images-idx3-ubyte'" not in msg.split("Looked in")[0]  # only the missing one named
    assert str(tmp_path / "d") in msg and str(tmp_path / "d" / "mnist") in msg
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in msg and "FASTNN_DATA" in msg
    assert find_mnist(tmp_path / "d")[0] is None
    assert not mnist_available(tmp_path / "d")


def test_missing_everything_lists_every_place(no_env, tmp_path, monkeypatch):
    env = tmp_path / "envdata"
    env.mkdir()
    monkeypatch.setenv("FASTNN_DATA", str(env))
    with pytest.raises(FileNotFoundError) as e:
        load_mnist()
    msg = str(e.value)
    for place in (env, env / "mnist", no_env / ".fastnn" / "mnist"):
        assert str(place) in msg
    assert "train-images-idx3-ubyte" in msg and "does not exist" in msg
    assert "fastnn download mnist" in msg
    directory, reason = find_mnist()
    assert directory is None and reason == msg


def test_fastnn_data_that_does_not_exist_is_an_error(no_env, tmp_path, monkeypatch):
    """Not a silent fall-back to ~/.fastnn/mnist (issue #16)."""
    make_mnist(no_env / ".fastnn" / "mnist")
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "typo"))
    for call in (load_mnist, find_mnist):
        with pytest.raises(FileNotFoundError, match=r"\$FASTNN_DATA=.*typo: does not exist"):
            call()


def test_fastnn_data_directory(no_env, tmp_path, monkeypatch):
    arrays, _ = make_mnist(tmp_path / "files")
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "files"))
    directory, reason = find_mnist()
    assert directory == tmp_path / "files" and "$FASTNN_DATA" in reason
    assert mnist_available()
    ds = load_mnist(validation_size=2)
    np.testing.assert_array_equal(ds.test[1], arrays["test_labels"])


def test_fastnn_data_parent(no_env, tmp_path, monkeypatch):
    make_mnist(tmp_path / "data" / "mnist", gz=False)
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "data"))
    directory, reason = find_mnist()
    assert directory == tmp_path / "data" / "mnist" and "$FASTNN_DATA/mnist" in reason
    assert load_mnist(validation_size=2).training[0].shape == (4, 784)


def test_default_home_dir(no_env):
    make_mnist(no_env / ".fastnn" / "mnist")
    directory, reason = find_mnist()
    assert directory == no_env / ".fastnn" / "mnist" and "default" in reason
    assert load_mnist(validation_size=2).validation[0].shape == (2, 784)


def test_path_argument_wins_and_does_not_fall_back(no_env, tmp_path, monkeypatch):
    make_mnist(tmp_path / "env")
    monkeypatch.setenv("FASTNN_DATA", str(tmp_path / "env"))
    make_mnist(tmp_path / "explicit" / "mnist", n_train=7)
    assert load_mnist(tmp_path / "explicit", validation_size=2).training[0].shape == (5, 784)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path / "empty", validation_size=2)
    assert str(tmp_path / "env") not in str(e.value)


# --------------------------------------------------------------------------------------------------
# network2's mnist.pkl.gz
# --------------------------------------------------------------------------------------------------
def nielsen_like(seed=0, sizes=(5, 3, 2), d=784):
    rng = np.random.default_rng(seed)
    return tuple(
        (
            rng.integers(0, 256, (n, d)).astype(np.float32) / np.float32(255),
            rng.integers(0, 10, n).astype(np.int64),
        )
        for n in sizes
    )


def write_pickle(path, obj, gz=True, protocol=2):
    data = pickle.dumps(obj, protocol=protocol)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz,protocol", [(True, 2), (False, 2), (True, 4), (True, 5)])
def test_load_pickle(tmp_path, gz, protocol):
    obj = nielsen_like()
    p = write_pickle(tmp_path / "mnist.pkl.gz", obj, gz=gz, protocol=protocol)
    ds = load_pickle(p)
    assert isinstance(ds, Dataset)
    for (X, y), (X0, y0) in zip(ds, obj):
        assert X.dtype == np.float64 and X.flags.c_contiguous and y.dtype == np.int64
        np.testing.assert_array_equal(X, X0.astype(np.float64))
        np.testing.assert_array_equal(y, y0)
    ds32 = load_pickle(p, dtype=np.float32)
    assert ds32.training[0].dtype == np.float32
    np.testing.assert_array_equal(ds32.training[0], obj[0][0])


def test_load_pickle_legacy_numpy_names(tmp_path):
    """network2's file was written by Python 2 NumPy: globals under numpy.core.multiarray."""
    obj = nielsen_like(sizes=(2, 1, 1), d=4)
    data = pickle.dumps(obj, protocol=2)
    if b"numpy._core.multiarray" in data:
        data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    p = tmp_path / "legacy.pkl.gz"
    p.write_bytes(gzip.compress(data))
    ds = load_pickle(p)
    np.testing.assert_array_equal(ds.test[0], obj[2][0])


def test_load_mnist_delegates_to_pickle(tmp_path):
    obj = nielsen_like(sizes=(3, 2, 2))
    p = write_pickle(tmp_path / "mnist.pkl.gz", obj)
    ds = load_mnist(p)
    np.testing.assert_array_equal(ds.validation[1], obj[1][1])


@pytest.mark.parametrize(
    "obj,match",
    [
        (((1, 2), (3, 4)), "3 parts"),
        ("nope", "expected a tuple"),
        ([(np.zeros((2, 4)), np.zeros(2, int))] * 2 + [(np.zeros((2, 4)),)], "test: expected a pair"),
        ([(np.zeros(4), np.zeros(4, int))] * 3, "X must be a 2-D array"),
        ([(np.zeros((2, 4)), np.zeros((2, 1), int))] * 3, "y must be a 1-D array"),
        ([(np.zeros((2, 4)), np.zeros(3, int))] * 3, "2 rows but y has 3"),
        (
            [(np.zeros((2, 4)), np.zeros(2, int))] * 2 + [(np.zeros((2, 5)), np.zeros(2, int))],
            "test: X has 5 columns",
        ),
        ([(np.full((2, 4), 255.0), np.zeros(2, int))] * 3, r"in \[0, 1\]"),
        ([(np.zeros((2, 4)), np.array([0, 11]))] * 3, "label 11"),
        ([(np.zeros((2, 4)), np.array([0.5, 1.0]))] * 3, "integer labels"),
    ],
)
def test_load_pickle_bad_structure(tmp_path, obj, match):
    p = write_pickle(tmp_path / "bad.pkl.gz", obj)
    with pytest.raises(ValueError, match=match) as e:
        load_pickle(p)
    assert "bad.pkl.gz" in str(e.value)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_load_pickle_refuses_code(tmp_path):
    p = write_pickle(tmp_path / "evil.pkl.gz", (_Evil(), 1, 2))
    with pytest.raises(ValueError, match="refusing to load global"):
        load_pickle(p)


def test_load_pickle_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothere\.pkl\.gz"):
        load_pickle(tmp_path / "nothere.pkl.gz")
    p = tmp_path / "trunc.pkl.gz"
    p.write_bytes(gzip.compress(pickle.dumps(nielsen_like(), protocol=2))[:-50])
    with pytest.raises(ValueError, match=r"trunc\.pkl\.gz"):
        load_pickle(p)
    p2 = tmp_path / "trunc.pkl"
    p2.write_bytes(pickle.dumps(nielsen_like(), protocol=2)[:1000])
    with pytest.raises(ValueError, match=r"trunc\.pkl"):
        load_pickle(p2)


# --------------------------------------------------------------------------------------------------
# digits
# --------------------------------------------------------------------------------------------------
def _check_dataset(ds, rows, n_inputs, n_classes=10):
    """A loaded data set: parts of `rows` (training, validation, test) rows, float64 C-contiguous X
    in [0, 1] (1 reached), int64 labels in [0, n_classes)."""
    assert tuple(len(y) for _, y in ds) == rows
    for X, y in ds:
        assert X.shape == (len(y), n_inputs) and y.shape == (len(y),)
        assert X.dtype == np.float64 and X.flags.c_contiguous and y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
        assert y.min() >= 0 and y.max() < n_classes
    assert ds.training[0].max() == 1.0
    assert ds.n_inputs == n_inputs and ds.n_classes == n_classes


def test_load_digits(digits):
    _check_dataset(digits, (1197, 300, 300), 64)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = digits
    # the three parts are a permutation of scikit-learn's data
    from sklearn.datasets import load_digits as sk

    ref = sk()
    allX = np.concatenate([Xtr, Xva, Xte]) * 16
    ally = np.concatenate([ytr, yva, yte])
    order = np.lexsort(np.column_stack([allX, ally]).T)
    ref_order = np.lexsort(np.column_stack([ref.data, ref.target]).T)
    np.testing.assert_array_equal(allX[order], ref.data[ref_order])
    np.testing.assert_array_equal(ally[order], ref.target[ref_order])
    # every class appears in every part
    for y in (ytr, yva, yte):
        assert len(np.unique(y)) == 10


def test_load_digits_reproducible(digits):
    again = load_digits(seed=0)
    for (X1, y1), (X2, y2) in zip(digits, again):
        np.testing.assert_array_equal(X1, X2)
        np.testing.assert_array_equal(y1, y2)
    other = load_digits(seed=1)
    assert not np.array_equal(other.training[1], digits.training[1])
    f32 = load_digits(dtype=np.float32, seed=0)
    assert f32.training[0].dtype == np.float32
    np.testing.assert_array_equal(f32.training[0], digits.training[0].astype(np.float32))
    custom = load_digits(n_validation=100, n_test=0)
    assert custom.training[0].shape == (1697, 64) and custom.test[0].shape == (0, 64)
    with pytest.raises(ValueError, match="n_validation"):
        load_digits(n_validation=1000, n_test=1000)
    with pytest.raises(TypeError, match="dtype"):
        load_digits(dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# expand
# --------------------------------------------------------------------------------------------------
def shifted(img, d, axis):
    """np.roll by d along axis (1 = rows, 2 = columns) with the wrapped-in edge zeroed."""
    out = np.roll(img, d, axis=axis)
    edge = 0 if d > 0 else -1
    if axis == 1:
        out[:, edge, :] = 0
    else:
        out[:, :, edge] = 0
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_expand_blocks(dtype):
    rng = np.random.default_rng(1)
    h, w, n = 5, 7, 4
    X = rng.random((n, h * w)).astype(dtype) + 0.5  # no zeros, so zero fill is visible
    y = np.array([3, 1, 4, 1])
    X2, y2 = expand(X, y, image_shape=(h, w))
    assert X2.shape == (5 * n, h * w) and X2.dtype == np.dtype(dtype) and X2.flags.c_contiguous
    np.testing.assert_array_equal(y2, np.tile(y, 5))
    assert y2.dtype == y.dtype
    img = X.reshape(n, h, w)
    expected = [img, shifted(img, -1, 1), shifted(img, 1, 1), shifted(img, -1, 2), shifted(img, 1, 2)]
    for k, e in enumerate(expected):
        np.testing.assert_array_equal(X2[k * n : (k + 1) * n].reshape(n, h, w), e)


def test_expand_interleaved():
    rng = np.random.default_rng(2)
    X = rng.random((3, 16))
    y = np.array([0, 1, 2])
    Xb, _yb = expand(X, y, (4, 4))
    Xi, yi = expand(X, y, (4, 4), interleave=True)
    np.testing.assert_array_equal(yi, np.repeat(y, 5))
    np.testing.assert_array_equal(Xi, Xb.reshape(5, 3, 16).transpose(1, 0, 2).reshape(15, 16))


def test_expand_single_pixel_moves():
    h, w = 28, 28
    X = np.zeros((1, h * w))
    X[0, 10 * w + 20] = 1.0  # row 10, column 20
    X2, y2 = expand(X, [7])
    np.testing.assert_array_equal(y2, [7] * 5)
    positions = [tuple(int(v) for v in np.argwhere(row.reshape(h, w) == 1.0)[0]) for row in X2]
    assert positions == [(10, 20), (9, 20), (11, 20), (10, 19), (10, 21)]  # orig, up, down, left, right
    assert np.all(X2.sum(axis=1) == 1.0)
    # a pixel on the edge falls off
    E = np.zeros((1, h * w))
    E[0, 0] = 1.0  # top-left corner
    sums = expand(E, [0])[0].sum(axis=1)
    np.testing.assert_array_equal(sums, [1, 0, 1, 0, 1])


def test_expand_onehot_targets_and_errors():
    X = np.zeros((2, 784))
    T = onehot([1, 2], 10)
    _X2, T2 = expand(X, T)
    assert T2.shape == (10, 10)
    np.testing.assert_array_equal(T2, np.tile(T, (5, 1)))
    with pytest.raises(ValueError, match="784 columns, got 783"):
        expand(np.zeros((2, 783)), [0, 1])
    with pytest.raises(ValueError, match="one entry per row"):
        expand(X, [0, 1, 2])
    with pytest.raises(ValueError, match="2-D"):
        expand(np.zeros(784), [0])
    with pytest.raises(TypeError, match="image_shape"):
        expand(X, [0, 1], image_shape=784)
    with pytest.raises(ValueError, match="image_shape"):
        expand(X, [0, 1], image_shape=(0, 784))


# --------------------------------------------------------------------------------------------------
# onehot
# --------------------------------------------------------------------------------------------------
def test_onehot():
    out = onehot(np.array([0, 3, 9]), 10)
    assert out.shape == (3, 10) and out.dtype == np.float64
    np.testing.assert_array_equal(out.argmax(axis=1), [0, 3, 9])
    assert out.sum() == 3
    assert onehot([1], 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"0\.\.9"):
        onehot([10], 10)
    with pytest.raises(ValueError, match="1-D"):
        onehot([[1]], 10)
    with pytest.raises(TypeError, match="integer"):
        onehot([0.5], 10)


# --------------------------------------------------------------------------------------------------
# real MNIST (skipped when absent)
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow  # loads the real MNIST (~1.5 s); the synthetic IDX tests cover the same reader
@pytest.mark.mnist
def test_real_mnist(mnist):
    _check_dataset(mnist, (50000, 10000, 10000), 784)
    (Xtr, ytr), (_, yva), (_, yte) = mnist
    for X, y in mnist:
        assert X.min() == 0.0 and X.max() == 1.0
        counts = np.bincount(y, minlength=10)
        assert len(counts) == 10 and counts.min() > 0.07 * len(y) and counts.max() < 0.13 * len(y)
    assert ytr[0] == 5 and yte[0] == 7
    # label counts of the whole training file (documented for canonical MNIST)
    np.testing.assert_array_equal(
        np.bincount(np.concatenate([ytr, yva])), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    assert abs(Xtr.mean() - 0.1307) < 0.002


@pytest.mark.slow  # loads the real MNIST (~1.5 s); the synthetic IDX tests cover the same reader
@pytest.mark.mnist
def test_real_mnist_float32_matches(mnist, mnist_dir):
    ds = load_mnist(mnist_dir, dtype=np.float32)
    assert ds.test[0].dtype == np.float32
    np.testing.assert_allclose(ds.test[0], mnist.test[0], rtol=0, atol=1e-7)
    np.testing.assert_array_equal(ds.test[1], mnist.test[1])
