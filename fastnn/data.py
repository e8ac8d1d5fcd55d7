"""Data sets for fastnn: MNIST (IDX files or network2's ``mnist.pkl.gz``), scikit-learn's 8x8 digits,
and the one-pixel-shift expansion of chapter 3 of Nielsen's book.

This module is pure Python + numpy (scikit-learn only for :func:`load_digits`, imported lazily); it
never imports the compiled core, so it can be used on its own.

Every loader returns a :class:`Dataset` ``(training, validation, test)``; each part is a pair
``(X, y)`` with ``X`` a C-contiguous float array of shape ``(n, d)`` with values in [0, 1] and
``y`` an int64 label vector of shape ``(n,)``.

MNIST lookup (:func:`load_mnist`, :func:`find_mnist`): the four standard files

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

each gzipped (``.gz``) or not, also under the dot-variant names (``train-images.idx3-ubyte``), are
looked for in, in order:

1. ``path`` if given (the directory itself, then ``path/mnist``) -- and nowhere else;
2. otherwise ``$FASTNN_DATA`` (the directory itself, then ``$FASTNN_DATA/mnist``) when set,
   then ``~/.fastnn/mnist``.

The first directory holding all four files is used.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import stat
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NamedTuple

import numpy as np

from ._validation import aligned_copy, aligned_empty
from ._vocabulary import Interval, check_hyper, resolve_dtype

if TYPE_CHECKING:
    from ._typing import ArrayLike, DTypeLike, PathLike

__all__ = [
    "DEFAULT_MAX_DECOMPRESSED",
    "DEFAULT_MNIST_DIR",
    "MNIST_FILES",
    "MNIST_MIRROR",
    "Dataset",
    "download_mnist",
    "expand",
    "find_mnist",
    "load_digits",
    "load_file",
    "load_mnist",
    "load_pickle",
    "max_decompressed_bytes",
    "mnist_available",
    "onehot",
    "read_idx",
]


def download_mnist(directory=None, **kwargs):
    """Download and verify the four MNIST files (see :func:`fastnn.download.download_mnist`)."""
    from .download import download_mnist as _download

    return _download(directory, **kwargs)


def load_file(path, **kwargs):
    """(X, y) from a .npz or CSV file of your own (see :func:`fastnn.files.load_file`)."""
    from .files import load_file as _load

    return _load(path, **kwargs)


#: Canonical (hyphenated, uncompressed) names of the four MNIST files, by role.
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
#: A public mirror of the four gzipped MNIST files.
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: Where MNIST is looked for when neither ``path`` nor ``$FASTNN_DATA`` is given.
DEFAULT_MNIST_DIR = Path("~/.fastnn/mnist")

_IDX_UBYTE = 0x08
_IMAGES_MAGIC = 0x00000803  # 2051: unsigned byte, 3 dimensions
_LABELS_MAGIC = 0x00000801  # 2049: unsigned byte, 1 dimension
_GZIP_MAGIC = b"\x1f\x8b"
_N_CLASSES = 10


# --------------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------------
class Dataset(NamedTuple):
    """``(training, validation, test)``, each an ``(X, y)`` pair.

    Unpacks like network2's ``load_data()``: ``training, validation, test = load_mnist()``.

    Parameters
    ----------
    training, validation, test : (ndarray, ndarray)
        ``X``: float array (n, d), C-contiguous, values in [0, 1]; ``y``: int64 labels (n,).
    """

    training: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    @property
    def n_inputs(self) -> int:
        """Number of input features d (784 for MNIST, 64 for digits)."""
        return int(self.training[0].shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes: 1 + the largest label in any part (10 for MNIST and digits)."""
        best = -1
        for _, y in self:
            y = np.asarray(y)
            if y.ndim == 2:  # one-hot / targets
                return int(y.shape[1])
            if y.size:
                best = max(best, int(y.max()))
        return best + 1

    def __repr__(self) -> str:
        parts = []
        for name, (X, y) in zip(self._fields, self):
            parts.append(f"{name}=(X{tuple(np.shape(X))} {np.asarray(X).dtype}, y{tuple(np.shape(y))})")
        return "Dataset(" + ", ".join(parts) + ")"


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
_NATURAL = Interval(0, integer=True)


def _check_path(path, name: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    return Path(os.path.expanduser(os.fspath(path)))


def _read_bytes(path: Path) -> bytes:
    """Whole content of ``path``, transparently gunzipped."""
    with _open_maybe_gzip(path) as f, _gzip_errors(path):
        return f.read()


def _name_variants(name: str):
    """'train-images-idx3-ubyte' -> plain, .gz, dot-variant, dot-variant .gz."""
    stem, _, rest = name.rpartition("-idx")
    dotted = f"{stem}.idx{rest}"
    return (name, name + ".gz", dotted, dotted + ".gz")


# --------------------------------------------------------------------------------------------------
# IDX
# --------------------------------------------------------------------------------------------------
def _open_maybe_gzip(path: Path):
    """A binary file object for ``path``, transparently gunzipped (detected by the magic bytes)."""
    f = open(path, "rb")
    head = f.read(2)
    f.seek(0)
    if head != _GZIP_MAGIC:
        return f
    return gzip.GzipFile(fileobj=f, mode="rb")


@contextlib.contextmanager
def _gzip_errors(path: Path):
    """Corrupt or truncated gzip data becomes a ValueError naming the file."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


# No IDX item (image) may be larger than this; a claim above it is a corrupt header.
_IDX_MAX_BYTES = 1 << 40

#: Default of :func:`max_decompressed_bytes`: 4 GiB (MNIST's images are 47 MB).
DEFAULT_MAX_DECOMPRESSED = 4 << 30
#: Deflate cannot expand data by more than ~1032:1; a compressed member or gzip file whose
#: header claims more than this many times its compressed size cannot hold what it claims.
DEFLATE_MAX_RATIO = 1100


def max_decompressed_bytes() -> int:
    """The most bytes one compressed input (an IDX .gz, a .npz's arrays) may decompress to:
    ``FASTNN_MAX_DECOMPRESSED`` from the environment (bytes; suffixes k, M, G allowed), else
    :data:`DEFAULT_MAX_DECOMPRESSED`. A header claiming more is refused before anything is
    decompressed."""
    text = os.environ.get("FASTNN_MAX_DECOMPRESSED", "").strip()
    if not text:
        return DEFAULT_MAX_DECOMPRESSED
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1].lower(), 1)
    digits = text[:-1] if scale != 1 else text
    if not digits.isdigit() or len(digits) > 18 or int(digits) * scale < 1:
        raise ValueError(
            f"FASTNN_MAX_DECOMPRESSED: expected a positive number of bytes (e.g. 500M, 8G), got {text!r}"
        )
    return int(digits) * scale


_GZ_CHUNK = 1 << 20


def _read_body_incrementally(f, path: Path, body: int):
    """(uint8 array, bytes read, trailing bytes) of a gzipped (or piped) IDX body claimed to be ``body``
    bytes.

    Read incrementally: memory grows with the data actually decompressed, never with the header's
    claim; reading stops at the end of the data or one chunk past the claim."""
    buf = bytearray()
    with _gzip_errors(path):
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
    path = _check_path(path)
    f = _open_maybe_gzip(path)
    with f, _gzip_errors(path):
        head = f.read(4)
        if len(head) < 4:
            raise ValueError(
                f"{path}: too short for an IDX header (expected at least 4 bytes, got {len(head)})"
            )
        magic = int.from_bytes(head, "big")
        zero, dtype_code, ndim = head[0:2], head[2], head[3]
        what = {_IMAGES_MAGIC: "an image file", _LABELS_MAGIC: "a label file"}.get(expected_magic or 0, "")
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
            if {magic, expected_magic} == {_IMAGES_MAGIC, _LABELS_MAGIC}:
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


# --------------------------------------------------------------------------------------------------
# MNIST lookup
# --------------------------------------------------------------------------------------------------
def _candidates(path):
    """[(directory, where-from)] in lookup order."""
    if path is not None:
        p = _check_path(path)
        return [(p, "path argument"), (p / "mnist", "path argument + mnist/")]
    out = []
    env = os.environ.get("FASTNN_DATA")
    if env:
        e = Path(os.path.expanduser(env))
        if not e.is_dir():  # a typo must not silently fall back to ~/.fastnn/mnist
            state = "is not a directory" if e.exists() else "does not exist"
            raise FileNotFoundError(
                f"$FASTNN_DATA={env}: {state}; point it at the directory holding the MNIST files, or unset it"
            )
        out += [(e, "$FASTNN_DATA"), (e / "mnist", "$FASTNN_DATA/mnist")]
    out.append((Path(os.path.expanduser(str(DEFAULT_MNIST_DIR))), "default ~/.fastnn/mnist"))
    return out


def _scan(directory: Path):
    """{role: file path or None} for the four MNIST files in ``directory``."""
    found: dict[str, Path | None] = {}
    for role, name in MNIST_FILES.items():
        found[role] = None
        if directory.is_dir():
            for variant in _name_variants(name):
                f = directory / variant
                if f.is_file():
                    found[role] = f
                    break
    return found


def _how_to_get() -> str:
    files = ", ".join(n + ".gz" for n in MNIST_FILES.values())
    return (
        f"To get MNIST, run 'fastnn download mnist' (or fastnn.data.download_mnist()), or download "
        f"the four files ({files}) from a mirror such as {MNIST_MIRROR} "
        f"into {DEFAULT_MNIST_DIR}, or into any directory and pass path=<directory> or set "
        f"FASTNN_DATA=<directory> (the directory itself or its parent holding mnist/). "
        f"Each file may be gzipped or not; the dot-variant names (train-images.idx3-ubyte) also work."
    )


def _locate(path):
    """(directory, files) of the first complete candidate, or (None, not-found message, best files)."""
    places = []
    best = None  # (count, directory, files) of the most complete candidate
    for directory, source in _candidates(path):
        files = _scan(directory)
        n = sum(f is not None for f in files.values())
        if n == len(files):
            return directory, files, f"MNIST found in {directory} ({source})"
        if directory.is_dir():
            if n:
                have = ", ".join(f.name for f in files.values() if f is not None)
                miss = ", ".join(MNIST_FILES[r] for r, f in files.items() if f is None)
                state = f"has {have}; missing {miss}"
            else:
                state = "none of the four files"
        elif directory.exists():
            state = "not a directory"
        else:
            state = "does not exist"
        places.append(f"  {directory} ({source}): {state}")
        if n and (best is None or n > best[0]):
            best = (n, directory, files)
    if best is None:
        missing = list(MNIST_FILES.values())
    else:
        missing = [MNIST_FILES[r] for r, f in best[2].items() if f is None]
    which = f"file {missing[0]!r}" if len(missing) == 1 else "files " + ", ".join(repr(m) for m in missing)
    message = f"MNIST not found: missing {which}. Looked in:\n" + "\n".join(places) + "\n" + _how_to_get()
    return None, None, message


def find_mnist(path: PathLike | None = None) -> tuple[Path | None, str]:
    """Locate the MNIST IDX files without reading them.

    Lookup order: see the module docstring. Used by the CLI to choose between MNIST and the bundled
    digits.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Look only here (the directory itself, then ``path/mnist``).

    Returns
    -------
    directory : pathlib.Path or None
        The directory holding all four files (``None`` if not found).
    reason : str
        Where it was found and why (``"MNIST found in ... ($FASTNN_DATA)"``), or which files are
        missing, every place looked and how to get MNIST.
    """
    directory, _, reason = _locate(path)
    return directory, reason


def mnist_available(path: PathLike | None = None) -> bool:
    """True if :func:`find_mnist` finds all four MNIST files.

    Parameters
    ----------
    path : str or os.PathLike, optional
        As for :func:`find_mnist`.

    Returns
    -------
    bool
    """
    return find_mnist(path)[0] is not None


# --------------------------------------------------------------------------------------------------
# MNIST loading
# --------------------------------------------------------------------------------------------------
def _check_labels(y: np.ndarray, where, max_label: int = _N_CLASSES - 1) -> None:
    if y.size:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi > max_label:
            bad = int(np.flatnonzero((y < 0) | (y > max_label))[0])
            raise ValueError(f"{where}: label {int(y[bad])} at index {bad} is out of range 0..{max_label}")


def _to_float(images: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """uint8 (n, ...) -> C-contiguous dtype (n, d) in [0, 1] without a full-size temporary."""
    n, d = images.shape[0], int(np.prod(images.shape[1:], dtype=np.int64))
    out = aligned_empty((n, d), dtype)  # 64-byte aligned rows: full-speed vector loads
    np.divide(images.reshape(n, d), 255, out=out, dtype=dtype)
    return out


def load_mnist(
    path: PathLike | None = None, dtype: DTypeLike = np.float64, *, validation_size: int = 10000
) -> Dataset:
    """Load MNIST from the four IDX files, split as in Nielsen's book.

    training = the first ``60000 - validation_size`` (50,000) training images, validation = the last
    ``validation_size`` (10,000), test = the 10,000 t10k images.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Directory holding the files (or its parent with ``mnist/``); default ``$FASTNN_DATA``, then
        ``~/.fastnn/mnist`` (see the module docstring). A path to a ``.pkl``/``.pkl.gz`` file is read
        with :func:`load_pickle` instead.
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
    validation_size : int, default 10000

    Returns
    -------
    Dataset
        ``X``: ``dtype`` (n, 784) in [0, 1] (pixel / 255), C-contiguous, one array per part;
        ``y``: int64 labels 0..9.

    Raises
    ------
    FileNotFoundError
        Which files are missing, every place looked, how to get MNIST.
    ValueError
        Naming the file, on corrupt data (bad magic, wrong dimensions, truncated file, image/label
        count mismatch, label outside 0..9).
    """
    dt = resolve_dtype(dtype)
    validation_size = check_hyper("validation_size", validation_size, _NATURAL)
    if path is not None:
        p = _check_path(path)
        if p.is_file() and (p.name.endswith(".pkl") or p.name.endswith(".pkl.gz")):
            return load_pickle(p, dtype=dt)

    directory, files, message = _locate(path)
    if directory is None:
        raise FileNotFoundError(message)

    # One split at a time, converted as soon as it is read, so that the raw bytes of one file at
    # most are alive next to the float arrays (peak memory ~ the float data + one uint8 file).
    parts = {}
    for split in ("train", "test"):
        img_file, lab_file = files[f"{split}_images"], files[f"{split}_labels"]
        images = read_idx(img_file, _IMAGES_MAGIC)
        labels = read_idx(lab_file, _LABELS_MAGIC)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{img_file} has {images.shape[0]} images but {lab_file} has "
                f"{labels.shape[0]} labels; the counts must agree"
            )
        if images.shape[0] == 0:
            raise ValueError(f"{img_file}: contains 0 images")
        _check_labels(labels, lab_file)
        if split == "train":
            n_train = images.shape[0] - validation_size
            if n_train < 1:
                raise ValueError(
                    f"validation_size must be smaller than the {images.shape[0]} "
                    f"images in {img_file}, got {validation_size}"
                )
            y = labels.astype(np.int64)
            parts["training"] = (_to_float(images[:n_train], dt), y[:n_train].copy())
            parts["validation"] = (_to_float(images[n_train:], dt), y[n_train:].copy())
            train_file, train_shape = img_file, images.shape[1:]
        else:
            if images.shape[1:] != train_shape:
                raise ValueError(
                    f"image size differs: {train_file} has {train_shape[0]}x{train_shape[1]} "
                    f"images, {img_file} has {images.shape[1]}x{images.shape[2]}"
                )
            parts["test"] = (_to_float(images, dt), labels.astype(np.int64))
        del images, labels
    return Dataset(**parts)


# --------------------------------------------------------------------------------------------------
# network2's mnist.pkl.gz
# --------------------------------------------------------------------------------------------------
_PICKLE_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
}


# Plain numeric dtypes are all a data pickle needs; anything else (structured/void/object dtypes,
# fields at arbitrary offsets, odd item sizes) is refused before numpy sees it.
_PICKLE_DTYPE_KINDS = "biuf"


class _Refused(pickle.UnpicklingError):
    pass


def _plain_dtype(obj, what):
    """``obj`` as a plain numeric np.dtype (bool, int, uint, float of a standard size) or _Refused."""
    if isinstance(obj, np.dtype):
        dt = obj
    elif isinstance(obj, (str, bytes)):
        if len(obj) > 8:
            raise _Refused(f"{what}: refusing dtype {obj!r} (only plain numeric dtypes)")
        try:
            dt = np.dtype(obj.decode("latin1") if isinstance(obj, bytes) else obj)
        except (TypeError, ValueError) as exc:
            raise _Refused(f"{what}: bad dtype {obj!r} ({exc})") from None
    else:
        raise _Refused(f"{what}: expected a dtype, got {type(obj).__name__}")
    if (
        dt.kind not in _PICKLE_DTYPE_KINDS
        or dt.names is not None
        or dt.fields is not None
        or dt.subdtype is not None
        or dt.itemsize not in (1, 2, 4, 8)
    ):
        raise _Refused(f"{what}: refusing dtype {dt!r} (only plain numeric dtypes)")
    return dt


def _shape(obj, what):
    if (
        not isinstance(obj, (tuple, list))
        or len(obj) > 32
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in obj)
    ):
        raise _Refused(f"{what}: bad shape {obj!r}")
    return tuple(obj)


def _nbytes(shape, dt):
    n = 1
    for d in shape:
        n *= d
    return n * dt.itemsize


def _buffer_len(buf, what):
    if isinstance(buf, str):  # Python 2 str read with encoding="latin1": one byte per char
        return len(buf)
    try:
        return memoryview(buf).nbytes
    except TypeError:
        raise _Refused(f"{what}: expected a bytes buffer, got {type(buf).__name__}") from None


class _ArrayUnpickler(pickle._Unpickler):
    """Unpickler that only reconstructs numpy arrays of plain numeric dtypes (plus tuples, lists and
    numbers), never arbitrary code.

    The pure-Python unpickler is used so that every call (REDUCE, NEWOBJ) and every ``__setstate__``
    (BUILD) of an allowed global is checked before numpy sees its arguments: dtypes must be plain
    numeric ones (a crafted dtype state with fields at huge offsets crashed numpy), and an array's
    data must really be in the file (no buffer smaller than the shape, no zero or odd strides, no
    large allocation without data)."""

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, *, encoding, limit):
        super().__init__(file, encoding=encoding)
        self._limit = limit  # no array may need more bytes than the pickle itself holds

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name} (only numpy arrays are allowed in a data pickle)"
            )
        if module.startswith("numpy.core.") and hasattr(np, "_core"):  # NumPy >= 2: avoid the shim
            module = "numpy._core." + module[len("numpy.core.") :]
        elif module.startswith("numpy._core.") and not hasattr(np, "_core"):  # NumPy 1.x
            module = "numpy.core." + module[len("numpy._core.") :]
        return super().find_class(module, name)

    # ---- checks --------------------------------------------------------------------------------
    def _check_call(self, func, args, kwargs):
        name = getattr(func, "__name__", repr(func))
        if func is np.dtype:
            if kwargs or not 1 <= len(args) <= 3:
                raise _Refused("numpy.dtype: unexpected arguments")
            _plain_dtype(args[0], "numpy.dtype")
        elif func is np.ndarray:
            self._check_ndarray_new(args, kwargs)
        elif name == "_reconstruct":
            if kwargs or len(args) != 3 or args[0] is not np.ndarray:
                raise _Refused("_reconstruct: only plain numpy.ndarray is allowed")
            shape = _shape(args[1], "_reconstruct")
            if _nbytes(shape, np.dtype(np.uint8)) > self._limit:
                raise _Refused(f"_reconstruct: shape {shape} needs more memory than the file holds")
        elif name == "_frombuffer":
            if kwargs or len(args) != 4:
                raise _Refused("_frombuffer: unexpected arguments")
            buf, dt, shape = args[0], _plain_dtype(args[1], "_frombuffer"), _shape(args[2], "_frombuffer")
            if _buffer_len(buf, "_frombuffer") != _nbytes(shape, dt):
                raise _Refused(
                    f"_frombuffer: buffer of {_buffer_len(buf, '_frombuffer')} bytes does "
                    f"not hold shape {shape} of {dt}"
                )
        elif name == "scalar":
            if kwargs or len(args) != 2:
                raise _Refused("scalar: unexpected arguments")
            dt = _plain_dtype(args[0], "scalar")
            if _buffer_len(args[1], "scalar") != dt.itemsize:
                raise _Refused(f"scalar: expected {dt.itemsize} bytes for {dt}")
        elif name == "encode":
            if kwargs or not (1 <= len(args) <= 2) or not isinstance(args[0], str):
                raise _Refused("_codecs.encode: unexpected arguments")
        else:  # pragma: no cover - find_class allows nothing else
            raise _Refused(f"refusing to call {name}")

    def _check_ndarray_new(self, args, kwargs):
        names = ("shape", "dtype", "buffer", "offset", "strides", "order")
        if len(args) > len(names) or set(kwargs) - set(names):
            raise _Refused("numpy.ndarray: unexpected arguments")
        a = dict(zip(names, args))
        if set(a) & set(kwargs):
            raise _Refused("numpy.ndarray: argument given twice")
        a.update(kwargs)
        shape = a.get("shape")
        shape = _shape((shape,) if isinstance(shape, int) else shape, "numpy.ndarray")
        dt = _plain_dtype(np.dtype(np.float64) if a.get("dtype") is None else a["dtype"], "numpy.ndarray")
        need = _nbytes(shape, dt)
        buf = a.get("buffer")
        if buf is None:
            if need > self._limit:
                raise _Refused(
                    f"numpy.ndarray: shape {shape} needs {need} bytes but the file holds only {self._limit}"
                )
            return
        offset = a.get("offset") or 0
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise _Refused(f"numpy.ndarray: bad offset {offset!r}")
        have = _buffer_len(buf, "numpy.ndarray") - offset
        if have < need:
            raise _Refused(
                f"numpy.ndarray: shape {shape} of {dt} needs {need} bytes but its buffer holds {max(have, 0)}"
            )
        strides = a.get("strides")
        if strides is not None:
            ok = (
                isinstance(strides, (tuple, list))
                and len(strides) == len(shape)
                and tuple(strides)
                in (
                    _contiguous_strides(shape, dt.itemsize, "C"),
                    _contiguous_strides(shape, dt.itemsize, "F"),
                )
            )
            if not ok:
                raise _Refused(
                    f"numpy.ndarray: strides {strides!r:.100} are not the C or Fortran "
                    f"strides of shape {shape}"
                )

    def _check_build(self, inst, state):
        if isinstance(inst, np.dtype):
            _plain_dtype(inst, "numpy.dtype")
            if (
                not isinstance(state, tuple)
                or len(state) not in (8, 9)
                or state[0] not in (3, 4)
                or state[1] not in ("<", ">", "|", "=")
                or state[2:5] != (None, None, None)
                or state[5] not in (-1, inst.itemsize)
                or state[6] not in (-1, inst.alignment)
                or state[7] != 0
                or (len(state) == 9 and state[8] is not None and not isinstance(state[8], dict))
            ):
                raise _Refused(
                    f"numpy.dtype: refusing the state {state!r:.200} of a {inst} dtype "
                    f"(only plain numeric dtypes)"
                )
        elif type(inst) is np.ndarray:
            if not isinstance(state, tuple) or len(state) not in (4, 5):
                raise _Refused("numpy.ndarray: bad state")
            shape, dt, fortran, raw = state[-4:]
            shape = _shape(shape, "numpy.ndarray state")
            dt = _plain_dtype(dt, "numpy.ndarray state")
            if not isinstance(fortran, (bool, int)):
                raise _Refused("numpy.ndarray: bad state")
            need = _nbytes(shape, dt)
            if isinstance(raw, list) or _buffer_len(raw, "numpy.ndarray state") != need:
                raise _Refused(
                    f"numpy.ndarray: shape {shape} of {dt} needs {need} bytes, the "
                    f"pickled data has a different size"
                )
        else:
            raise _Refused(f"refusing to set the state of a {type(inst).__name__}")

    # ---- opcodes that call or set state: checked, then done as usual ---------------------------
    def load_reduce(self):
        self._check_call(self.stack[-2], self.stack[-1], {})
        pickle._Unpickler.load_reduce(self)

    dispatch[pickle.REDUCE[0]] = load_reduce  # pickle's private table

    def load_newobj(self):
        self._check_call(self.stack[-2], self.stack[-1], {})
        pickle._Unpickler.load_newobj(self)

    dispatch[pickle.NEWOBJ[0]] = load_newobj  # pickle's private table

    def load_newobj_ex(self):
        kwargs = self.stack[-1]
        if not isinstance(kwargs, dict):
            raise _Refused("NEWOBJ_EX: bad keyword arguments")
        self._check_call(self.stack[-3], self.stack[-2], kwargs)
        pickle._Unpickler.load_newobj_ex(self)

    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex  # pickle's private table

    def load_build(self):
        self._check_build(self.stack[-2], self.stack[-1])
        pickle._Unpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build  # pickle's private table


def _contiguous_strides(shape, itemsize, order):
    strides = [0] * len(shape)
    step = itemsize
    dims = range(len(shape) - 1, -1, -1) if order == "C" else range(len(shape))
    for i in dims:
        strides[i] = step
        step *= max(shape[i], 1)
    return tuple(strides)


def _is_sequence(obj, n):
    """A tuple or list of n items (how pickled MNIST files hold their parts)."""
    return isinstance(obj, (tuple, list)) and len(obj) == n


def _what(obj):
    """What a pickled part is, for messages: 'list of length 2', 'array of shape (3,)', 'dict'."""
    if isinstance(obj, np.ndarray):
        return f"array of shape {obj.shape}"
    if isinstance(obj, (tuple, list)):
        return f"{type(obj).__name__} of length {len(obj)}"
    return type(obj).__name__


def load_pickle(path: PathLike, dtype: DTypeLike = np.float64) -> Dataset:
    """Read network2's ``mnist.pkl.gz``.

    A gzipped (or plain) pickle, latin1-encoded (Python 2), of ``(training, validation, test)``, each
    ``(X, y)`` with X (n, 784) float32 in [0, 1] and y int labels. Only numpy arrays, tuples, lists
    and numbers are unpickled (no arbitrary code).

    Parameters
    ----------
    path : str or os.PathLike
    dtype : {numpy.float64, numpy.float32}, default numpy.float64

    Returns
    -------
    Dataset
        X converted to ``dtype`` (C-contiguous), y to int64.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    ValueError
        Naming the file, on a corrupt or ill-structured pickle.
    """
    dt = resolve_dtype(dtype)
    path = _check_path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"pickle file not found: {path} (network2's mnist.pkl.gz from "
            f"https://github.com/mnielsen/neural-networks-and-deep-learning/tree/master/data)"
        )
    raw = _read_bytes(path)
    try:
        obj = _ArrayUnpickler(io.BytesIO(raw), encoding="latin1", limit=len(raw)).load()
    except pickle.UnpicklingError as exc:
        raise ValueError(f"{path}: cannot unpickle: {exc}") from exc
    except (
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        ImportError,
        UnicodeDecodeError,
        OverflowError,
        MemoryError,
        RecursionError,
        struct.error,
    ) as exc:
        raise ValueError(f"{path}: corrupt pickle ({type(exc).__name__}: {exc})") from exc
    del raw

    if not _is_sequence(obj, 3):
        raise ValueError(
            f"{path}: expected a tuple (training, validation, test) of 3 parts, got {_what(obj)}"
        )
    parts = []
    d = None
    for name, part in zip(Dataset._fields, obj):
        where = f"{path}: {name}"
        if not _is_sequence(part, 2):
            raise ValueError(f"{where}: expected a pair (X, y), got {_what(part)}")
        X, y = part
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(f"{where}: X must be a 2-D array (n, d), got {_what(X)}")
        if X.dtype.kind not in "fiu":
            raise ValueError(f"{where}: X must be numeric, got dtype {X.dtype}")
        if not isinstance(y, np.ndarray) or y.ndim != 1:
            raise ValueError(f"{where}: y must be a 1-D array of labels, got {_what(y)}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"{where}: X has {X.shape[0]} rows but y has {y.shape[0]} labels")
        if X.shape[0] == 0:
            raise ValueError(f"{where}: contains 0 examples")
        if d is None:
            d = X.shape[1]
        elif X.shape[1] != d:
            raise ValueError(f"{where}: X has {X.shape[1]} columns, training has {d}")
        if y.dtype.kind in "iu":
            y64 = y.astype(np.int64)
        elif y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y64 = y.astype(np.int64)
        else:
            raise ValueError(f"{where}: y must hold integer labels, got dtype {y.dtype}")
        _check_labels(y64, where)
        Xc = np.ascontiguousarray(X, dtype=dt)
        if not np.all(np.isfinite(Xc)) or Xc.min() < 0 or Xc.max() > 1:
            raise ValueError(
                f"{where}: X values must be finite and in [0, 1], got range "
                f"[{np.nanmin(Xc)}, {np.nanmax(Xc)}]"
            )
        parts.append((Xc, y64))
    return Dataset(*parts)


# --------------------------------------------------------------------------------------------------
# scikit-learn digits
# --------------------------------------------------------------------------------------------------
def load_digits(
    dtype: DTypeLike = np.float64,
    seed: int | np.random.Generator | None = 0,
    *,
    n_validation: int = 300,
    n_test: int = 300,
) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 x 64, no download), shuffled and split.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
    seed : int, numpy.random.Generator or None, default 0
        Shuffles the digits before the split; ``None`` for unseeded.
    n_validation, n_test : int, default 300
        Sizes of the validation and test parts; the training part gets the rest (1197).

    Returns
    -------
    Dataset
        Pixels / 16 in [0, 1]; int64 labels 0..9.
    """
    dt = resolve_dtype(dtype)
    n_validation = check_hyper("n_validation", n_validation, _NATURAL)
    n_test = check_hyper("n_test", n_test, _NATURAL)
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    data, target = bunch.data, bunch.target
    n = data.shape[0]
    n_train = n - n_validation - n_test
    if n_train < 1:
        raise ValueError(
            f"n_validation + n_test must be less than the {n} digits, got {n_validation} + {n_test}"
        )
    perm = np.random.default_rng(seed).permutation(n)
    X = data[perm] / 16.0
    y = target[perm].astype(np.int64)
    a, b = n_train, n_train + n_validation
    return Dataset(
        training=(aligned_copy(X[:a], dt, always=True), y[:a].copy()),
        validation=(aligned_copy(X[a:b], dt, always=True), y[a:b].copy()),
        test=(aligned_copy(X[b:], dt, always=True), y[b:].copy()),
    )


# --------------------------------------------------------------------------------------------------
# expansion and one-hot
# --------------------------------------------------------------------------------------------------
def _check_image_shape(image_shape):
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in image_shape)
    ):
        raise TypeError(f"image_shape must be a pair of ints (height, width), got {image_shape!r}")
    h, w = int(image_shape[0]), int(image_shape[1])
    if h < 1 or w < 1:
        raise ValueError(f"image_shape must be positive, got {image_shape!r}")
    return h, w


def expand(
    X: ArrayLike, y: ArrayLike, image_shape: tuple[int, int] = (28, 28), *, interleave: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Add one-pixel shifts of every image (Nielsen's ``expand_mnist.py``, vectorized).

    "Up" moves the content one pixel up: ``new[r, c] = old[r + 1, c]`` and the vacated bottom row is
    0 (likewise down/left/right).

    Parameters
    ----------
    X : array-like of shape (n, h*w)
    y : array-like of shape (n,) or (n, k)
        Labels or targets.
    image_shape : (int, int), default (28, 28)
    interleave : bool, default False
        Row order of the result (see Returns).

    Returns
    -------
    X2, y2 : ndarray
        5n rows, same dtypes as ``X``/``y``. With ``interleave=False``: the n originals, then all
        shifted **up**, then **down**, then **left**, then **right** -- rows ``k*n + i`` are image i
        under shift k (0 original, 1 up, 2 down, 3 left, 4 right) and ``y2 = np.tile(y, 5)`` (along
        axis 0). With ``interleave=True`` row ``5*i + k`` is image i under shift k and
        ``y2 = np.repeat(y, 5, axis=0)``.
    """
    h, w = _check_image_shape(image_shape)
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n, {h * w}), got shape {X.shape}")
    if X.shape[1] != h * w:
        raise ValueError(f"X must have image_shape {h}x{w} = {h * w} columns, got {X.shape[1]}")
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({X.shape[0]}), got shape {y.shape}")
    if not isinstance(interleave, (bool, np.bool_)):
        raise TypeError(f"interleave must be a bool, got {type(interleave).__name__}")
    n = X.shape[0]
    img = X.reshape(n, h, w)
    out = np.empty((5 * n, h * w), dtype=X.dtype)
    if interleave:
        blocks = out.reshape(n, 5, h, w).transpose(1, 0, 2, 3)  # blocks[k] is a view of rows 5i+k
    else:
        blocks = out.reshape(5, n, h, w)
    blocks[0] = img
    up, down, left, right = blocks[1], blocks[2], blocks[3], blocks[4]
    up[:, :-1, :] = img[:, 1:, :]
    up[:, -1, :] = 0
    down[:, 1:, :] = img[:, :-1, :]
    down[:, 0, :] = 0
    left[:, :, :-1] = img[:, :, 1:]
    left[:, :, -1] = 0
    right[:, :, 1:] = img[:, :, :-1]
    right[:, :, 0] = 0
    y2 = np.repeat(y, 5, axis=0) if interleave else np.concatenate([y] * 5, axis=0)
    return out, y2


def onehot(y: ArrayLike, n_classes: int = _N_CLASSES, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Integer labels to one-hot rows.

    Parameters
    ----------
    y : array-like of int, shape (n,)
    n_classes : int, default 10
    dtype : {numpy.float64, numpy.float32}, default numpy.float64

    Returns
    -------
    ndarray of shape (n, n_classes)
    """
    dt = resolve_dtype(dtype)
    n_classes = check_hyper("n_classes", n_classes, Interval(1, integer=True))
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y: expected 1-D labels, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        if y.size and not (y.dtype.kind == "f" and np.all(y == np.round(y))):
            raise TypeError(f"y: expected integer labels, got dtype {y.dtype}")
        y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y: expected labels in 0..{n_classes - 1}, got range {y.min()}..{y.max()}")
    out = np.zeros((y.shape[0], n_classes), dtype=dt)
    out[np.arange(y.shape[0]), y] = 1
    return out
