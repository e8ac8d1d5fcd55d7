"""Saving and loading networks: network2's JSON format plus fastnn's own fields.

A file written by :func:`save` looks like this (weights abridged)::

    {"format": "fastnn.Network", "version": 1, "fastnn_version": "0.1.0",
     "sizes": [784, 30, 10], "cost": "CrossEntropyCost",
     "output": "sigmoid", "hidden": "sigmoid", "weight_init": "default", "dtype": "float64",
     "weights": [[[...784 floats...], ...30 rows...], [...]],
     "biases": [[[0.12], [-0.3], ...], ...]}

``sizes``, ``weights``, ``biases`` and ``cost`` are exactly what Nielsen's ``network2.save`` writes:
weights[l] is a nested list of shape (sizes[l+1], sizes[l]), biases[l] a column vector (sizes[l+1], 1) and
``cost`` the cost's class name. So network2's ``load`` reads a fastnn file (for its two costs), and
:func:`load` reads a file written by network2 (no ``format`` field: sigmoid everywhere, float64).

Floats are written losslessly: float64 with Python's shortest round-trip ``repr``; float32 with the
shortest decimal that reads back to the same float32 (checked element by element, falling back to the
exact float64 value of the float32 when needed).

Every file fastnn writes goes through :func:`write_output`: atomic for regular files (the JSON goes to
a temporary file in the target's directory, is fsync'ed, then ``os.replace``'d over the target; a
crash or an exception mid-save leaves the previous file untouched and removes the temporary file);
``-``/``/dev/stdout``/``/dev/fd/N`` are written to the inherited descriptor; character devices and
FIFOs straight through (never replaced).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import stat
import sys
from typing import TYPE_CHECKING

import numpy as np

from ._validation import aligned_copy
from ._vocabulary import (
    COST_CLASS_NAMES,
    DTYPES,
    HIDDEN,
    OUTPUTS,
    WEIGHT_INITS,
    check_pairing,
    cost_name,
    problem,
)

if TYPE_CHECKING:
    from ._typing import PathLike
    from .network import Network

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "atomic_write_bytes",
    "atomic_write_text",
    "load",
    "save",
    "write_output",
]

#: value of the ``format`` field that marks a fastnn file
FORMAT = "fastnn.Network"
#: version of the file layout; bumped on a change (2: optional ``classes``, ``label_column``, ``history``)
FORMAT_VERSION = 2
#: versions this fastnn reads (1: fastnn 0.2.0's files)
READ_VERSIONS = (1, 2)

# fastnn cost names -> the network2 class names the files store
_COST_NAME_TO_CLASS = {name: cls for cls, name in COST_CLASS_NAMES.items()}


# --------------------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------------------
def _current_umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no read-only query exists; set and restore at once
    os.umask(mask)
    return mask


# Paths that mean an inherited descriptor, looked at as given (never resolved first: /dev/stdout
# redirected to log.txt resolves to the regular file log.txt, which must not be replaced).
_FD_PATH = re.compile(r"^(?:/dev/fd|/proc/self/fd)/([0-9]{1,9})$")
_STD_PATHS = {"-": 1, "/dev/stdout": 1, "/dev/stderr": 2}
#: prefix of the temporary files of atomic writes (``.fastnn-tmp-<target hash>-<pid>-<random>``)
TMP_PREFIX = ".fastnn-tmp-"


def descriptor_of(path: object) -> int | None:
    """The inherited file descriptor that ``path`` names ("-", /dev/stdout, /dev/stderr, /dev/fd/N,
    /proc/self/fd/N), or None for an ordinary path."""
    if not isinstance(path, str):
        return None
    if path in _STD_PATHS:
        return _STD_PATHS[path]
    m = _FD_PATH.match(path)
    return int(m.group(1)) if m else None


def _may_write(st: os.stat_result) -> bool:
    """The mode bits allow writing (checked by hand: root passes os.access whatever the bits)."""
    if os.geteuid() == 0:
        return bool(st.st_mode & 0o222)
    if st.st_uid == os.geteuid():
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid == os.getegid() or st.st_gid in os.getgroups():
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def _describe(st: os.stat_result) -> str:
    mode = st.st_mode
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def output_target(path: PathLike) -> tuple:
    """How :func:`write_output` will write to ``path``, checked without writing anything:
    ``("fd", n)``, ``("stream", path)`` (character device or FIFO, written straight through) or
    ``("file", real_path)`` (temporary file + rename; a symlink's target). Raises OSError naming
    the path for a directory, a block device, a socket, a closed descriptor, a missing or
    unwritable directory, or a file whose mode bits deny writing."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    fd = descriptor_of(path)
    if fd is not None:
        try:
            fst = os.fstat(fd)
        except OSError as e:
            raise OSError(e.errno, f"{path}: file descriptor {fd} is not open") from None
        if stat.S_ISDIR(fst.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{path}: file descriptor {fd} is a directory")
        return ("fd", fd)
    if not path:
        raise FileNotFoundError(errno.ENOENT, "empty output path")
    st: os.stat_result | None = None
    try:
        st = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            if not _may_write(st):
                raise PermissionError(
                    errno.EACCES, f"{path}: not writable (mode {stat.filemode(st.st_mode)})"
                )
            return ("stream", path)
        err = IsADirectoryError if stat.S_ISDIR(st.st_mode) else OSError
        raise err(
            errno.EISDIR if err is IsADirectoryError else errno.EINVAL,
            f"{path}: {_describe(st)}, not a file fastnn can write",
        )
    real = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"{path}: directory {directory} does not exist")
    if st is not None and not _may_write(st):
        raise PermissionError(
            errno.EACCES, f"{path}: the file is read-only (mode {stat.filemode(st.st_mode)}); left untouched"
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"{path}: directory {directory} is not writable")
    return ("file", real)


def output_identity(path: PathLike) -> tuple:
    """A key equal for two spellings of the same output ("-" and /dev/stdout, a symlink and its
    target, ./a and a, /dev/fd/3 and the file open on 3): used to refuse two outputs to one file."""
    kind, where = output_target(path)
    if kind == "fd":
        st = os.fstat(where)
        return (
            ("inode", st.st_dev, st.st_ino)
            if stat.S_ISREG(st.st_mode)
            else ("fd-dev", st.st_dev, st.st_ino, st.st_rdev)
        )
    try:
        st = os.stat(where)
    except FileNotFoundError:
        return ("path", where)
    if stat.S_ISREG(st.st_mode):
        return ("inode", st.st_dev, st.st_ino)
    return ("fd-dev", st.st_dev, st.st_ino, st.st_rdev)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _tmp_stem(real: str) -> str:
    """Temporary-name prefix for one target: short (NAME_MAX-safe for any target name) and the
    same for every writer of that target, so stale ones can be found."""
    digest = hashlib.sha1(os.path.basename(real).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{TMP_PREFIX}{digest}-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's live process
        return True
    return True


def _remove_stale_temps(directory: str, stem: str) -> None:
    """Remove temporary files of this target left by killed writers (their pid is gone)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not name.startswith(stem):
            continue
        try:
            pid = int(name[len(stem) :].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


#: how long a write to a FIFO waits for a reader before giving up (seconds)
FIFO_WAIT = 10.0


def _open_stream(path: str, wait: float | None = None) -> int:
    """Open a character device or FIFO for writing without blocking forever: a FIFO with no
    reader is retried for ``wait`` seconds (default ``FIFO_WAIT``), then refused with an
    OSError (ENXIO) naming the path. The descriptor returned blocks again for the writes."""
    import time

    wait = FIFO_WAIT if wait is None else wait
    deadline = time.monotonic() + wait
    flags = os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(path, flags)
            break
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            if time.monotonic() >= deadline:
                raise OSError(
                    errno.ENXIO, f"{path}: a FIFO with no reader (nothing read from it for {wait:g} s)"
                ) from None
            time.sleep(0.05)
    os.set_blocking(fd, True)
    return fd


def write_output(path: PathLike, data: bytes) -> None:
    """THE writer of every file fastnn writes (models, histories, plots, ...).

    * ``-``, ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self/fd/N`` (the path as
      given, not resolved) mean the inherited descriptor: ``data`` is written there at its current
      position (no truncation, no rename), after flushing Python's own stdout/stderr buffers.
    * A character device (``/dev/null``) or a FIFO is written straight through, never replaced; a
      FIFO nobody reads is waited for ``FIFO_WAIT`` (10) seconds, then refused (an OSError), so a
      run never hangs on it.
    * A regular file, or a path that does not exist yet, is written atomically: a temporary file
      ``.fastnn-tmp-<hash of the name>-<pid>-<random>`` created with O_EXCL in the target's
      directory, fsync'ed, given the old file's permission bits (new file: 0o666 minus the umask)
      and ``os.replace``'d over the target. A symlink stays a symlink: its target is replaced.
      Temporary files of that target left by killed processes are removed.
    * Refused with an OSError naming the path, the target untouched: a directory, a block device,
      a socket, a closed descriptor, a file whose mode bits deny writing (checked from the bits, so
      also for root), a missing or unwritable directory.

    On any failure (including KeyboardInterrupt) the temporary file is removed and the previous
    content of the target is left intact.
    """
    kind, where = output_target(path)
    if kind == "fd":
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None and stream.fileno() == where:
                    stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        _write_all(where, data)
        return
    if kind == "stream":
        fd = _open_stream(where)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        return

    real = where
    directory = os.path.dirname(real)
    try:
        mode = os.stat(real).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()
    stem = _tmp_stem(real)
    _remove_stale_temps(directory, stem)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f"{stem}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            fd = os.open(tmp, flags, 0o600)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(errno.EEXIST, f"{path}: cannot create a unique temporary file")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    sync_directory(directory)


def sync_directory(directory) -> None:
    """Make a rename inside ``directory`` durable: fsync the directory itself (best effort: not every
    platform or filesystem allows it)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` with :func:`write_output` (atomic for regular files)."""
    write_output(path, data)


def atomic_write_text(path: PathLike, text: str) -> None:
    """:func:`write_output` for UTF-8 text."""
    write_output(path, text.encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------------------
def _lossless_floats(a: np.ndarray):
    """Nested lists of Python floats that read back (with the array's dtype) to exactly ``a``."""
    if a.dtype == np.float64:
        return a.tolist()  # json writes repr(float): shortest round-trip
    if a.dtype == np.float32:
        short = a.astype(str).astype(np.float64)  # shortest float32 decimals, parsed as float64
        bad = short.astype(np.float32) != a
        if bad.any():  # double rounding near a float32 midpoint: use the exact value instead
            short[bad] = a[bad].astype(np.float64)
        return short.tolist()
    return a.astype(np.float64).tolist()


def to_dict(net: Network) -> dict:
    """The JSON-ready dict that :func:`save` writes for ``net``."""
    from ._version import __version__

    try:
        cost = cost_name(net.cost)
    except ValueError:
        raise ValueError(
            f"cannot save: unknown cost {net.cost!r} (only the built-in costs are stored in a model file)"
        ) from None
    sizes = [int(s) for s in net.sizes]
    dtype = np.dtype(net.dtype)
    if dtype.name not in DTYPES:
        raise ValueError(f"cannot save: unsupported dtype {dtype.name!r}")
    weights, biases = [], []
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        w = np.asarray(w)
        b = np.asarray(b).reshape(-1)
        for field, arr in ((f"weights[{l}]", w), (f"biases[{l}]", b)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"cannot save: {field} contains NaN or infinite values")
        weights.append(_lossless_floats(w))
        biases.append(_lossless_floats(b.reshape(-1, 1)))  # network2's column vectors
    d = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "fastnn_version": __version__,
        "sizes": sizes,
        "cost": _COST_NAME_TO_CLASS[cost],
        "output": str(net.output),
        "hidden": str(net.hidden),
        "weight_init": str(getattr(net, "weight_init", "default")),
        "dtype": dtype.name,
        "weights": weights,
        "biases": biases,
    }
    classes = getattr(net, "classes", None)
    if classes is not None:
        d["classes"] = [c if isinstance(c, str) else int(c) for c in classes]
    label_column = getattr(net, "label_column", None)
    if label_column is not None:
        d["label_column"] = {k: label_column[k] for k in ("name", "index", "columns")}
    history = getattr(net, "history", None)
    if history is not None:
        d["history"] = _finite_or_none(history.to_dict())
    return d


def save(net: Network, path: PathLike, state: bool = False) -> None:
    """Save a network as JSON (network2's fields + fastnn's), atomically.

    Parameters
    ----------
    net : Network
    path : str or os.PathLike
        Destination; the previous file is untouched if anything fails.
    state : bool, default False
        Also write the training state (a checkpoint): the momentum velocity, the random
        generators, the epoch count, the η schedule and early-stopping state, the shuffling order
        and the history, so that ``load(path).SGD(..., resume=True)`` continues the run exactly
        (see ``Network.SGD``).
    """
    d = to_dict(net)
    if state:
        d["state"] = _state_to_dict(net)
    text = json.dumps(d, separators=(",", ":"), allow_nan=False)
    atomic_write_text(path, text + "\n")


def _flat(a):
    return None if a is None else _lossless_floats(np.asarray(a).reshape(-1))


def _finite_or_none(v):
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite_or_none(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite_or_none(x) for x in v]
    return v


def _state_to_dict(net) -> dict:
    """The "state" field of a checkpoint (see save)."""
    run = getattr(net, "_train_state", None)
    out = {
        "seed": net.seed,
        "rng": net._rng.bit_generator.state,
        "velocity": _flat(net._velocity),
        "run": None,
    }
    if run is not None:
        w = run["watch"]
        best = w["best_score"]
        out["run"] = {
            "epoch": int(run["epoch"]),
            "eta": float(run["eta"]),
            "eta0": float(run["eta0"]),
            "perm": [int(i) for i in run["perm"]],
            "rng": run["rng"],
            "step_rng": list(run["step_rng"]) if isinstance(run["step_rng"], tuple) else run["step_rng"],
            "watch": {
                "best_score": None if best is None or not np.isfinite(best) else float(best),
                "best_epoch": w["best_epoch"],
                "since_best": int(w["since_best"]),
                "since_change": int(w["since_change"]),
                "best_params": _flat(w["best_params"]),
                "best_velocity": _flat(w["best_velocity"]),
            },
            "params": _flat(run.get("params")),
            "velocity": _flat(run.get("velocity")),
            "history": _finite_or_none(run["history"].to_dict()),
        }
    return out


_U64 = 2**64
_MAX_EPOCH = 10**9  # far beyond any run; keeps a crafted count from reaching the epoch loop
_STATE_KEYS = ("seed", "rng", "velocity", "run")
_RUN_KEYS = ("epoch", "eta", "eta0", "perm", "rng", "step_rng", "watch", "params", "velocity", "history")
_WATCH_KEYS = ("best_score", "best_epoch", "since_best", "since_change", "best_params", "best_velocity")
_HISTORY_KEYS = ("records", "best_epoch", "stop_reason", "restored_best", "settings")


def _object(value, field, keys, optional=()):
    """``value`` must be a JSON object with exactly ``keys`` (plus any of ``optional``)."""
    if not isinstance(value, dict):
        raise _Bad(field, f"expected an object, got {_json_type(value)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise _Bad(f"{field}.{missing[0]}", "missing")
    extra = sorted(k for k in value if k not in keys and k not in optional)
    if extra:
        raise _Bad(f"{field}.{extra[0]}", "unknown field")
    return value


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, (int, float)):
        return f"the number {_short(value)}"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return {"list": "a list", "dict": "an object"}.get(type(value).__name__, type(value).__name__)


def _int(value, field, lo, hi, *, none=False):
    """An integer in [lo, hi] (or None when ``none``)."""
    if value is None and none:
        return None
    if not _is_int(value):
        raise _Bad(field, f"expected an integer{' or null' if none else ''}, got {_json_type(value)}")
    if not lo <= value <= hi:
        raise _Bad(field, f"expected an integer from {_bound(lo)} to {_bound(hi)}, got {_short(value)}")
    return value


def _bound(v: int) -> str:
    """2**128 - 1 rather than its 39 digits."""
    if v >= 2**32 and (v + 1) & v == 0:
        return f"2**{(v + 1).bit_length() - 1} - 1"
    return f"{v:,}"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _real(value, field, *, positive=False, minimum=None, none=False):
    """A finite number (> 0 when ``positive``, >= ``minimum``), or None when ``none``."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(field, f"expected a number{' or null' if none else ''}, got {_json_type(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise _Bad(field, f"expected a finite number, got {_short(value)}") from None
    if not np.isfinite(x):
        raise _Bad(field, f"expected a finite number, got {value!r}")
    if positive and not x > 0:
        raise _Bad(field, f"expected a number > 0, got {value!r}")
    if minimum is not None and x < minimum:
        raise _Bad(field, f"expected a number >= {minimum}, got {value!r}")
    return x


def _pcg64_state(value, field):
    """A PCG64 generator state as numpy writes it, checked exactly (numpy itself would accept a
    float state silently or fail half-way with an OverflowError)."""
    _object(value, field, ("bit_generator", "state", "has_uint32", "uinteger"))
    if value["bit_generator"] != "PCG64":
        raise _Bad(f"{field}.bit_generator", f"expected 'PCG64', got {_json_type(value['bit_generator'])}")
    inner = _object(value["state"], f"{field}.state", ("state", "inc"))
    _int(inner["state"], f"{field}.state.state", 0, 2**128 - 1)
    _int(inner["inc"], f"{field}.state.inc", 0, 2**128 - 1)
    _int(value["has_uint32"], f"{field}.has_uint32", 0, 1)
    _int(value["uinteger"], f"{field}.uinteger", 0, 2**32 - 1)
    return {
        "bit_generator": "PCG64",
        "state": {"state": inner["state"], "inc": inner["inc"]},
        "has_uint32": value["has_uint32"],
        "uinteger": value["uinteger"],
    }


def _history_checked(value, field, epoch=None):
    """A History from a history object (History.to_dict()), every field and record checked.
    ``epoch``: the epochs trained (a checkpoint's run: one record for each, numbered 1..epoch);
    None (a model file's history): any number of records, numbered 1, 2, 3, ..."""
    from .history import STOP_REASONS, EpochRecord, History

    _object(value, field, _HISTORY_KEYS)
    records_in = value["records"]
    if not isinstance(records_in, list):
        raise _Bad(f"{field}.records", f"expected a list, got {_json_type(records_in)}")
    if epoch is not None and len(records_in) != epoch:  # one record per epoch trained, 1..epoch
        raise _Bad(f"{field}.records", f"{len(records_in)} records for {epoch} epochs trained")
    names = list(EpochRecord.__dataclass_fields__)  # every field is written (dataclasses.asdict)
    records = []
    for i, r in enumerate(records_in):
        where = f"{field}.records[{i}]"
        _object(r, where, names)
        ep = _int(r["epoch"], f"{where}.epoch", i + 1, i + 1)  # records of epochs 1, 2, 3, ...
        n_tr = _int(r["n_training"], f"{where}.n_training", 1, 2**62)
        n_ev = _int(r.get("n_evaluation"), f"{where}.n_evaluation", 0, 2**62, none=True)
        rec = {
            "epoch": ep,
            "eta": _real(r["eta"], f"{where}.eta", positive=True),
            "seconds": _real(r["seconds"], f"{where}.seconds", minimum=0),
            # an infinite speed (a 0 s epoch) is written as null
            "examples_per_second": _real(
                r["examples_per_second"], f"{where}.examples_per_second", minimum=0, none=True
            ),
            "n_training": n_tr,
            "n_evaluation": n_ev,
        }
        if rec["examples_per_second"] is None:
            rec["examples_per_second"] = float("inf")
        for name in names:
            if name in rec:
                continue
            if name.endswith("_accuracy"):
                top = n_tr if name.startswith("training") else (n_ev if n_ev is not None else 0)
                rec[name] = _int(r[name], f"{where}.{name}", 0, top, none=True)
            elif name == "evaluation_seconds":
                rec[name] = _real(r[name], f"{where}.{name}", minimum=0, none=True)
            else:  # costs and losses: finite, or null (NaN/inf are written as null)
                rec[name] = _real(r[name], f"{where}.{name}", none=True)
        records.append(EpochRecord(**rec))
    last = epoch if epoch is not None else (records[-1].epoch if records else 0)
    best = _int(value["best_epoch"], f"{field}.best_epoch", 1, max(last, 1), none=True)
    stop = value["stop_reason"]
    if not isinstance(stop, str) or stop not in STOP_REASONS:
        raise _Bad(
            f"{field}.stop_reason", f"expected one of {', '.join(STOP_REASONS)}, got {_json_type(stop)}"
        )
    restored = value["restored_best"]
    if not isinstance(restored, bool):
        raise _Bad(f"{field}.restored_best", f"expected true or false, got {_json_type(restored)}")
    settings = value["settings"]
    if not isinstance(settings, dict):
        raise _Bad(f"{field}.settings", f"expected an object, got {_json_type(settings)}")
    return History(
        records=records, best_epoch=best, stop_reason=stop, restored_best=restored, settings=dict(settings)
    )


def _state_from_dict(net, d) -> None:
    """Restore a checkpoint's "state" field into a freshly loaded ``net`` (raises _Bad).

    Every field is checked first (types, ranges, finiteness, shapes, the generators' states, the
    history's records); only when all of it is valid is anything applied to ``net``."""
    n = net.n_parameters

    def flat(value, field):
        if value is None:
            return None
        if isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, bool):
                    raise _Bad(f"{field}[{i}]", f"expected a number, got {_json_type(v)}")
        return _array(value, field, [(n,)], net.dtype)

    _object(d, "state", _STATE_KEYS)
    seed = _int(d["seed"], "state.seed", 0, 2**1024 - 1, none=True)  # as Network(seed=...) takes
    if type(net._rng.bit_generator).__name__ != "PCG64":  # pragma: no cover - Network uses PCG64
        raise _Bad("state.rng", "this network's generator is not PCG64")
    rng = _pcg64_state(d["rng"], "state.rng")
    velocity = flat(d["velocity"], "state.velocity")
    run = d["run"]
    train_state = None
    if run is not None:
        _object(run, "state.run", _RUN_KEYS)
        epoch = _int(run["epoch"], "state.run.epoch", 0, _MAX_EPOCH)
        eta = _real(run["eta"], "state.run.eta", positive=True)
        eta0 = _real(run["eta0"], "state.run.eta0", positive=True)
        perm_in = run["perm"]
        if not isinstance(perm_in, list) or not perm_in:
            got = _json_type(perm_in)
            raise _Bad("state.run.perm", f"expected a non-empty list of row indices, got {got}")
        if not all(_is_int(i) and 0 <= i < len(perm_in) for i in perm_in):
            raise _Bad("state.run.perm", f"expected a permutation of 0..{len(perm_in) - 1}")
        perm = np.asarray(perm_in, dtype=np.intp)
        if not np.array_equal(np.sort(perm), np.arange(len(perm))):
            raise _Bad("state.run.perm", f"expected a permutation of 0..{len(perm) - 1} (an index repeats)")
        run_rng = _pcg64_state(run["rng"], "state.run.rng")
        step_rng = run["step_rng"]
        if isinstance(step_rng, list):
            if len(step_rng) != 4 or not all(_is_int(v) and 0 <= v < _U64 for v in step_rng):
                raise _Bad("state.run.step_rng", "expected 4 unsigned 64-bit integers")
            if not any(step_rng):
                raise _Bad("state.run.step_rng", "expected 4 unsigned 64-bit integers, not all zero")
            step_rng = tuple(step_rng)
        elif isinstance(step_rng, dict):  # the reference trainer (a cost class): a numpy state
            step_rng = _pcg64_state(step_rng, "state.run.step_rng")
        else:
            raise _Bad("state.run.step_rng", f"expected a list or an object, got {_json_type(step_rng)}")
        w = _object(run["watch"], "state.run.watch", _WATCH_KEYS)
        best_epoch = _int(w["best_epoch"], "state.run.watch.best_epoch", 1, max(epoch, 1), none=True)
        watch = {
            "best_score": _real(w["best_score"], "state.run.watch.best_score", none=True),
            "best_epoch": best_epoch,
            "since_best": _int(w["since_best"], "state.run.watch.since_best", 0, epoch),
            "since_change": _int(w["since_change"], "state.run.watch.since_change", 0, epoch),
            "best_params": flat(w["best_params"], "state.run.watch.best_params"),
            "best_velocity": flat(w["best_velocity"], "state.run.watch.best_velocity"),
        }
        if watch["best_score"] is None:
            watch["best_score"] = -np.inf
        train_state = dict(
            epoch=epoch,
            eta=eta,
            eta0=eta0,
            perm=perm,
            rng=run_rng,
            step_rng=step_rng,
            watch=watch,
            params=flat(run["params"], "state.run.params"),
            velocity=flat(run["velocity"], "state.run.velocity"),
            history=_history_checked(run["history"], "state.run.history", epoch),
        )
    # ---- everything is valid: apply ----
    if seed is not None:
        net.seed = seed
    net._rng.bit_generator.state = rng
    net._velocity = None if velocity is None else aligned_copy(velocity, net.dtype, always=True)
    if train_state is not None:
        net._train_state = train_state
        net.history = train_state["history"]


# --------------------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------------------
class _Bad(Exception):
    def __init__(self, field, problem):
        super().__init__(field, problem)
        self.field = field
        self.problem = problem


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _choice(data, field, choices, default):
    if field not in data:
        return default
    value = data[field]
    if not isinstance(value, str) or value not in choices:
        raise _Bad(field, f"expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _array(value, field, shapes, dtype):
    """``value`` as a finite array of ``dtype`` whose shape is one of ``shapes`` (first one = canonical)."""
    if not isinstance(value, list):
        raise _Bad(field, f"expected a nested list of numbers, got {type(value).__name__}")
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError):
        raise _Bad(field, "ragged nested list (rows of different lengths)") from None
    if raw.dtype.kind not in "iuf" or raw.dtype == object:
        if raw.dtype.kind == "b":
            raise _Bad(field, "expected numbers, got booleans")
        raise _Bad(field, "expected numbers only (found strings, nulls, objects or ragged rows)")
    if raw.shape not in shapes:
        expected = " or ".join(str(s) for s in shapes)
        raise _Bad(field, f"expected shape {expected}, got {raw.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        arr = raw.astype(dtype)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = "".join(f"[{i}]" for i in bad)
        raise _Bad(field + where, f"not a finite {np.dtype(dtype).name} value: {raw[tuple(bad)]!r}")
    return arr.reshape(shapes[0])


def _parse(data):
    """Validate a decoded model file; returns the constructor kwargs, weights and biases."""
    if not isinstance(data, dict):
        raise _Bad("top level", f"expected a JSON object, got {type(data).__name__}")
    is_fastnn = "format" in data
    if is_fastnn and data["format"] != FORMAT:
        raise _Bad("format", f"expected {FORMAT!r}, got {data['format']!r}")
    if is_fastnn or "version" in data:
        if "version" not in data:
            raise _Bad("version", "missing")
        version = data["version"]
        if not _is_int(version) or version not in READ_VERSIONS:
            raise _Bad(
                "version",
                f"unsupported version {version!r} (this fastnn reads versions "
                f"{', '.join(map(str, READ_VERSIONS))}; a newer fastnn may read it)",
            )
    for field in ("sizes", "weights", "biases", "cost"):
        if field not in data:
            raise _Bad(field, "missing")

    sizes = data["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise _Bad("sizes", f"expected a list of at least 2 layer sizes, got {sizes!r}")
    for i, s in enumerate(sizes):
        if not _is_int(s) or s < 1:
            raise _Bad(f"sizes[{i}]", f"expected a positive integer, got {s!r}")

    cost_cls = data["cost"]
    if not isinstance(cost_cls, str) or cost_cls not in COST_CLASS_NAMES:
        raise _Bad("cost", f"expected one of {', '.join(map(repr, COST_CLASS_NAMES))}, got {cost_cls!r}")
    cost = COST_CLASS_NAMES[cost_cls]
    output = _choice(data, "output", OUTPUTS, None)
    try:
        cost, output = check_pairing(cost, output)
    except ValueError as exc:
        raise _Bad("output", problem(exc)) from None
    hidden = _choice(data, "hidden", HIDDEN, "sigmoid")
    weight_init = _choice(data, "weight_init", WEIGHT_INITS, "default")
    dtype = np.dtype(_choice(data, "dtype", DTYPES, "float64"))
    if "fastnn_version" in data and not isinstance(data["fastnn_version"], str):
        raise _Bad("fastnn_version", f"expected a string, got {data['fastnn_version']!r}")

    n_layers = len(sizes) - 1
    weights, biases = [], []
    for field, _out in (("weights", weights), ("biases", biases)):
        value = data[field]
        if not isinstance(value, list):
            raise _Bad(field, f"expected a list of {n_layers} arrays, got {type(value).__name__}")
        if len(value) != n_layers:
            raise _Bad(field, f"expected {n_layers} arrays for sizes {sizes}, got {len(value)}")
    for l in range(n_layers):
        n_out, n_in = sizes[l + 1], sizes[l]
        weights.append(_array(data["weights"][l], f"weights[{l}]", [(n_out, n_in)], dtype))
        biases.append(_array(data["biases"][l], f"biases[{l}]", [(n_out,), (n_out, 1)], dtype))
    kwargs = dict(cost=cost, output=output, hidden=hidden, weight_init=weight_init, dtype=dtype)
    extra = {
        "classes": _classes(data, sizes[-1]),
        "label_column": _label_column(data, sizes[0]),
        "history": _history(data),
    }
    return sizes, kwargs, weights, biases, extra


def _classes(data, n_out):
    """The optional ``classes`` field: one distinct label (int or string) per output unit."""
    if "classes" not in data:
        return None
    value = data["classes"]
    if not isinstance(value, list):
        raise _Bad("classes", f"expected a list of labels, got {type(value).__name__}")
    if len(value) != n_out and not (n_out == 1 and len(value) in (1, 2)):
        raise _Bad("classes", f"expected {n_out} labels (one per output unit), got {len(value)}")
    kinds = {str if isinstance(c, str) else int if _is_int(c) else None for c in value}
    if None in kinds or len(kinds) > 1:
        raise _Bad("classes", "expected integers or strings (all of one kind)")
    if len(set(value)) != len(value):
        raise _Bad("classes", "expected distinct labels, got repeated ones")
    return list(value)


def _label_column(data, n_in):
    """The optional ``label_column`` field: {"name": str | null, "index": int, "columns": int}."""
    if "label_column" not in data:
        return None
    value = data["label_column"]
    if not isinstance(value, dict) or set(value) != {"name", "index", "columns"}:
        raise _Bad("label_column", 'expected an object with "name", "index" and "columns"')
    name, index, columns = value["name"], value["index"], value["columns"]
    if name is not None and not isinstance(name, str):
        raise _Bad("label_column.name", f"expected a string or null, got {name!r}")
    if not _is_int(columns) or columns != n_in + 1:
        raise _Bad("label_column.columns", f"expected {n_in + 1} (the inputs and the label), got {columns!r}")
    if not _is_int(index) or not 0 <= index < columns:
        raise _Bad("label_column.index", f"expected an integer in [0, {columns}), got {index!r}")
    return {"name": name, "index": index, "columns": columns}


def _history(data):
    """The optional ``history`` field (History.to_dict()), checked as strictly as a checkpoint's."""
    if "history" not in data:
        return None
    return _history_checked(data["history"], "history")


def load(path: PathLike) -> Network:
    """Load a network saved by :func:`save` / ``Network.save`` or by Nielsen's ``network2.save``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        ``"<path>: ... <field>: <problem>"`` naming the first bad field for anything that is not a
        valid model file (not JSON, truncated, unknown cost, wrong version, wrong shapes or layer
        count, NaN/inf values, ...).
    OSError
        Passed through (e.g. FileNotFoundError).
    """
    from .network import Network

    name = os.fspath(path)
    with open(name, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")  # tolerate a byte-order mark
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{name}: not a fastnn/network2 model file: not UTF-8 text ({e.reason} at byte {e.start})"
        ) from None
    if not text.strip():
        raise ValueError(f"{name}: not a fastnn/network2 model file: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        stripped = text.rstrip()
        truncated = e.pos >= len(stripped) - 1 or not stripped.endswith(("}", "]"))
        hint = " (truncated?)" if truncated else ""
        raise ValueError(
            f"{name}: not a fastnn/network2 model file: invalid JSON{hint}: "
            f"{e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    except RecursionError:
        raise ValueError(f"{name}: not a fastnn/network2 model file: JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits (Python's conversion limit)
        raise ValueError(f"{name}: not a fastnn/network2 model file: {str(e).splitlines()[0]}") from None
    try:
        sizes, kwargs, weights, biases, extra = _parse(data)
    except _Bad as e:
        raise ValueError(f"{name}: invalid model file: {e.field}: {e.problem}") from None
    try:
        net = Network(sizes, **kwargs)
        net.weights = weights
        net.biases = biases
        net.classes, net.label_column, net.history = extra["classes"], extra["label_column"], extra["history"]
    except (ValueError, TypeError) as e:  # e.g. a (cost, output) pair the Network refuses
        raise ValueError(f"{name}: invalid model file: {e}") from None
    if isinstance(data, dict) and "state" in data:
        try:
            _state_from_dict(net, data["state"])
        except _Bad as e:
            raise ValueError(f"{name}: invalid checkpoint: {e.field}: {e.problem}") from None
    return net
