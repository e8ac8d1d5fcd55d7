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

import gzip
import hashlib
import io
import os
import sys
import urllib.error
import urllib.request
import zlib
from pathlib import Path

__all__ = ["MNIST_MIRRORS", "DownloadError", "download_mnist", "mnist_checksums"]

#: Public mirrors of the four gzipped MNIST files, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_CHUNK = 1 << 16


class DownloadError(OSError):
    """Every mirror failed for a file; the message names each mirror and its failure."""


def mnist_checksums():
    """{file name (decompressed): SHA-256 hex} from the checksum file shipped in the package."""
    text = (Path(__file__).with_name("mnist.sha256")).read_text(encoding="ascii")
    sums = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            digest, name = line.split()
            sums[name] = digest
    return sums


def _content_sha256(data: bytes, source) -> str:
    """SHA-256 of the content: of the decompressed bytes when gzipped."""
    h = hashlib.sha256()
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as g:
                while True:
                    block = g.read(1 << 20)
                    if not block:
                        break
                    h.update(block)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{source}: corrupt gzip data ({e})") from None
    else:
        h.update(data)
    return h.hexdigest()


def _fetch(url, part, timeout, bar_factory):
    """Download url into `part` (resuming a partial download of the same url); returns the bytes."""
    url_file = Path(str(part) + ".url")
    have = 0
    if part.exists() and url_file.exists() and url_file.read_text(encoding="utf-8") == url:
        have = part.stat().st_size
    else:
        part.unlink(missing_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "fastnn"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status = getattr(response, "status", 200)
        if have and status != 206:  # the server ignored the Range: start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        url_file.write_text(url, encoding="utf-8")
        bar = bar_factory(total, have, url.rsplit("/", 1)[-1])
        try:
            with open(part, "ab" if have else "wb") as f:
                while True:
                    block = response.read(_CHUNK)
                    if not block:
                        break
                    f.write(block)
                    if bar is not None:
                        bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and part.stat().st_size != total:
        raise OSError(f"truncated download: got {part.stat().st_size:,} of {total:,} bytes")
    return part.read_bytes()


def _base_url(base):
    """A mirror's base URL ending in '/': a local directory (a plain path, as --mirror /some/dir)
    becomes its file:// URL."""
    base = os.fspath(base)
    if "://" not in base and os.path.isdir(os.path.expanduser(base)):
        base = Path(os.path.expanduser(base)).resolve().as_uri()
    return base if base.endswith("/") else base + "/"


def _remove_partial(part):
    for p in (part, Path(str(part) + ".url")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def download_mnist(directory=None, *, mirrors=None, mirror=None, progress=None, timeout=30.0, quiet=False):
    """Download the four MNIST files into ``directory`` (default ``~/.fastnn/mnist``) and return it.

    ``mirrors``: base URLs tried in order (default :data:`MNIST_MIRRORS`); ``mirror``: a base URL
    tried first. A base may be a local directory holding the four ``.gz`` files (a path or a
    ``file://`` URL). Files already there whose content verifies are kept. ``progress``: a byte
    progress bar per file on stderr (default: when stderr is a terminal). Raises
    :class:`DownloadError` naming every mirror tried and its failure when a file cannot be had.
    The result loads with :func:`fastnn.data.load_mnist` (``load_mnist(directory)``).
    """
    from .data import DEFAULT_MNIST_DIR
    from .io import atomic_write_bytes

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
    sums = mnist_checksums()

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

    for name in _FILES:
        final = target / (name + ".gz")
        want = sums[name]
        existing = None
        for candidate in (final, target / name):
            if candidate.is_file():
                try:
                    ok = _content_sha256(candidate.read_bytes(), candidate) == want
                except ValueError:
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
                data = _fetch(url, part, timeout, bar_factory)
            except urllib.error.HTTPError as e:
                failures.append(f"{url}: HTTP {e.code} {e.reason}")
                continue
            except (urllib.error.URLError, OSError, ValueError) as e:
                reason = getattr(e, "reason", None) or e
                failures.append(f"{url}: {reason}")
                continue
            try:
                got = _content_sha256(data, url)
            except ValueError as e:
                got, problem = None, str(e)
            else:
                problem = f"SHA-256 of the content is {got}, expected {want}"
            if got != want:
                _remove_partial(part)
                failures.append(f"{url}: corrupt download ({problem}); deleted")
                continue
            atomic_write_bytes(final, data)
            _remove_partial(part)
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
