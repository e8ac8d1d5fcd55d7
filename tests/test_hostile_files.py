"""Hostile and careless files (issue #10): tiny pickles, IDX and .npy files that used to crash the
interpreter or claim gigabytes. Each case runs in a child process, so a crash fails the test instead
of killing pytest, under an address-space limit, so a memory bomb fails fast instead of swapping
(skipped under the AddressSanitizer build, whose shadow memory needs a huge address space)."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from conftest import expect_value_error, run_child

_RECONSTRUCT = (np._core if hasattr(np, "_core") else np.core).multiarray._reconstruct

asan = pytest.mark.skipif(
    os.environ.get("FASTNN_ASAN") == "1", reason="address-space limit and ASan's shadow memory do not mix"
)


# ------------------------------------------------------------------------------------------------
# pickles
# ------------------------------------------------------------------------------------------------
class _Reduce:
    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def _write(path, data, gz=True):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def hostile_dtype_pickle(base="V16"):
    """numpy.dtype (the allowed global) with a crafted state: a V16 dtype with a field at 2**40."""
    state = (3, "|", None, ("f",), {"f": (np.dtype("f8"), 2**40)}, 16, 1, 0)
    D = _Reduce(np.dtype, (base, False, True), state)
    X = _Reduce(_RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (1, 1), D, False, b"\0" * 16))
    return pickle.dumps(((X, X), (X, X), (X, X)), protocol=2)


@asan
def test_crafted_dtype_really_crashes_numpy(tmp_path):
    """The pickle above is a real threat: unpickled without fastnn's checks, repr() segfaults."""
    p = tmp_path / "evil.pkl"
    p.write_bytes(hostile_dtype_pickle())
    r = run_child(f"import pickle; repr(pickle.loads(open({str(p)!r}, 'rb').read())[0][0])", limit=0)
    assert r.returncode != 0


def strided_bomb_pickle(n=10**6):
    """numpy.ndarray(shape=(n, 784), dtype='u1', buffer=b'\\x01', strides=(0, 0)): GBs from a byte."""
    X = _Reduce(np.ndarray, ((n, 784), "u1", b"\x01", 0, (0, 0)))
    y = _Reduce(np.ndarray, ((n,), "u1", b"\x01", 0, (0,)))
    return pickle.dumps(((X, y), (X, y), (X, y)), protocol=2)


def alloc_bomb_pickle(n=10**6):
    """numpy.ndarray(shape=(n, 784)) with no data at all: an allocation of n*784*8 bytes."""
    X = _Reduce(np.ndarray, ((n, 784),))
    return pickle.dumps(((X, X), (X, X), (X, X)), protocol=2)


def short_state_pickle():
    """_reconstruct + a state whose data is 1 byte for a (1000, 784) float32 array."""

    class A:
        def __reduce__(self):
            return (_RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (1000, 784), np.dtype("f4"), False, b"\x00"))

    return pickle.dumps(A(), protocol=2)


@asan
@pytest.mark.parametrize("base", ["V16", "f8", "u1"])
def test_crafted_dtype_state_is_refused_not_a_segfault(tmp_path, base):
    data = hostile_dtype_pickle(base)
    p = _write(tmp_path / "mnist.pkl.gz", data)
    assert p.stat().st_size < 400
    expect_value_error(f"import fastnn.data; fastnn.data.load_pickle({str(p)!r})", str(p), "refusing")


@asan
@pytest.mark.parametrize("gz", [True, False])
def test_zero_stride_array_bomb_is_refused(tmp_path, gz):
    p = _write(tmp_path / "mnist.pkl.gz", strided_bomb_pickle(), gz)
    assert p.stat().st_size < 400
    expect_value_error(f"import fastnn.data; fastnn.data.load_pickle({str(p)!r})", str(p), "buffer")


@asan
def test_array_without_data_is_refused(tmp_path):
    p = _write(tmp_path / "mnist.pkl.gz", alloc_bomb_pickle())
    expect_value_error(f"import fastnn.data; fastnn.data.load_pickle({str(p)!r})", str(p), "bytes")


@asan
def test_array_state_shorter_than_its_shape_is_refused(tmp_path):
    p = _write(tmp_path / "mnist.pkl.gz", short_state_pickle())
    expect_value_error(f"import fastnn.data; fastnn.data.load_pickle({str(p)!r})", str(p))


def test_pickle_dtype_and_array_checks_in_process(tmp_path):
    """The same refusals, in process, for cases numpy itself would survive (fast, no child)."""
    from fastnn.data import load_pickle

    for name, obj in {
        "object-dtype": _Reduce(np.dtype, ("O", False, True)),
        "structured": _Reduce(np.dtype, ("V8", False, True)),
        "odd-strides": _Reduce(np.ndarray, ((2, 2), "u1", b"\x01" * 4, 0, (1, 1))),
        "negative-offset": _Reduce(np.ndarray, ((2,), "u1", b"\x01" * 4, -1)),
    }.items():
        p = _write(tmp_path / f"{name}.pkl.gz", pickle.dumps((obj, obj, obj), protocol=2))
        with pytest.raises(ValueError, match=str(p)):
            load_pickle(p)


def test_real_pickle_forms_still_load(tmp_path):
    """network2's mnist.pkl.gz form (Python 2 protocol 2 and modern protocols) still loads, also with
    Fortran-ordered and big-endian arrays."""
    from fastnn.data import load_pickle

    rng = np.random.default_rng(0)
    X = rng.random((6, 4)).astype(np.float32)
    y = np.arange(6) % 10
    parts = ((X, y), (np.asfortranarray(X), y.astype(">i4")), (X.astype(">f8"), y.astype(np.uint8)))
    for protocol in (2, 4, 5):
        p = _write(tmp_path / f"ok{protocol}.pkl.gz", pickle.dumps(parts, protocol=protocol))
        ds = load_pickle(p)
        for (Xg, yg), (Xw, yw) in zip(ds, parts):
            np.testing.assert_array_equal(Xg, Xw)
            np.testing.assert_array_equal(yg, yw)


# ------------------------------------------------------------------------------------------------
# IDX
# ------------------------------------------------------------------------------------------------
def idx_header(magic, dims):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)


IDX_CASES = [
    ((60000, 65535, 65535), False, b"\x00" * 10),
    ((60000, 65535, 65535), True, b"\x00" * 10),
    ((2**31, 1, 1), True, b"\x07" * 100),
    ((2**31, 1, 1), False, b"\x07" * 100),
    ((2**32 - 1, 2**32 - 1, 2**32 - 1), False, b""),
    ((2**32 - 1, 2**32 - 1, 2**32 - 1), True, b""),
    ((0, 2**32 - 1, 2**32 - 1), False, b""),
]


@asan
def test_idx_headers_claiming_huge_dimensions_are_value_errors_naming_the_file(tmp_path):
    files = []
    for i, (dims, gz, body) in enumerate(IDX_CASES):
        name = f"case{i}-images-idx3-ubyte" + (".gz" if gz else "")
        files.append(str(_write(tmp_path / name, idx_header(0x803, dims) + body, gz)))
    # one child for all cases (interpreter start-up dominates)
    r = run_child(f"""
        import fastnn.data
        for p in {files!r}:
            try:
                fastnn.data.read_idx(p, 0x803)
            except ValueError as e:
                print("VALUEERROR", e)
            else:
                print("NO ERROR", p)
    """)
    assert r.returncode == 0, f"child crashed (status {r.returncode}):\n{r.stderr[-2000:]}"
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(files), r.stdout
    for p, line in zip(files, lines):
        assert line.startswith("VALUEERROR " + p), line
        assert "MemoryError" not in line and "Maximum allowed dimension" not in line


@asan
def test_gzip_idx_bomb_stops_reading_past_the_claim(tmp_path):
    """A small claim followed by a huge (well-compressed) body: reading stops past the claim.
    (Concatenated gzip members are one valid stream: 24 copies of a 64 MiB zero member.)"""
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    member = gzip.compress(b"\x00" * (64 << 20), compresslevel=1)
    with open(p, "wb") as f:
        f.write(gzip.compress(idx_header(0x801, (5,))))
        for _ in range(24):  # 1.5 GiB decompressed, over the child's 1 GiB limit
            f.write(member)
    assert p.stat().st_size < 8 << 20
    expect_value_error(
        f"import fastnn.data; fastnn.data.read_idx({str(p)!r}, 0x801)", str(p), "trailing data"
    )


@asan
def test_cli_reports_a_lying_idx_header_in_one_line(tmp_path):
    """The command line prints the one ValueError line (not 'out of memory')."""
    d = tmp_path / "mnist"
    d.mkdir()
    for name, magic, dims, body in (
        ("train-images-idx3-ubyte", 0x803, (60000, 65535, 65535), b""),
        ("train-labels-idx1-ubyte", 0x801, (1,), b"\x01"),
        ("t10k-images-idx3-ubyte", 0x803, (1, 28, 28), b"\x00" * 784),
        ("t10k-labels-idx1-ubyte", 0x801, (1,), b"\x01"),
    ):
        (d / name).write_bytes(idx_header(magic, dims) + body)
    r = run_child(f"""
        import fastnn.cli
        sys.exit(fastnn.cli.main(["train", "--data-dir", {str(d)!r}, "--epochs", "1"]))
    """)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastnn: error:"), r.stderr
    assert "train-images-idx3-ubyte" in lines[0] and "out of memory" not in lines[0]
    assert "header" in lines[0]


# ------------------------------------------------------------------------------------------------
# predict --input X.npy
# ------------------------------------------------------------------------------------------------
@asan
@pytest.mark.parametrize(
    "shape",
    [(10**9, 64)]
    + [
        pytest.param(s, marks=pytest.mark.slow)  # a child each
        for s in ((10**12, 64), (5, 64))
    ],
)
def test_predict_input_npy_claiming_more_rows_than_it_holds(tmp_path, shape):
    from numpy.lib import format as npformat

    import fastnn

    model = tmp_path / "m.json"
    fastnn.Network([64, 5, 10], seed=0).save(model)
    p = tmp_path / "X.npy"
    with open(p, "wb") as f:
        npformat.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": shape})
        f.write(b"\x00" * 8 * 64 * 2)  # two rows only
    r = run_child(f"""
        import fastnn.cli
        sys.exit(fastnn.cli.main(["predict", {str(model)!r}, "--input", {str(p)!r}]))
    """)
    assert r.returncode == 1, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastnn: error: --input"), r.stderr
    assert "holds" in lines[0] and "out of memory" not in lines[0]
