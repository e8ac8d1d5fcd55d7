"""Compressed inputs that cost more than they are worth (issue #23): an IDX .gz whose header claims
4e9 x 28 x 28, a .npz deflate bomb, a few hundred bytes of .npz claiming a huge array, a truncated
.npz, a malformed .npy header. Each is refused with a ValueError naming the file, before the claim
is allocated or decompressed; the limit is configurable (FASTNN_MAX_DECOMPRESSED). Hostile files
run in child processes under an address-space limit (see test_hostile_files.py)."""

import gzip
import io
import struct
import zipfile
import zlib

import numpy as np
import pytest
from conftest import expect_value_error, run_child


def _idx_header(dims):
    return struct.pack(">HBB", 0, 8, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)


def _zeros_gz(n, header=b""):
    """gzip of header + n zero bytes, compressed in chunks (a bomb without n bytes in memory)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [c.compress(header)]
    chunk = bytes(1 << 20)
    left = n
    while left > 0:
        out.append(c.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    out.append(c.flush())
    return b"".join(out)


def _npy_header(shape, dtype="<f8"):
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": dtype, "fortran_order": False, "shape": shape})
    return f.getvalue()


def _npz(path, members):
    """members: {name: bytes} written deflated."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


# --------------------------------------------------------------------------------------------------
# IDX .gz
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow  # child processes
def test_idx_gz_claiming_4e9_images_is_refused_before_decompressing(tmp_path):
    f = tmp_path / "train-images-idx3-ubyte.gz"
    f.write_bytes(_zeros_gz(50 << 20, _idx_header((4_000_000_000, 28, 28))))  # 50 MB of zeros, ~50 kB
    expect_value_error(f"import fastnn.data as d; d.read_idx({str(f)!r})", str(f), "can hold")


@pytest.mark.slow
def test_idx_gz_above_the_configured_maximum_is_refused(tmp_path):
    f = tmp_path / "x-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(_idx_header((3000, 28, 28)) + bytes(3000 * 784)))
    call = f"import fastnn.data as d; print(d.read_idx({str(f)!r}).shape)"
    expect_value_error(
        call,
        str(f),
        "more than the 1,048,576 allowed",
        "FASTNN_MAX_DECOMPRESSED",
        FASTNN_MAX_DECOMPRESSED="1M",
    )
    r = run_child(call, FASTNN_MAX_DECOMPRESSED="3M")
    assert r.returncode == 0 and "(3000, 28, 28)" in r.stdout, r.stderr


def test_max_decompressed_is_checked(monkeypatch):
    from fastnn.data import DEFAULT_MAX_DECOMPRESSED, max_decompressed_bytes

    monkeypatch.delenv("FASTNN_MAX_DECOMPRESSED", raising=False)
    assert max_decompressed_bytes() == DEFAULT_MAX_DECOMPRESSED == 4 << 30
    for text, value in (("123", 123), ("2k", 2048), ("5M", 5 << 20), ("1g", 1 << 30)):
        monkeypatch.setenv("FASTNN_MAX_DECOMPRESSED", text)
        assert max_decompressed_bytes() == value
    for bad in ("-1", "0", "1.5G", "lots", "9" * 30):
        monkeypatch.setenv("FASTNN_MAX_DECOMPRESSED", bad)
        with pytest.raises(ValueError, match="FASTNN_MAX_DECOMPRESSED"):
            max_decompressed_bytes()


# --------------------------------------------------------------------------------------------------
# .npz
# --------------------------------------------------------------------------------------------------
def test_small_npz_claiming_a_huge_array_is_refused(tmp_path):
    f = _npz(tmp_path / "claim.npz", {"X.npy": _npy_header((10**6, 10**6)) + bytes(64), "y.npy": b""})
    assert f.stat().st_size < 600
    from fastnn.files import load_file, read_features

    for call in (lambda: load_file(f), lambda: read_features(f)):
        with pytest.raises(ValueError, match=rf"^{f}: member 'X.npy' claims shape \(1000000, 1000000\)"):
            call()


@pytest.mark.slow  # builds a 1.5 GB deflate bomb (~6.5 MB) and runs children
def test_npz_deflate_bomb_is_refused_in_every_reader(tmp_path):
    n = 1_500_000_000
    f = tmp_path / "bomb.npz"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:  # level 1: 4x faster
        with z.open("X.npy", "w", force_zip64=True) as m:
            m.write(_npy_header((n // 8 - 16,)))  # a 128-byte header, then exactly the claim
            chunk, left = bytes(1 << 22), n - 128
            while left:
                m.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
        z.writestr("y.npy", _npy_header((3,), "<i8") + bytes(24))
    assert f.stat().st_size < 8 << 20  # 1.5 GB in ~6.5 MB
    # over the configured maximum: refused from the header alone
    expect_value_error(
        f"import fastnn.files as F; F.load_file({str(f)!r})",
        str(f),
        "more than the 104,857,600 allowed",
        FASTNN_MAX_DECOMPRESSED="100M",
    )
    # under the default maximum but more than this process may allocate: a ValueError, not a crash
    for call in ("F.load_file", "F.read_features"):
        expect_value_error(f"import fastnn.files as F; {call}({str(f)!r})", str(f))
    # the commands: one error line
    for argv in (["predict", "none.json", "--input", str(f)], ["train", "--data", str(f), "--epochs", "1"]):
        r = run_child(f"import sys; from fastnn import cli; sys.exit(cli.main({argv!r}))")
        assert r.returncode in (1, 2) and "Traceback" not in r.stderr, r.stderr[-2000:]


def test_npz_member_decompressing_past_its_header_reads_only_the_claim(tmp_path):
    """A header claiming 10 floats followed by 50 MB of zeros: 10 floats are read, no more."""
    f = tmp_path / "long.npz"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("X.npy", "w") as m:
            m.write(_npy_header((2, 5)))
            chunk = bytes(1 << 20)
            for _ in range(50):
                m.write(chunk)
    from fastnn.files import read_features

    assert read_features(f).shape == (2, 5)


def test_only_the_arrays_needed_are_decompressed(tmp_path, monkeypatch):
    from fastnn import files

    f = tmp_path / "many.npz"
    np.savez_compressed(f, X=np.ones((3, 2)), y=np.array([0, 1, 0]), other=np.zeros((100, 100)))
    read = []
    real = np.lib.format.read_array

    def spy(fp, *a, **k):
        read.append(fp.name)
        return real(fp, *a, **k)

    monkeypatch.setattr(np.lib.format, "read_array", spy)
    X, _y, _ = files.load_file(f)
    assert sorted(read) == ["X.npy", "y.npy"] and X.shape == (3, 2)


@pytest.mark.parametrize(
    "damage",
    ["truncated", "truncated-member", "bad-header", "tokenize", "not-npy", "encrypted-flag", "method"],
)
def test_damaged_npz_and_npy_name_the_file(tmp_path, damage):
    from fastnn.files import load_file, read_features

    good = io.BytesIO()
    np.savez_compressed(good, X=np.ones((4, 3)), y=np.arange(4))
    data = good.getvalue()
    name = "d.npy" if damage in ("bad-header", "tokenize") else "d.npz"
    f = tmp_path / name
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "truncated-member":
        z = io.BytesIO()
        with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as w:
            w.writestr("X.npy", _npy_header((4, 3)) + bytes(40))  # 96 bytes claimed, 40 there
            w.writestr("y.npy", _npy_header((4,), "<i8") + bytes(32))
        data = z.getvalue()
    elif damage == "bad-header":
        data = (
            b"\x93NUMPY\x01\x00"
            + struct.pack("<H", 118)
            + b"{'descr': '<f8', 'shape': (3,".ljust(117)
            + b"\n"
        )
    elif damage == "tokenize":
        data = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + b"{'descr': '<f8', '''".ljust(117) + b"\n"
    elif damage == "not-npy":
        z = io.BytesIO()
        with zipfile.ZipFile(z, "w") as w:
            w.writestr("X.npy", b"hello")
            w.writestr("y.npy", b"world")
        data = z.getvalue()
    elif damage == "encrypted-flag":
        data = bytearray(data)
        data[6] |= 1  # the local header's "encrypted" bit
        i = data.find(b"PK\x01\x02")
        data[i + 8] |= 1
        data = bytes(data)
    elif damage == "method":
        data = bytearray(data)
        data[8] = 99  # an unknown compression method, local and central headers
        i = data.find(b"PK\x01\x02")
        data[i + 10] = 99
        data = bytes(data)
    f.write_bytes(data)
    for call in (load_file, read_features):
        with pytest.raises(ValueError) as e:
            call(f)
        assert str(e.value).startswith(f"{f}: ") and len(str(e.value).splitlines()) == 1, str(e.value)
