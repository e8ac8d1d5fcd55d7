"""``fastnn download mnist`` / :func:`download_mnist`: fetch the four MNIST IDX files from public
mirrors, verify them, and install them atomically.

For each file (``train-images-idx3-ubyte.gz`` and the three others) the mirrors are tried in order:

1. a file already in place whose content verifies is kept (nothing is downloaded);
2. the download goes to ``.<name>.part`` in the target directory, resumed with an HTTP Range request
   when a partial file from the same URL is there (``.<name>.part.url`` remembers the URL);
3. the content — decompressed when gzipped — must match the SHA-256 shipped in the package
   (``fastnn/mnist.sha256``); a corrupt or truncated download is deleted and the next mirror tried;
4. a verified file is installed with :func:`fastnn.io.atomic_write_bytes` (temporary file, fsync,
   rename) and the partial file removed.

When every mirror fails, :class:`DownloadError` names each mirror and what went wrong with it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from ._mnist_files import DEFAULT_MNIST_DIR, MNIST_FILES, MNIST_MIRRORS, mnist_checksums, mnist_sizes
from ._output_files import sync_directory

__all__ = ["MNIST_MIRRORS", "DownloadError", "download_mnist", "mnist_checksums", "mnist_sizes"]

_CHUNK = 1 << 16


class DownloadError(OSError):
    """Every mirror failed for a file; the message names each mirror and its failure."""


class _Refused(OSError):
    """A download stopped on purpose (too large, too slow): its partial file is deleted."""


class _Verifier:
    """SHA-256 and size of the content of a download, computed while it streams: gunzipped on
    the fly when the data is gzipped (several members allowed), never more than ``size`` bytes
    of content (a deflate bomb stops at the first byte past the file's real size)."""

    def __init__(self, source, size):
        self.source, self.size = source, size
        self.hash = hashlib.sha256()
        self.head = b""  # the first two bytes decide: gzip or plain
        self.inflater = None
        self.gz = None
        self.content = 0

    def _take(self, out):
        self.content += len(out)
        if self.content > self.size:
            raise _Refused(f"the content is larger than the file's {self.size:,} bytes; abandoned")
        self.hash.update(out)

    def update(self, block):
        if self.gz is None:
            self.head += block
            if len(self.head) < 2:
                return
            block, self.head = self.head, b""
            self.gz = block[:2] == b"\x1f\x8b"
            if self.gz:
                self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if not self.gz:
            self._take(block)
            return
        data = block
        try:
            while True:
                if self.inflater.eof:
                    if not data:
                        break
                    self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # a next gzip member
                out = self.inflater.decompress(data, _CHUNK)  # never more than _CHUNK at once
                self._take(out)
                data = self.inflater.unconsumed_tail
                if not data and self.inflater.eof:
                    data = self.inflater.unused_data
                if not data and len(out) < _CHUNK:
                    break
        except zlib.error as e:
            raise ValueError(f"{self.source}: corrupt gzip data ({e})") from None

    def hexdigest(self):
        if self.gz is None and self.head:  # fewer than 2 bytes in all
            self.gz = False
            self._take(self.head)
        if self.gz and not self.inflater.eof:
            raise ValueError(f"{self.source}: corrupt gzip data (truncated)")
        return self.hash.hexdigest()


def _file_sha256(path, size) -> str:
    """SHA-256 of a file's content (streamed, gunzipped when gzipped, at most ``size`` bytes)."""
    v = _Verifier(path, size)
    with open(path, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError(f"{path}: not a regular file")
        while True:
            block = f.read(_CHUNK)
            if not block:
                break
            try:
                v.update(block)
            except _Refused as e:
                raise ValueError(f"{path}: {e}") from None
    return v.hexdigest()


def _open_no_follow(path, flags):
    """os.open without following a symlink at ``path`` (O_NOFOLLOW), refusing anything but a
    regular file (a FIFO, a device, a directory): a link planted at a partial file's name must not
    make the download append to the link's target."""
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | nofollow | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, f"{path}: is a symbolic link; refusing to follow it") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{path}: not a regular file; refusing to write into it")
        if st.st_nlink > 1:  # a hard link planted there: writing would change the other name's file
            raise OSError(errno.EMLINK, f"{path}: has {st.st_nlink} hard links; refusing to write into it")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _regular(path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _unlink(path):
    try:
        os.unlink(path)  # a symlink itself, never its target
    except FileNotFoundError:
        pass


def _fetch(url, part, timeout, bar_factory, size, window=60.0, min_rate=1024.0):
    """Download url into `part` (resuming a partial download of the same url) and return the
    SHA-256 of its content, computed while streaming. Stopped (``_Refused``) when the data passes
    ``size`` + 1 % (or the server announces more) or when fewer than ``min_rate`` bytes/s arrive
    over ``window`` seconds."""
    url_file = Path(str(part) + ".url")
    cap = size + size // 100
    have = 0
    if _regular(part) and _regular(url_file) and os.lstat(part).st_nlink == 1:
        fd = _open_no_follow(url_file, os.O_RDONLY)
        with os.fdopen(fd, "rb") as f:
            same = f.read(4096) == url.encode("utf-8")
        if same:
            have = os.lstat(part).st_size
    if not have or have > cap:
        have = 0
        _unlink(part)
    _unlink(url_file)
    request = urllib.request.Request(url, headers={"User-Agent": "fastnn"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    verifier = _Verifier(url, size)
    with urllib.request.urlopen(request, timeout=min(timeout, window)) as response:
        status = getattr(response, "status", 200)
        if have and status != 206:  # the server ignored the Range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() and len(length) < 20 else None
        if total is not None and total > cap:
            raise _Refused(
                f"the mirror announces {total:,} bytes, more than the file's {size:,} bytes (+1 %); abandoned"
            )
        fd = _open_no_follow(part, os.O_RDWR | os.O_CREAT)
        try:
            if have:  # the partial file's bytes go through the checksum first
                offset = 0
                while offset < have:
                    block = os.pread(fd, min(_CHUNK, have - offset), offset)
                    if not block:
                        break
                    verifier.update(block)
                    offset += len(block)
            os.ftruncate(fd, have)
            os.lseek(fd, have, os.SEEK_SET)
            ufd = _open_no_follow(url_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(ufd, "wb") as f:
                f.write(url.encode("utf-8"))
            bar = bar_factory(total, have, url.rsplit("/", 1)[-1])
            got = have
            clock = time.monotonic()
            window_start, window_bytes = clock, 0
            try:
                while True:
                    block = response.read1(_CHUNK)
                    if not block:
                        break
                    got += len(block)
                    if got > cap:
                        raise _Refused(f"more than the file's {size:,} bytes (+1 %) received; abandoned")
                    verifier.update(block)
                    view = memoryview(block)
                    while view:
                        view = view[os.write(fd, view) :]
                    if bar is not None:
                        bar.update(len(block))
                    now = time.monotonic()
                    window_bytes += len(block)
                    if now - window_start >= window:
                        if window_bytes < min_rate * (now - window_start):
                            raise OSError(
                                f"too slow: {window_bytes:,} bytes in {now - window_start:.0f} s "
                                f"(less than {min_rate:,.0f} bytes/s); abandoned"
                            )
                        window_start, window_bytes = now, 0
            finally:
                if bar is not None:
                    bar.close()
            os.fsync(fd)
        finally:
            os.close(fd)
    if total is not None and got != total:
        raise OSError(f"truncated download: got {got:,} of {total:,} bytes")
    return verifier.hexdigest()


def _base_url(base):
    """A mirror's base URL ending in '/': a local directory (a plain path, as --mirror /some/dir)
    becomes its file:// URL."""
    base = os.fspath(base)
    if "://" not in base and os.path.isdir(os.path.expanduser(base)):
        base = Path(os.path.expanduser(base)).resolve().as_uri()
    return base if base.endswith("/") else base + "/"


def _remove_partial(part):
    for p in (part, Path(str(part) + ".url")):
        _unlink(p)


def download_mnist(
    directory=None,
    *,
    mirrors=None,
    mirror=None,
    progress=None,
    timeout=30.0,
    quiet=False,
    stall_window=60.0,
    min_rate=1024.0,
):
    """Download the four MNIST files into ``directory`` (default ``~/.fastnn/mnist``) and return it.

    ``mirrors``: base URLs tried in order (default :data:`MNIST_MIRRORS`); ``mirror``: a base URL
    tried first. A base may be a local directory holding the four ``.gz`` files (a path or a
    ``file://`` URL). Files already there whose content verifies are kept. ``progress``: a byte
    progress bar per file on stderr (default: when stderr is a terminal). Raises
    :class:`DownloadError` naming every mirror tried and its failure when a file cannot be had.
    The result loads with :func:`fastnn.data.load_mnist` (``load_mnist(directory)``).

    No mirror costs more than the file is worth: a download that passes the file's size (shipped
    with the checksums, see :func:`mnist_sizes`) + 1 %, or announces more, or whose content
    decompresses past the file's size, is stopped and deleted; a mirror that delivers fewer than
    ``min_rate`` bytes/s over ``stall_window`` seconds (or nothing for ``timeout`` seconds) is
    abandoned; the next mirror is tried. The checksum is computed while the data streams. The
    partial file ``.<name>.gz.part`` is opened without following symlinks and must be a regular
    file.
    """
    for value, what in ((timeout, "timeout"), (stall_window, "stall_window"), (min_rate, "min_rate")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ValueError(f"{what}: expected a finite number > 0, got {value!r}")
    target = Path(os.path.expanduser(os.fspath(directory if directory is not None else DEFAULT_MNIST_DIR)))
    bases = list(MNIST_MIRRORS if mirrors is None else mirrors)
    if isinstance(mirrors, str):
        bases = [mirrors]
    if mirror is not None:
        bases = [mirror] + [b for b in bases if b != mirror]
    if not bases:
        raise ValueError("mirrors: expected at least one base URL")
    bases = [_base_url(b) for b in bases]
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target}: exists and is not a directory")
    target.mkdir(parents=True, exist_ok=True)
    if progress is None:
        progress = sys.stderr.isatty() and not quiet
    sums, sizes = mnist_checksums(), mnist_sizes()

    def bar_factory(total, initial, name):
        if not progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=total, initial=initial, unit="B", unit_scale=True, desc=name, leave=False, file=sys.stderr
        )

    def say(message):
        if not quiet:
            print(f"fastnn: {message}", file=sys.stderr, flush=True)

    for name in MNIST_FILES.values():
        final = target / (name + ".gz")
        want, size = sums[name], sizes[name]
        existing = None
        for candidate in (final, target / name):
            if candidate.is_file():
                try:
                    ok = _file_sha256(candidate, size) == want
                except (OSError, ValueError):
                    ok = False
                if ok:
                    existing = candidate
                    break
                if candidate != final:  # load_mnist would pick it before the .gz: set it aside
                    os.replace(candidate, str(candidate) + ".bad")
                    say(f"{candidate.name}: does not verify; renamed to {candidate.name}.bad")
        if existing is not None:
            say(f"{existing.name}: already there, verified")
            continue
        part = target / f".{name}.gz.part"
        failures = []
        for base in bases:
            url = base + name + ".gz"
            try:
                got = _fetch(url, part, timeout, bar_factory, size, stall_window, min_rate)
            except urllib.error.HTTPError as e:
                failures.append(f"{url}: HTTP {e.code} {e.reason}")
                continue
            except _Refused as e:
                _remove_partial(part)
                failures.append(f"{url}: {e}")
                continue
            except ValueError as e:  # corrupt gzip data
                _remove_partial(part)
                failures.append(f"{url}: corrupt download ({e}); deleted")
                continue
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", None) or e
                failures.append(f"{url}: {reason}")
                continue
            if got != want:
                _remove_partial(part)
                problem = f"SHA-256 of the content is {got}, expected {want}"
                failures.append(f"{url}: corrupt download ({problem}); deleted")
                continue
            os.replace(part, final)  # same directory: atomic; the data was fsync'ed
            _remove_partial(part)
            sync_directory(target)
            say(f"{name}.gz: downloaded from {base}, verified (SHA-256)")
            break
        else:
            tried = "\n".join(f"  {f}" for f in failures)
            raise DownloadError(
                f"could not download {name}.gz from any mirror; tried:\n{tried}\n"
                f"Pass another mirror with --mirror URL (mirror=URL), or put the "
                f"four files into {target} by hand."
            )
    return target
