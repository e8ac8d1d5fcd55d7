"""The IDX reader (LeCun's format of the MNIST files): unsigned-byte IDX files, gzipped or not, read
into read-only uint8 arrays with every header claim checked against the data before allocating.
Re-exported by :mod:`fastnn.data` as :func:`fastnn.data.read_idx`. Pure Python + numpy.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._decompression_limits import DEFLATE_MAX_RATIO, max_decompressed_bytes

if TYPE_CHECKING:
    from ._typing import PathLike

__all__ = ["IMAGES_MAGIC", "LABELS_MAGIC", "check_path", "gzip_errors", "open_maybe_gzip", "read_idx"]

_IDX_UBYTE = 0x08
IMAGES_MAGIC = 0x00000803  # 2051: unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # 2049: unsigned byte, 1 dimension
_GZIP_MAGIC = b"\x1f\x8b"


def check_path(path, name: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    return Path(os.path.expanduser(os.fspath(path)))


def open_maybe_gzip(path: Path):
    """A binary file object for ``path``, transparently gunzipped (detected by the magic bytes)."""
    f = open(path, "rb")
    head = f.read(2)
    f.seek(0)
    if head != _GZIP_MAGIC:
        return f
    return gzip.GzipFile(fileobj=f, mode="rb")


@contextlib.contextmanager
def gzip_errors(path: Path):
    """Corrupt or truncated gzip data becomes a ValueError naming the file."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


# No IDX item (image) may be larger than this; a claim above it is a corrupt header.
_IDX_MAX_BYTES = 1 << 40


_GZ_CHUNK = 1 << 20


def _read_body_incrementally(f, path: Path, body: int):
    """(uint8 array, bytes read, trailing bytes) of a gzipped (or piped) IDX body claimed to be ``body``
    bytes.

    Read incrementally: memory grows with the data actually decompressed, never with the header's
    claim; reading stops at the end of the data or one chunk past the claim."""
    buf = bytearray()
    with gzip_errors(path):
        while len(buf) <= body:
            chunk = f.read(min(_GZ_CHUNK, body + 1 - len(buf)))
            if not chunk:
                break
            buf += chunk
    got = min(len(buf), body)
    extra = len(buf) - got
    if got != body or extra:
        return None, got, extra
    return np.frombuffer(buf, dtype=np.uint8), got, extra


def _check_gzip_claim(path: Path, f, shape: str, claimed: int) -> None:
    """A gzipped IDX header's claim must fit in the compressed bytes and under the configured
    maximum: checked before decompressing the body."""
    st = os.fstat(f.fileobj.fileno())
    compressed = st.st_size
    limit = max_decompressed_bytes()
    if stat.S_ISREG(st.st_mode) and claimed > compressed * DEFLATE_MAX_RATIO:
        raise ValueError(
            f"{path}: the header claims {shape} ubyte = {claimed:,} bytes, more than "
            f"{compressed:,} gzipped bytes can hold; not a plausible IDX file"
        )
    if claimed > limit:
        raise ValueError(
            f"{path}: the header claims {shape} ubyte = {claimed:,} bytes, more than the "
            f"{limit:,} allowed (set FASTNN_MAX_DECOMPRESSED to allow more)"
        )


def read_idx(path: PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file (gzipped or not) into a read-only uint8 array of the header's shape.

    The body is decompressed straight into the result array (no whole-file temporary).

    Parameters
    ----------
    path : str or os.PathLike
    expected_magic : int, optional
        E.g. 0x00000803 (MNIST images) or 0x00000801 (labels); ``None`` accepts any unsigned-byte
        IDX file.

    Returns
    -------
    ndarray of uint8
        Read-only, of the shape the header states.

    Raises
    ------
    ValueError
        Naming the file, on a bad magic number, a bad dimension, or a byte count that disagrees with
        the header (truncated file / trailing data).
    """
    path = check_path(path)
    f = open_maybe_gzip(path)
    with f, gzip_errors(path):
        head = f.read(4)
        if len(head) < 4:
            raise ValueError(
                f"{path}: too short for an IDX header (expected at least 4 bytes, got {len(head)})"
            )
        magic = int.from_bytes(head, "big")
        zero, dtype_code, ndim = head[0:2], head[2], head[3]
        what = {IMAGES_MAGIC: "an image file", LABELS_MAGIC: "a label file"}.get(expected_magic or 0, "")
        expect = (
            ""
            if expected_magic is None
            else f", expected 0x{expected_magic:08X}{' (' + what + ')' if what else ''}"
        )
        if zero != b"\x00\x00":
            raise ValueError(f"{path}: bad magic 0x{magic:08X}{expect}; not an IDX file")
        if dtype_code != _IDX_UBYTE:
            raise ValueError(
                f"{path}: bad magic 0x{magic:08X}{expect}; data type code 0x{dtype_code:02X} "
                f"is not unsigned byte (0x08)"
            )
        if expected_magic is not None and magic != expected_magic:
            hint = ""
            if {magic, expected_magic} == {IMAGES_MAGIC, LABELS_MAGIC}:
                hint = " (images and labels swapped?)"
            raise ValueError(
                f"{path}: bad magic 0x{magic:08X}{expect}; it has {ndim} dimension(s), "
                f"expected {expected_magic & 0xFF}{hint}"
            )
        if ndim == 0:
            raise ValueError(f"{path}: bad magic 0x{magic:08X}: 0 dimensions")
        header = 4 + 4 * ndim
        rest = f.read(header - 4)
        if len(rest) < header - 4:
            raise ValueError(
                f"{path}: truncated header: expected {header} bytes for {ndim} dimension(s), "
                f"got {4 + len(rest)}"
            )
        dims = tuple(int.from_bytes(rest[4 * i : 4 + 4 * i], "big") for i in range(ndim))
        if any(d == 0 for d in dims[1:]):
            raise ValueError(f"{path}: bad dimensions {dims}: every dimension after the first must be >= 1")
        body = int(np.prod(dims, dtype=object))
        shape = "x".join(str(d) for d in dims)
        item = int(np.prod(dims[1:], dtype=object))
        if item > _IDX_MAX_BYTES:
            raise ValueError(
                f"{path}: header claims items of {shape[len(str(dims[0])) + 1 :]} = "
                f"{item:,} bytes each; not a plausible IDX file"
            )
        # Compare the header's claim with the data really there BEFORE allocating: a 26-byte file
        # claiming 60000x65535x65535 must be an error naming the file, not a MemoryError.
        if isinstance(f, gzip.GzipFile):
            _check_gzip_claim(path, f, shape, header + body)
        if isinstance(f, gzip.GzipFile) or not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            out, got, extra = _read_body_incrementally(f, path, body)
        else:
            available = os.fstat(f.fileno()).st_size - header
            got, extra = min(available, body), max(available - body, 0)
            if got == body and not extra:
                out = np.empty(body, dtype=np.uint8)
                got = f.readinto(out.data)
    if got != body or extra:
        problem = "file truncated" if got < body else "trailing data after the last item"
        raise ValueError(
            f"{path}: expected {header + body} bytes ({header}-byte header + {shape} "
            f"ubyte, as its header claims), got {header + got + extra}: {problem}"
        )
    out.flags.writeable = False
    return out.reshape(dims)
