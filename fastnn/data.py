"""Data sets for fastnn: MNIST (IDX files or network2's ``mnist.pkl.gz``), scikit-learn's 8x8 digits,
and the one-pixel-shift expansion of chapter 3 of Nielsen's book.

This module is pure Python + numpy (scikit-learn only for :func:`load_digits`, imported lazily); it
never imports the compiled core, so it can be used on its own. Its low-level pieces live in modules
of their own, re-exported here: the IDX reader (fastnn/_idx.py), the decompression limits
(fastnn/_decompression_limits.py), the safe unpickler (fastnn/_safe_unpickle.py) and the MNIST file
names, mirrors, checksums and default directory (fastnn/_mnist_files.py).

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

import io
import os
import pickle
import struct
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ._decompression_limits import DEFAULT_MAX_DECOMPRESSED, max_decompressed_bytes
from ._idx import IMAGES_MAGIC, LABELS_MAGIC, check_path, gzip_errors, open_maybe_gzip, read_idx
from ._mnist_files import DEFAULT_MNIST_DIR, MNIST_FILES, MNIST_MIRROR, name_variants
from ._safe_unpickle import ArrayUnpickler, describe, is_sequence
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


def _read_bytes(path: Path) -> bytes:
    """Whole content of ``path``, transparently gunzipped."""
    with open_maybe_gzip(path) as f, gzip_errors(path):
        return f.read()


# --------------------------------------------------------------------------------------------------
# MNIST lookup
# --------------------------------------------------------------------------------------------------
def _candidates(path):
    """[(directory, where-from)] in lookup order."""
    if path is not None:
        p = check_path(path)
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
            for variant in name_variants(name):
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
        p = check_path(path)
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
        images = read_idx(img_file, IMAGES_MAGIC)
        labels = read_idx(lab_file, LABELS_MAGIC)
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
# network2's mnist.pkl.gz (the unpickler that refuses code is fastnn/_safe_unpickle.py)
# --------------------------------------------------------------------------------------------------
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
    path = check_path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"pickle file not found: {path} (network2's mnist.pkl.gz from "
            f"https://github.com/mnielsen/neural-networks-and-deep-learning/tree/master/data)"
        )
    raw = _read_bytes(path)
    try:
        obj = ArrayUnpickler(io.BytesIO(raw), encoding="latin1", limit=len(raw)).load()
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

    if not is_sequence(obj, 3):
        raise ValueError(
            f"{path}: expected a tuple (training, validation, test) of 3 parts, got {describe(obj)}"
        )
    parts = []
    d = None
    for name, part in zip(Dataset._fields, obj):
        where = f"{path}: {name}"
        if not is_sequence(part, 2):
            raise ValueError(f"{where}: expected a pair (X, y), got {describe(part)}")
        X, y = part
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            raise ValueError(f"{where}: X must be a 2-D array (n, d), got {describe(X)}")
        if X.dtype.kind not in "fiu":
            raise ValueError(f"{where}: X must be numeric, got dtype {X.dtype}")
        if not isinstance(y, np.ndarray) or y.ndim != 1:
            raise ValueError(f"{where}: y must be a 1-D array of labels, got {describe(y)}")
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
