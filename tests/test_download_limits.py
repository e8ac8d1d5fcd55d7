"""`fastnn download` against hostile mirrors (issue #23), on a local HTTP server: no Content-Length
and endless data, a Content-Length of 3 GB, a gzip bomb, a byte every now and then, silence; a
symlink or a FIFO planted at the partial file. Each download stops at the file's size + 1 % (sizes
shipped with the checksums), the checksum is computed while streaming, a slow mirror is abandoned
after a configurable window, and the next mirror is tried. No internet."""

import http.server
import os
import re
import threading
import time
import zlib

import pytest
from conftest import mnist_gz_files

from fastnn import cli
from fastnn import download as dl

SIZES = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}
LABELS = "t10k-labels-idx1-ubyte"  # the smallest file: the unit tests fetch it alone


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # no Content-Length: the body ends when the connection closes

    def log_message(self, *args):
        pass

    def do_GET(self):
        kind, _, name = self.path.strip("/").partition("/")
        data = self.server.files.get(name)
        if data is None:
            self.send_error(404)
            return
        try:
            getattr(self, "serve_" + kind.replace("-", "_"))(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _start(self, length=None):
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def serve_good(self, data):
        self._start(len(data))
        self.wfile.write(data)

    def serve_endless(self, data):  # no Content-Length, never ends
        self._start()
        block = os.urandom(1 << 16)
        for _ in range(10_000):  # 640 MB at most: the client must stop long before
            self.wfile.write(block)

    def serve_huge(self, data):  # announces 3 GB
        self._start(3_000_000_000)
        self.wfile.write(data)

    def serve_bomb(self, data):  # a valid gzip whose content is 100x the real file
        c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        body = c.compress(bytes(100 * SIZES[LABELS])) + c.flush()
        self._start(len(body))
        self.wfile.write(body)

    def serve_slow(self, data):  # the right data, a byte every 0.1 s
        self._start(len(data))
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            time.sleep(0.1)

    def serve_silent(self, data):
        self._start(len(data))
        self.wfile.flush()
        time.sleep(30)


@pytest.fixture(scope="module")
def server(mnist_dir):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.files = mnist_gz_files(mnist_dir, SIZES)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _fetch(url, part, **kw):
    kw.setdefault("window", 60.0)
    return dl._fetch(url, part, kw.pop("timeout", 30.0), lambda *a: None, SIZES[LABELS], **kw)


def test_sizes_are_shipped_with_the_checksums():
    assert dl.mnist_sizes() == SIZES
    assert sorted(dl.mnist_checksums()) == sorted(SIZES)


def test_good_download_is_verified_while_streaming(server, tmp_path):
    part = tmp_path / ".x.part"
    digest = _fetch(f"{server}/good/{LABELS}.gz", part)
    assert digest == dl.mnist_checksums()[LABELS]  # the hash, not the bytes, comes back


@pytest.mark.parametrize(
    "kind,message",
    [
        ("endless", "more than the file's 10,008 bytes (+1 %) received"),
        ("huge", "announces 3,000,000,000 bytes"),
        ("bomb", "content is larger than the file's 10,008 bytes"),
    ],
)
def test_oversized_downloads_stop_at_size_plus_one_percent(server, tmp_path, kind, message):
    part = tmp_path / ".x.part"
    with pytest.raises(dl._Refused, match=re.escape(message)):
        _fetch(f"{server}/{kind}/{LABELS}.gz", part)
    assert not part.exists() or part.stat().st_size <= SIZES[LABELS] * 1.01 + (1 << 16)


@pytest.mark.slow  # waits for the stall window (1.5 s)
def test_slow_mirror_is_abandoned_after_the_window(server, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(OSError, match="too slow"):
        _fetch(f"{server}/slow/{LABELS}.gz", tmp_path / ".x.part", window=1.5)
    assert time.monotonic() - t0 < 10


@pytest.mark.slow
def test_silent_mirror_is_abandoned_after_the_window(server, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(OSError):
        _fetch(f"{server}/silent/{LABELS}.gz", tmp_path / ".x.part", window=1.5)
    assert time.monotonic() - t0 < 10


def test_symlink_planted_at_the_partial_file_is_not_followed(server, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    part = tmp_path / ".x.part"
    part.symlink_to(victim)
    (tmp_path / ".x.part.url").write_text(f"{server}/good/{LABELS}.gz")  # looks like a resume
    assert _fetch(f"{server}/good/{LABELS}.gz", part) == dl.mnist_checksums()[LABELS]
    assert victim.read_text() == "precious\n"
    assert part.is_file() and not part.is_symlink()


def test_open_no_follow_refuses_links_and_non_regular_files(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(victim)
    with pytest.raises(OSError, match="symbolic link"):
        dl._open_no_follow(link, os.O_RDWR | os.O_CREAT)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        dl._open_no_follow(fifo, os.O_RDWR | os.O_CREAT)
    assert victim.read_text() == "x"


def test_url_file_symlink_is_not_followed(server, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    part = tmp_path / ".x.part"
    (tmp_path / ".x.part.url").symlink_to(victim)
    _fetch(f"{server}/good/{LABELS}.gz", part)
    assert victim.read_text() == "precious\n"


@pytest.mark.slow  # the whole download (~55 MB over loopback) behind hostile mirrors
def test_hostile_mirrors_are_skipped_and_the_good_one_used(server, tmp_path):
    target = dl.download_mnist(
        tmp_path / "m",
        mirrors=[f"{server}/huge/", f"{server}/endless/", f"{server}/good/"],
        progress=False,
        quiet=True,
        stall_window=5,
    )
    assert sorted(p.name for p in target.iterdir()) == sorted(n + ".gz" for n in SIZES)


@pytest.mark.slow
def test_cli_stall_window_option(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dl, "MNIST_MIRRORS", ())  # only the --mirror given
    argv = ["download", "mnist", "--dir", str(tmp_path / "m"), "--mirror", f"{server}/slow/"]
    code = cli.main([*argv, "--stall-window", "1", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "too slow" in err and "Traceback" not in err, err


def test_bad_limits_are_refused(tmp_path):
    for kw in ({"stall_window": 0}, {"min_rate": -1}, {"timeout": float("inf")}, {"stall_window": "1"}):
        with pytest.raises(ValueError):
            dl.download_mnist(tmp_path, **kw)


def test_hard_link_planted_at_the_partial_file_is_not_written(server, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    part = tmp_path / ".x.part"
    os.link(victim, part)
    (tmp_path / ".x.part.url").write_text(f"{server}/good/{LABELS}.gz")  # looks like a resume
    assert _fetch(f"{server}/good/{LABELS}.gz", part) == dl.mnist_checksums()[LABELS]
    assert victim.read_text() == "precious\n"
    os.link(part, tmp_path / "again")
    with pytest.raises(OSError, match="hard links"):
        dl._open_no_follow(part, os.O_RDWR)
