"""Where fastnn writes (issue #10): fastnn.io.write_output is the one writer behind save, the CLI's
--save/--json/--plot and every other output. Inherited descriptors are written in place, devices and
FIFOs straight through, regular files atomically with unique temporary names; nothing that is not a
regular file is ever replaced."""

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import package_env

import fastnn
from fastnn import _output_files
from fastnn import io as fio

ROOT = Path(__file__).resolve().parents[1]


def _env():
    return package_env()


def _child(code, **kwargs):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), timeout=120, **kwargs)


def _cli(args, cwd=ROOT, **kwargs):
    return subprocess.run(
        [sys.executable, "-c", "import sys, fastnn.cli; sys.exit(fastnn.cli.main(sys.argv[1:]))", *args],
        cwd=cwd,
        env=_env(),
        timeout=300,
        **kwargs,
    )


TRAIN = ["train", "--data", "digits", "--epochs", "2", "--no-progress"]


# ------------------------------------------------------------------------------------------------
# inherited descriptors
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_stdout_spellings_write_at_the_current_position_without_truncating(tmp_path, spelling):
    log = tmp_path / "log.txt"
    log.write_bytes(b"already here\n")
    with open(log, "ab") as out:
        r = _child(
            "import sys; print('line', flush=True); import fastnn.io as f; "
            f"f.write_output({spelling!r}, b'DATA\\n'); print('after')",
            stdout=out,
            stderr=subprocess.PIPE,
        )
    assert r.returncode == 0, r.stderr
    assert log.read_bytes() == b"already here\nline\nDATA\nafter\n"
    assert stat.S_ISREG(os.stat(log).st_mode)


def test_dev_fd_n_writes_to_the_inherited_descriptor(tmp_path):
    target = tmp_path / "three.txt"
    target.write_bytes(b"head|")
    fd = os.open(target, os.O_WRONLY | os.O_APPEND)
    try:
        r = _child(
            f"import fastnn.io as f; f.write_output('/dev/fd/{fd}', b'tail')",
            pass_fds=(fd,),
            capture_output=True,
        )
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    assert target.read_bytes() == b"head|tail"


def test_closed_descriptor_is_a_clear_error():
    with pytest.raises(OSError, match="/dev/fd/987: file descriptor 987 is not open"):
        fio.write_output("/dev/fd/987", b"x")


def test_cli_json_to_stdout_is_pure_json_and_reports_go_to_stderr():
    r = _cli([*TRAIN, "--json", "-"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    history = json.loads(r.stdout)  # '| jq .' works
    assert len(history["records"]) == 2
    assert "epoch 1/2" in r.stderr and "test: accuracy" in r.stderr


@pytest.mark.slow  # a training subprocess (~2 s); test_cli_json_to_stdout_* is the fast representative
def test_cli_json_dev_stdout_redirected_to_a_log_keeps_the_log(tmp_path):
    """'--json /dev/stdout > log.txt' used to replace log.txt (resolved path) and lose its lines."""
    log = tmp_path / "log.txt"
    log.write_text("earlier run\n")
    with open(log, "a") as out:
        r = _cli([*TRAIN, "--json", "/dev/stdout"], stdout=out, stderr=subprocess.STDOUT)
    assert r.returncode == 0
    text = log.read_text()
    assert text.startswith("earlier run\n")
    assert "epoch 1/2" in text and "epoch 2/2" in text and "test: accuracy" in text
    start = text.index('{"records"')
    assert json.loads(text[start : text.index("\n", start)])["records"]


@pytest.mark.slow  # a training subprocess (~2 s); test_cli_json_to_stdout_* is the fast representative
def test_cli_save_to_stdout_pipe(tmp_path):
    r = _cli([*TRAIN, "--save", "-", "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    model = tmp_path / "m.json"
    model.write_text(r.stdout)
    assert fastnn.load(model).sizes == (64, 30, 10)


# ------------------------------------------------------------------------------------------------
# devices, FIFOs, symlinks, modes
# ------------------------------------------------------------------------------------------------
def test_dev_null_is_written_through_not_replaced():
    before = os.stat("/dev/null")
    fastnn.Network([2, 2], seed=0).save("/dev/null")
    fio.write_output("/dev/null", b"x" * 10)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino


def test_char_device_node_is_written_through(tmp_path):
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as e:
        pytest.skip(f"cannot create a device node here: {e}")
    fio.write_output(node, b"data")
    assert stat.S_ISCHR(os.stat(node).st_mode)
    assert os.listdir(tmp_path) == ["null"]


def test_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    fio.write_output(fifo, b"through the pipe")
    reader.join(10)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_symlink_stays_a_symlink(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    os.symlink(target, link)
    fastnn.Network([2, 3], seed=0).save(link)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert fastnn.load(target).sizes == (2, 3)


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o000])
def test_read_only_file_stays_untouched_even_for_root(tmp_path, mode):
    path = tmp_path / "ro.json"
    path.write_text("precious")
    os.chmod(path, mode)
    try:
        with pytest.raises(PermissionError, match="read-only"):
            fastnn.Network([2, 2], seed=0).save(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == mode
        os.chmod(path, 0o600)
        assert path.read_text() == "precious"
        assert os.listdir(tmp_path) == ["ro.json"]
    finally:
        os.chmod(path, 0o600)


@pytest.mark.parametrize("what", ["directory", "missing-dir", "socket"])
def test_other_targets_are_refused_naming_the_path(tmp_path, what):
    if what == "directory":
        path = tmp_path
    elif what == "missing-dir":
        path = tmp_path / "nope" / "m.json"
    else:
        import socket

        path = tmp_path / "sock"
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
    with pytest.raises(OSError, match=str(path)):
        fio.write_output(path, b"x")


# ------------------------------------------------------------------------------------------------
# the CLI refuses two outputs to one file, and checks targets before training
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spellings",
    [
        ("m.json", "m.json"),
        ("m.json", "./m.json"),
        ("m.json", "sub/../m.json"),
        ("m.json", "link.json"),
        ("-", "/dev/stdout"),
        ("existing.json", "hard.json"),
    ],
)
def test_cli_refuses_the_same_file_for_two_outputs_before_training(tmp_path, spellings):
    (tmp_path / "sub").mkdir()
    (tmp_path / "existing.json").write_text("keep")
    os.link(tmp_path / "existing.json", tmp_path / "hard.json")
    os.symlink(tmp_path / "m.json", tmp_path / "link.json")
    a, b = spellings
    r = _cli([*TRAIN, "--save", a, "--json", b], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "are the same file" in r.stderr and "epoch" not in r.stdout + r.stderr
    assert (tmp_path / "existing.json").read_text() == "keep"
    assert not (tmp_path / "m.json").exists()


def test_cli_read_only_target_is_refused_before_training(tmp_path):
    path = tmp_path / "ro.json"
    path.write_text("precious")
    os.chmod(path, 0o444)
    r = _cli([*TRAIN, "--save", str(path)], capture_output=True, text=True)
    assert r.returncode == 1 and "read-only" in r.stderr and "epoch" not in r.stdout
    assert path.read_text() == "precious"


# ------------------------------------------------------------------------------------------------
# temporary files
# ------------------------------------------------------------------------------------------------
def test_temporary_names_are_unique_short_and_recognisable(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(fio.os, "replace", spy)
    long_name = "m" * 250 + ".json"  # NAME_MAX is 255
    for _ in range(3):
        fio.write_output(tmp_path / long_name, b"x")
    assert len(set(seen)) == 3
    for name in seen:
        assert name.startswith(_output_files.TMP_PREFIX) and str(os.getpid()) in name
        assert len(name) <= 48
    assert os.listdir(tmp_path) == [long_name]


def test_several_processes_saving_to_one_target(tmp_path):
    target = tmp_path / "shared.bin"
    code = (
        "import sys, fastnn.io as f\n"
        "for i in range(25):\n"
        "    f.write_output(sys.argv[1], sys.argv[2].encode() * 5000)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(target), tag], cwd=ROOT, env=_env(), stderr=subprocess.PIPE
        )
        for tag in "ABC"
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    data = target.read_bytes()
    assert data in (b"A" * 5000, b"B" * 5000, b"C" * 5000)
    assert os.listdir(tmp_path) == ["shared.bin"]


def test_stale_temporaries_of_killed_writers_are_removed(tmp_path):
    target = tmp_path / "model.json"
    stem = _output_files._tmp_stem(str(target))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f"{stem}{dead}-0badf00d"
    stale.write_text("half a model")
    alive = tmp_path / f"{stem}1-00000001"  # pid 1 is alive: maybe writing now
    alive.write_text("in progress")
    other = tmp_path / f"{_output_files._tmp_stem(str(tmp_path / 'other.json'))}{dead}-0badf00d"
    other.write_text("another target's")
    fastnn.Network([2, 2], seed=0).save(target)
    assert not stale.exists() and alive.exists() and other.exists()


def test_interrupted_write_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "m.json"
    target.write_text("old")

    def boom(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(fio.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        fio.write_output(target, b"new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["m.json"]


def test_plot_goes_through_the_same_writer(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from fastnn.plotting import plot_history

    net = fastnn.Network([4, 3, 2], seed=0)
    X = np.random.default_rng(0).random((20, 4))
    net.SGD(
        (X, np.arange(20) % 2),
        2,
        5,
        0.5,
        evaluation_data=(X, np.arange(20) % 2),
        monitor_evaluation_accuracy=True,
    )
    calls = []
    real = _output_files.write_output
    monkeypatch.setattr(_output_files, "write_output", lambda p, d: (calls.append(p), real(p, d)))
    plot_history(net.history, tmp_path / "c.png")
    assert calls == [tmp_path / "c.png"]
