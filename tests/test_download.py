"""fastnn download mnist / fastnn.data.download_mnist against a local HTTP server (127.0.0.1)
serving the shared MNIST files: a dead mirror, a corrupt download, a truncated one, resuming a
partial file, files already in place, and the error naming every mirror tried. No internet."""

import gzip
import http.server
import socket
import threading

import pytest
from conftest import mnist_gz_files

from fastnn import cli
from fastnn.data import download_mnist, find_mnist
from fastnn.download import DownloadError, mnist_checksums

NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class _Handler(http.server.BaseHTTPRequestHandler):
    """/good/F: the file (Range supported); /corrupt/F: one byte changed; /truncated/F: half the
    bytes under the full Content-Length; /recompressed/F: the same content gzipped at level 1."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Range")))
        kind, _, name = self.path.strip("/").partition("/")
        data = server.files.get(name)
        if data is None or kind not in ("good", "corrupt", "truncated", "recompressed"):
            self.send_error(404)
            return
        if kind == "corrupt":
            raw = bytearray(gzip.decompress(data))
            raw[len(raw) // 2] ^= 0xFF
            data = gzip.compress(bytes(raw), compresslevel=1)
        elif kind == "recompressed":
            data = gzip.compress(gzip.decompress(data), compresslevel=1)
        start = 0
        rng = self.headers.get("Range")
        if kind == "good" and rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "truncated":
            body = body[: len(body) // 2]
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server(mnist_dir):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files = mnist_gz_files(mnist_dir, NAMES)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd, base
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def dead_mirror():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connection refused
    return f"http://127.0.0.1:{port}/mnist/"


def _installed(d):
    return sorted(p.name for p in d.iterdir())


def test_checksums_are_shipped_in_the_package():
    sums = mnist_checksums()
    assert sorted(sums) == sorted(NAMES) and all(len(v) == 64 for v in sums.values())


@pytest.mark.slow  # several mirrors and retries (~1.5 s); the single-failure tests stay fast
def test_dead_and_corrupt_mirrors_are_skipped(server, dead_mirror, tmp_path):
    httpd, base = server
    httpd.requests.clear()
    target = download_mnist(
        tmp_path / "m", mirrors=[dead_mirror, f"{base}/corrupt/", f"{base}/good/"], progress=False, quiet=True
    )
    assert _installed(target) == sorted(n + ".gz" for n in NAMES)  # no partial files left
    assert find_mnist(target)[0] == target
    for n in NAMES:  # byte for byte the server's
        assert (target / (n + ".gz")).read_bytes() == httpd.files[n + ".gz"]
    assert sum(p.startswith("/corrupt/") for p, _ in httpd.requests) == 4

    httpd.requests.clear()  # already there: no request
    download_mnist(target, mirrors=[f"{base}/good/"], progress=False, quiet=True)
    assert httpd.requests == []


def test_content_is_verified_not_the_gzip_bytes(server, tmp_path):
    _httpd, base = server
    target = download_mnist(tmp_path, mirrors=[f"{base}/recompressed/"], progress=False, quiet=True)
    assert find_mnist(target)[0] == target


def test_all_mirrors_failing_names_each(server, dead_mirror, tmp_path):
    _httpd, base = server
    with pytest.raises(DownloadError) as e:
        download_mnist(
            tmp_path,
            mirrors=[dead_mirror, f"{base}/corrupt/", f"{base}/nothing/"],
            progress=False,
            quiet=True,
        )
    msg = str(e.value)
    assert dead_mirror in msg and f"{base}/corrupt/" in msg and f"{base}/nothing/" in msg
    assert "corrupt download" in msg and "SHA-256" in msg and "404" in msg
    assert [p.name for p in tmp_path.iterdir()] == []  # nothing half-written


def test_truncated_download_resumes_from_the_partial_file(server, tmp_path):
    httpd, base = server
    name = "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(DownloadError, match="truncated"):
        download_mnist(tmp_path, mirrors=[f"{base}/truncated/"], progress=False, quiet=True)
    # a partial file of the good mirror's URL is resumed with a Range request
    full = httpd.files[name]
    (tmp_path / f".{name}.part").write_bytes(full[:1000])
    (tmp_path / f".{name}.part.url").write_text(f"{base}/good/{name}")
    httpd.requests.clear()
    download_mnist(tmp_path, mirrors=[f"{base}/good/"], progress=False, quiet=True)
    assert (f"/good/{name}", "bytes=1000-") in httpd.requests
    assert (tmp_path / name).read_bytes() == full
    assert not any(p.name.endswith((".part", ".url")) for p in tmp_path.iterdir())


def test_cli_download_with_mirror_first(server, tmp_path, capsys):
    httpd, base = server
    httpd.requests.clear()
    code = cli.main(
        ["download", "MNIST", "--dir", str(tmp_path / "d"), "--mirror", f"{base}/good", "--no-progress"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"MNIST is in {tmp_path / 'd'}" in out and "verified" in err
    assert all(p.startswith("/good/") for p, _ in httpd.requests)
    assert find_mnist(tmp_path / "d")[0] == tmp_path / "d"


def test_cli_download_failure_is_one_line(server, dead_mirror, tmp_path, capsys, monkeypatch):
    import fastnn.download as dl

    monkeypatch.setattr(dl, "MNIST_MIRRORS", (dead_mirror,))  # never the internet
    code = cli.main(["download", "mnist", "--dir", str(tmp_path), "--mirror", dead_mirror + "x/", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("fastnn: error: could not download")
    assert dead_mirror in err[0]
