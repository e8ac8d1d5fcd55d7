"""Writing output files: the one writer behind every file fastnn writes (models, histories, plots,
ONNX files, tables, the MNIST download's directory sync).

:func:`write_output` is atomic for regular files (the data goes to a temporary file in the target's
directory, is fsync'ed, then ``os.replace``'d over the target; a crash or an exception mid-write
leaves the previous file untouched and removes the temporary file); ``-``/``/dev/stdout``/
``/dev/fd/N`` are written to the inherited descriptor; character devices and FIFOs straight through
(never replaced). Pure standard library: imports nothing from fastnn, so any module can use it.
Re-exported by :mod:`fastnn.io` (``write_output``, ``atomic_write_bytes``, ``atomic_write_text``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._typing import PathLike

__all__ = [
    "FIFO_WAIT",
    "TMP_PREFIX",
    "atomic_write_bytes",
    "atomic_write_text",
    "descriptor_of",
    "output_identity",
    "output_target",
    "sync_directory",
    "write_output",
]


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
